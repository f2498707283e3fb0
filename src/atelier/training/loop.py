"""One training loop for every model family.

A family describes its training as a *task*: the modules to save, their optimizers, and a
``train_step(batch, ctx)`` that computes its losses and calls ``ctx.optimize(name, loss)`` for each
optimizer. The loop owns everything else: batching, devices, the progress bar, sample pictures,
validation, TensorBoard, checkpoints, resume, Ctrl-C, NaN guards and data parallelism.

Exact resume. All randomness of step ``s`` comes from a seed derived from ``(seed, s)``: the batch
order of each epoch from ``(seed, epoch)`` and the noise of each step from ``(seed, step)``. A resumed
run therefore draws the same batches and the same noise as an uninterrupted one, and on the CPU its
losses match to float precision. Data parallelism uses the same rule: every rank draws the *global*
batch of noise and takes its own rows, so N processes reproduce the single-process run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from tqdm.auto import tqdm

from atelier.checkpoint import save_checkpoint
from atelier.errors import AtelierError
from atelier.training import distributed as dist_util
from atelier.training.run_folder import (
    CHECKPOINT_NAME,
    NEW_NAME,
    LossLog,
    RunLock,
    clear_run,
    has_checkpoint,
    newest_checkpoint,
    rotate_in,
)

DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16")
ESTIMATE_AFTER = 3  # steps timed before the run's length is estimated (the first ones warm caches up)
ESTIMATE_OVER_S = 120  # runs expected to take longer than this get a one-line estimate


@dataclass(frozen=True)
class TrainConfig:
    """Settings of the loop itself, shared by every family (the model's own live in its config)."""

    num_steps: int = 2000
    batch_size: int = 64
    seed: int = 0
    device: str = "cpu"  # auto | cpu | cuda | mps
    # auto: bf16 autocast for the tasks that allow it (see fast_path), where the hardware computes
    # bf16 natively (a CUDA GPU that supports it, a CPU with AVX512-BF16 or AMX); else fp32.
    precision: str = field(default="auto", metadata={"help": "auto, fp32 or bf16 (mixed precision)"})
    log_every: int = 25  # steps between logged (averaged) losses
    sample_every: int = 500  # steps between sample pictures; 0 = never
    eval_every: int = 1000  # steps between validation metrics; 0 = never
    checkpoint_every: int = 500  # steps between checkpoints (one is always written at the end); 0 = by time only
    checkpoint_minutes: float = 5.0  # and at least this often, so a killed run loses little; 0 = by steps only
    keep_checkpoints: int = 3  # the newest K checkpoints are kept; --resume uses the newest readable one
    tensorboard: bool = True
    progress: bool = True

    def checkpoint_interval(self) -> int:
        """Steps between checkpoints: ``checkpoint_every``, or a quarter of the run when that is
        longer than the run itself (a 400-step run with the default 500 still checkpoints)."""
        if self.checkpoint_every > self.num_steps:
            return max(1, self.num_steps // 4)
        return self.checkpoint_every

    def __post_init__(self) -> None:
        for name in ("num_steps", "batch_size", "log_every", "keep_checkpoints"):
            if getattr(self, name) <= 0:
                why = " (losses.csv is the record of a run)" if name == "log_every" else ""
                raise AtelierError(f"--{name.replace('_', '-')} must be a positive integer{why}, got {getattr(self, name)}")
        if not self.checkpoint_minutes >= 0:
            raise AtelierError(f"--checkpoint-minutes must be 0 (off) or more, got {self.checkpoint_minutes}")
        for name in ("sample_every", "eval_every", "checkpoint_every"):
            if getattr(self, name) < 0:
                raise AtelierError(f"--{name.replace('_', '-')} must be 0 or more, got {getattr(self, name)}")
        if self.device not in DEVICES and not self.device.startswith("cuda:"):
            raise AtelierError(f"unknown device {self.device!r}; choose one of: {', '.join(DEVICES)}")
        if self.precision not in PRECISIONS:
            raise AtelierError(f"--precision {self.precision}; choose one of: {', '.join(PRECISIONS)}")


class Task(Protocol):
    """What a family hands to :func:`fit`.

    ``train_step`` returns its losses as 0-d tensors (or floats); the loop turns them into numbers
    only when it logs, so a step never waits for the device. A task may also set ``fast_path = True``
    (convolutional networks whose losses are computed from float32 outputs): the loop then keeps
    its modules and 4-D image batches channels-last, and ``precision="auto"`` trains it under
    bf16 autocast where the hardware computes bf16 natively.
    """

    kind: str
    config: Any  # the family's frozen config dataclass
    modules: dict[str, torch.nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]

    def train_step(self, batch: Any, ctx: "StepContext") -> dict[str, torch.Tensor | float]: ...


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bf16 natively: a CUDA GPU that supports it, or a CPU with
    AVX512-BF16 or AMX (read from /proc/cpuinfo; elsewhere, no: emulated bf16 is slower than fp32)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(name: str, device: torch.device, task: Any) -> torch.dtype | None:
    """The autocast dtype of a run (None = plain fp32): ``bf16`` always, ``auto`` for a task with a
    fast path on hardware with native bf16, ``fp32`` never."""
    if name == "bf16":
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise AtelierError(f"--precision bf16: this GPU ({torch.cuda.get_device_name(device)}) does not "
                               "support bf16; use --precision fp32")
        return torch.bfloat16
    if name == "auto" and getattr(task, "fast_path", False) and native_bf16(device):
        return torch.bfloat16
    return None


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA, then Apple's MPS, then the CPU; an unavailable choice is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise AtelierError(f"--device {name}: no CUDA GPU is available here; use --device cpu or auto")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise AtelierError("--device mps: Apple's MPS backend is not available here; use --device cpu or auto")
    if name not in DEVICES and not name.startswith("cuda:"):
        raise AtelierError(f"unknown device {name!r}; choose one of: {', '.join(DEVICES)}")
    return torch.device(name)


def step_seed(seed: int, step: int, stream: int = 0) -> int:
    """A seed for one step (and stream) that does not depend on anything that came before."""
    return (seed * 1_000_003 + step * 7_919 + stream * 104_729) % (2**63 - 1)


@dataclass
class StepContext:
    """What a step may use: its number, its device, its own random numbers, and the optimizers."""

    step: int
    seed: int
    device: torch.device
    dist: dist_util.DistInfo
    optimizers: dict[str, torch.optim.Optimizer]
    global_batch: int
    generator: torch.Generator = field(init=False)

    def __post_init__(self) -> None:
        self.generator = torch.Generator().manual_seed(step_seed(self.seed, self.step))
        torch.manual_seed(step_seed(self.seed, self.step, stream=1))  # dropout and the like

    def _rows(self, t: torch.Tensor) -> torch.Tensor:
        """This rank's rows of a tensor drawn for the global batch."""
        if not self.dist.enabled:
            return t.to(self.device)
        per = t.shape[0] // self.dist.world_size
        return t[self.dist.rank * per:(self.dist.rank + 1) * per].to(self.device)

    def randn(self, *shape: int) -> torch.Tensor:
        """Gaussian noise of shape (global_batch, *shape), this rank's rows, on the device."""
        return self._rows(torch.randn(self.global_batch, *shape, generator=self.generator))

    def rand(self, *shape: int) -> torch.Tensor:
        return self._rows(torch.rand(self.global_batch, *shape, generator=self.generator))

    def randint(self, high: int, *shape: int) -> torch.Tensor:
        return self._rows(torch.randint(high, (self.global_batch, *shape), generator=self.generator))

    def optimize(self, name: str, loss: torch.Tensor, *, clip_grad_norm: float | None = None) -> None:
        """zero_grad → backward → average over ranks → (clip) → step, for optimizer ``name``.

        The backward pass runs outside autocast (each op's gradient keeps its forward op's dtype)."""
        opt = self.optimizers[name]
        params = [p for g in opt.param_groups for p in g["params"]]
        opt.zero_grad(set_to_none=True)
        with torch.autocast(self.device.type, enabled=False):
            loss.backward()
        dist_util.average_gradients(params, self.dist)
        if clip_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(params, clip_grad_norm)
        opt.step()
        if torch.is_autocast_enabled(self.device.type):
            torch.clear_autocast_cache()  # the step changed weights whose low-precision copies autocast keeps


@dataclass(frozen=True)
class TrainResult:
    """What :func:`fit` returns."""

    step: int
    checkpoint: Path
    history: list[dict[str, float]]  # one row per logged step: {"step": s, "loss_name": value, ...}
    metrics: dict[str, float]  # the last validation metrics (empty if none ran)


def batch_indices(n_items: int, batch_size: int, seed: int, step: int) -> torch.Tensor:
    """Indices of the global batch of ``step``: epochs are seeded permutations, the last partial batch dropped."""
    per_epoch = n_items // batch_size
    if per_epoch == 0:
        raise AtelierError(f"--batch-size {batch_size} is larger than the training set ({n_items} items)")
    epoch, b = divmod(step, per_epoch)
    perm = torch.randperm(n_items, generator=torch.Generator().manual_seed(step_seed(seed, epoch, stream=2)))
    return perm[b * batch_size:(b + 1) * batch_size]


def _collate(data: Any, idx: torch.Tensor) -> Any:
    if hasattr(data, "get_batch"):
        return data.get_batch(idx)
    return torch.utils.data.default_collate([data[int(i)] for i in idx])


def _to_device(batch: Any, device: torch.device, *, channels_last: bool = False) -> Any:
    if torch.is_tensor(batch):
        if channels_last and batch.ndim == 4 and batch.is_floating_point():
            return batch.to(device, memory_format=torch.channels_last, non_blocking=True)
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(b, device, channels_last=channels_last) for b in batch)
    if isinstance(batch, dict):
        return {k: _to_device(v, device, channels_last=channels_last) for k, v in batch.items()}
    return batch


def _as_numbers(running: dict[str, list[tuple[int, torch.Tensor | float]]], last_good: int,
                ckpt_path: Path) -> dict[str, list[float]]:
    """The logged losses, ``(step, value)`` pairs per name, as floats (one transfer per name); the
    first NaN or infinite one stops training, naming its step and the last good checkpoint."""
    numbers: dict[str, list[float]] = {}
    first_bad: tuple[int, str, float] | None = None
    for name, pairs in running.items():
        tensors = [v.float() if torch.is_tensor(v) else torch.tensor(float(v)) for _, v in pairs]
        if len({t.device for t in tensors}) > 1:
            tensors = [t.cpu() for t in tensors]
        numbers[name] = torch.stack(tensors).tolist()
        for (step, _), value in zip(pairs, numbers[name]):
            if not math.isfinite(value):
                if first_bad is None or step < first_bad[0]:
                    first_bad = (step, name, value)
                break
    if first_bad is not None:
        step, name, value = first_bad
        raise AtelierError(
            f"training stopped at step {step}: loss {name} is {value}; the last good checkpoint "
            f"(step {last_good}) is intact at {ckpt_path}; try a lower learning rate"
        )
    return numbers


def _rank_rows(batch: Any, info: dist_util.DistInfo) -> Any:
    if not info.enabled:
        return batch
    if torch.is_tensor(batch):
        per = batch.shape[0] // info.world_size
        return batch[info.rank * per:(info.rank + 1) * per]
    if isinstance(batch, (list, tuple)):
        return type(batch)(_rank_rows(b, info) for b in batch)
    if isinstance(batch, dict):
        return {k: _rank_rows(v, info) for k, v in batch.items()}
    return batch


def fit(
    task: Task,
    data: Any,
    *,
    config: TrainConfig,
    out_dir: str | os.PathLike,
    resume: bool = False,
    overwrite: bool = False,
    data_fingerprint: str = "",
    provenance: dict[str, Any] | None = None,
    on_log: Callable[[int, dict[str, float]], None] | None = None,
) -> TrainResult:
    """Train ``task`` on ``data`` for ``config.num_steps`` global steps, writing into ``out_dir``.

    ``data`` is indexable with ``len()``; if it has ``get_batch(indices)`` that is used to build a
    batch, otherwise items are stacked with ``default_collate``. The folder belongs to one run
    (:mod:`atelier.training.run_folder`): it is locked while training, a folder that already holds a
    run needs ``resume=True`` (continue exactly where its newest readable checkpoint stopped) or
    ``overwrite=True`` (start over, replacing its checkpoints, losses and samples).
    """
    if resume and overwrite:
        raise AtelierError("--resume continues the run in --out and --overwrite replaces it; give one of them")
    device = resolve_device(config.device)
    info = dist_util.init_from_env(device)
    lock = RunLock(Path(out_dir))
    try:
        if info.is_main:
            lock.acquire()
        return _fit(task, data, config=config, out_dir=out_dir, resume=resume, overwrite=overwrite,
                    data_fingerprint=data_fingerprint, provenance=provenance, on_log=on_log, device=device, info=info)
    finally:
        lock.release()
        dist_util.shutdown(info)


def _fit(task: Task, data: Any, *, config: TrainConfig, out_dir: str | os.PathLike, resume: bool, overwrite: bool,
         data_fingerprint: str, provenance: dict[str, Any] | None,
         on_log: Callable[[int, dict[str, float]], None] | None, device: torch.device,
         info: dist_util.DistInfo) -> TrainResult:
    # 1. Check inputs and set up devices and processes.
    out = Path(out_dir)
    if info.enabled and device.type == "cuda":
        device = torch.device("cuda", info.local_rank)
        torch.cuda.set_device(device)
    if config.batch_size % info.world_size:
        raise AtelierError(f"--batch-size {config.batch_size} must divide evenly over {info.world_size} processes")
    n_items = len(data)
    batch_indices(n_items, config.batch_size, config.seed, 0)  # fails early if the batch is too large
    fast = bool(getattr(task, "fast_path", False)) and device.type in ("cpu", "cuda")
    for module in task.modules.values():
        module.to(device)
        if fast:
            module.to(memory_format=torch.channels_last)  # what oneDNN and cuDNN convolve fastest
    autocast_dtype = resolve_precision(config.precision, device, task)
    ckpt_path = out / CHECKPOINT_NAME
    family_config = dataclasses.asdict(task.config)

    # 2. Resume: restore weights, optimizer moments, step and history from the newest readable
    #    checkpoint. A folder that holds a run is never trained into afresh by accident.
    start, history = 0, []
    if not resume and has_checkpoint(out):
        if not overwrite:
            raise AtelierError(f"--out {out} already holds a run; continue it with --resume, or start over with "
                               "--overwrite (its checkpoints, losses and samples are replaced)")
        if info.is_main:
            clear_run(out)
    if resume:
        ckpt = newest_checkpoint(out, expect_kind=task.kind)
        ckpt_path = ckpt.path
        changed = _config_changes(ckpt.config, task.config)
        if changed:
            raise AtelierError(f"--resume: {ckpt_path} was trained with a different model config ({', '.join(changed)}); "
                               "a resumed run keeps its own config")
        saved_batch = ckpt.meta.get("train_config", {}).get("batch_size")
        if saved_batch is not None and saved_batch != config.batch_size:
            raise AtelierError(f"--resume: --batch-size {config.batch_size} contradicts the run's {saved_batch}; "
                               "a resumed run keeps its batch size (a different one would not continue it exactly)")
        saved_fp = ckpt.meta.get("data_fingerprint", "")
        if data_fingerprint and saved_fp and saved_fp != data_fingerprint:
            raise AtelierError(f"--resume: {ckpt_path} was trained on different data (fingerprint {saved_fp[:12]}…)")
        for name, module in task.modules.items():
            module.load_state_dict(ckpt.module_state(name))
        for name, opt in task.optimizers.items():
            state = ckpt.optimizer_state(name)
            if state is not None:
                opt.load_state_dict(state)
        for name, sched in getattr(task, "schedulers", {}).items():
            if name in ckpt.meta.get("schedulers", {}):
                sched.load_state_dict(ckpt.meta["schedulers"][name])
        start = ckpt.step
        history = [h for h in ckpt.meta.get("history", []) if h.get("step", 0) <= start]
        if start >= config.num_steps:
            raise AtelierError(f"--resume: {ckpt_path} is already at step {start} of --num-steps {config.num_steps}")
    dist_util.broadcast_modules(task.modules, info)

    writer = None
    if info.is_main and config.tensorboard:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(out / "tensorboard"), purge_step=start if resume else None)
    if info.is_main:
        (out / "samples").mkdir(parents=True, exist_ok=True)
    loss_log = LossLog(out, history) if info.is_main else None
    ckpt_path = out / CHECKPOINT_NAME

    metrics: dict[str, float] = dict(history[-1].get("metrics", {})) if history and isinstance(history[-1].get("metrics"), dict) else {}
    last_good_step = start

    def checkpoint(step: int) -> None:
        if not info.is_main:
            return
        extra = {
            "data_fingerprint": data_fingerprint,
            "train_config": dataclasses.asdict(config),
            "history": history,
            "metrics": metrics,
            "provenance": provenance or {},
            "rng_numpy": _numpy_state(),
        }
        extra.update(getattr(task, "checkpoint_extra", lambda: {})())
        save_checkpoint(
            out / NEW_NAME, kind=task.kind, config=family_config, modules=task.modules, step=step,
            optimizers=task.optimizers, schedulers=getattr(task, "schedulers", {}), extra=extra,
        )
        rotate_in(out, config.keep_checkpoints)

    # 3. The loop.
    bar = tqdm(total=config.num_steps, initial=start, disable=not (config.progress and info.is_main),
               desc=f"train {task.kind}", dynamic_ncols=True, unit="step")
    running: dict[str, list[tuple[int, torch.Tensor | float]]] = {}  # (step, loss) since the last log line
    stop = _StopRequest()
    step = start
    every = config.checkpoint_interval()
    last_saved = started = time.monotonic()
    try:
        with stop.installed():
            for step in range(start, config.num_steps):
                if stop.requested:
                    break
                for module in task.modules.values():
                    module.train()
                idx = batch_indices(n_items, config.batch_size, config.seed, step)
                batch = _to_device(_rank_rows(_collate(data, idx), info), device, channels_last=fast)
                ctx = StepContext(step=step, seed=config.seed, device=device, dist=info,
                                  optimizers=task.optimizers, global_batch=config.batch_size)
                with torch.autocast(device.type, dtype=autocast_dtype or torch.float32,
                                    enabled=autocast_dtype is not None):
                    losses = task.train_step(batch, ctx)
                for sched in getattr(task, "schedulers", {}).values():
                    sched.step()
                for k, v in losses.items():
                    running.setdefault(k, []).append((step + 1, v.detach() if torch.is_tensor(v) else v))
                done = step + 1
                due = (every and done % every == 0) or (
                    config.checkpoint_minutes and time.monotonic() - last_saved >= 60 * config.checkpoint_minutes)
                log_due = done % config.log_every == 0 or done == config.num_steps
                if log_due or due:
                    # the losses become numbers here, once per log line (and checked before every
                    # checkpoint, so that none follows a NaN): the steps in between never wait for them
                    numbers = _as_numbers(running, last_good_step, ckpt_path)
                if log_due:
                    avg = dist_util.average_scalars({k: float(np.mean(v)) for k, v in numbers.items()}, info)
                    running.clear()
                    history.append({"step": done, **avg})
                    if loss_log is not None:
                        loss_log.append(history[-1])
                    if writer:
                        for k, v in avg.items():
                            writer.add_scalar(f"train/{k}", v, done)
                    if on_log:
                        on_log(done, avg)
                    bar.set_postfix({k: f"{v:.3f}" for k, v in list(avg.items())[:4]})
                bar.update(1)
                if done == start + ESTIMATE_AFTER and bar.disable is False:
                    _estimate(bar, time.monotonic() - started, done - start, config.num_steps - done)
                if info.is_main and config.sample_every and hasattr(task, "preview") and (
                        done % config.sample_every == 0 or done == config.num_steps):
                    picture = task.preview(ctx)
                    if picture is not None:
                        picture.save(out / "samples" / f"step_{done:06d}.png")
                if config.eval_every and hasattr(task, "validate") and (
                        done % config.eval_every == 0 or done == config.num_steps):
                    metrics = {k: float(v) for k, v in task.validate(ctx).items()}
                    if history and history[-1]["step"] == done:
                        history[-1]["metrics"] = metrics
                    if writer:
                        for k, v in metrics.items():
                            writer.add_scalar(f"val/{k}", v, done)
                if due and done != config.num_steps:
                    checkpoint(done)
                    last_good_step, last_saved = done, time.monotonic()
            else:
                step = config.num_steps
    finally:
        bar.close()
    # 4. Final (or interrupted) checkpoint, pictures of the losses.
    completed = step  # steps fully done: a Ctrl-C lets the running step finish first
    _as_numbers(running, last_good_step, ckpt_path)  # no checkpoint after a NaN
    checkpoint(completed)
    if writer:
        writer.close()
    if info.is_main:
        _write_history(out, history)
    dist_util.barrier(info)
    if stop.requested:
        raise TrainingInterrupted(completed, ckpt_path)
    return TrainResult(step=completed, checkpoint=ckpt_path, history=history, metrics=metrics)


def _estimate(bar: tqdm, seconds: float, steps: int, remaining: int) -> None:
    """One line up front for a long run: how long a step takes and how long the rest will take."""
    per = seconds / steps
    if per * remaining < ESTIMATE_OVER_S:
        return
    total = per * remaining
    hours, minutes = divmod(round(total / 60), 60)
    length = f"{hours} h {minutes} min" if hours else f"{max(1, minutes)} min"
    bar.write(f"about {per:.2g} s a step: {length} for the remaining {remaining:,} steps "
              "(Ctrl-C saves a checkpoint; --resume continues)")


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) during :func:`fit`: the step in flight finished and a checkpoint was written."""

    def __init__(self, step: int, checkpoint: Path) -> None:
        super().__init__(f"interrupted after step {step}; checkpoint written to {checkpoint}; continue with --resume")
        self.step, self.checkpoint = step, checkpoint


class _StopRequest:
    """Turns the first Ctrl-C/SIGTERM into a request to stop after the current step; a second one kills."""

    def __init__(self) -> None:
        self.requested = False

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    @contextlib.contextmanager
    def installed(self):
        saved = {}
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                saved[sig] = signal.signal(sig, self._handle)
        except ValueError:  # not the main thread: leave signals alone
            pass
        try:
            yield self
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)


def _numpy_state() -> dict[str, Any]:
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {"name": name, "keys": keys.tolist(), "pos": int(pos), "has_gauss": int(has_gauss), "cached": float(cached)}


def _config_changes(saved: dict[str, Any], config: Any) -> list[str]:
    """The fields in which ``config`` differs from a checkpoint's ``saved`` config. A field the
    checkpoint lacks (added to the family after it was written) counts as its default, as it does
    when the checkpoint is loaded."""
    current = _json_roundtrip(dataclasses.asdict(config))
    defaults = _json_roundtrip({f.name: f.default for f in dataclasses.fields(config)
                                if f.default is not dataclasses.MISSING})
    return sorted(k for k in current.keys() | saved.keys() if saved.get(k, defaults.get(k)) != current.get(k))


def _json_roundtrip(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value))


def _write_history(out: Path, history: list[dict[str, float]]) -> None:
    """losses.png: the training curves, for people who would rather look (losses.csv is written as
    training goes, by :class:`~atelier.training.run_folder.LossLog`)."""
    rows = [{k: v for k, v in h.items() if k != "metrics"} for h in history]
    if not rows:
        return
    keys = sorted({k for r in rows for k in r if k != "step"})
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5), dpi=100)
    steps = [r["step"] for r in rows]
    for k in keys:
        ax.plot(steps, [r.get(k, float("nan")) for r in rows], label=k, linewidth=1.2)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / ".losses.png.tmp.png")
    plt.close(fig)
    os.replace(out / ".losses.png.tmp.png", out / "losses.png")
