"""``train``: a preset (or a config) on a dataset, through the family contract and the one loop."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atelier.config import config_from_dict, override
from atelier.errors import AtelierError
from atelier.family import DataOptions, Family, all_presets, get_family, get_preset
from atelier.training import TrainConfig, TrainResult, fit
from atelier.training.run_folder import newest_header


def resolve_config(preset: str | Any, overrides: list[str] | None = None) -> tuple[Family, Any]:
    """A preset name (or a family's config object) plus ``key=value`` overrides → (family, config).

    >>> family, config = resolve_config("dcgan", ["loss=hinge"])
    >>> family.kind, config.loss
    ('gan', 'hinge')
    """
    if isinstance(preset, str):
        family, config = get_preset(preset)
    else:
        family = next((f for f, _ in all_presets().values() if isinstance(preset, f.config_type)), None)
        if family is None:
            raise AtelierError(f"train: {type(preset).__name__} is not the config of any model family")
    return family, override(config if isinstance(preset, str) else preset, overrides or [])


def default_train_config(family: Family, **changes: Any) -> TrainConfig:
    """The loop's settings for ``family``: TrainConfig's defaults, the family's own (``train_defaults``,
    e.g. 4 crops a step for fast style), then ``changes``."""
    return dataclasses.replace(TrainConfig(), **{**family.train_defaults, **changes})


@dataclass(frozen=True)
class SavedRun:
    """What a run folder's newest checkpoint says about its run: everything ``--resume`` keeps."""

    family: Family
    config: Any  # the model config it was trained with
    train_config: TrainConfig
    options: DataOptions
    data: Any  # the data it was trained on, as given
    preset: str | None
    step: int


def saved_run(out: str | os.PathLike) -> SavedRun:
    """Read the run in ``out`` (its newest readable checkpoint) for ``--resume``.

    Runs saved before a setting was recorded fall back to that setting's default.
    """
    header = newest_header(Path(out))
    family = get_family(header["kind"])
    prov = header.get("provenance", {})
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    loop = {k: v for k, v in header.get("train_config", {}).items() if k in known}
    data_fields = {f.name for f in dataclasses.fields(DataOptions)}
    return SavedRun(family=family, config=config_from_dict(family.config_type, header["config"]),
                    train_config=dataclasses.replace(TrainConfig(), **loop),
                    options=DataOptions(**{k: v for k, v in prov.get("data_options", prov).items() if k in data_fields}),
                    data=prov.get("data", family.default_data), preset=prov.get("preset"), step=header["step"])


# TrainConfig fields a resumed run may change: they decide how long and how visibly it runs, not what it
# computes. Any other difference from the run's own (batch size, seed) would not continue it exactly.
RESUMABLE_CHANGES = ("num_steps", "device", "precision", "log_every", "sample_every", "eval_every", "checkpoint_every",
                     "checkpoint_minutes", "keep_checkpoints", "tensorboard", "progress")


def train(
    preset: str | Any | None = None,
    *,
    data: Any = None,
    out: str | os.PathLike | None = None,
    overrides: list[str] | None = None,
    train_config: TrainConfig | None = None,
    resume: bool = False,
    overwrite: bool = False,
    options: DataOptions | None = None,
) -> TrainResult:
    """Train a preset (or config) on a dataset; checkpoints, samples and logs go to ``out``.

    ``data`` defaults to the family's own (``mnist`` for the image models, ``essen`` for the melody
    models, the bundled photos for style); ``options`` says how it is read (validation share, split
    seed, a limit). ``out`` belongs to one run: if it already holds one, say ``resume=True`` to
    continue it or ``overwrite=True`` to start over.

    ``resume=True`` continues the run in ``out`` with the model config, data, data options and loop
    settings it was started with (``preset`` may be left out). What is given must agree with the
    run: an override, data option, batch size or seed that differs is refused, naming it. The loop
    settings in :data:`RESUMABLE_CHANGES` (``num_steps``, logging, checkpointing, device) may change.

    >>> import atelier, tempfile
    >>> result = atelier.train("mlp-gan", data="digits", out=tempfile.mkdtemp(),
    ...                        train_config=atelier.TrainConfig(num_steps=3, batch_size=8, progress=False,
    ...                                                         tensorboard=False, sample_every=0))
    >>> result.step
    3
    """
    # 1. Resolve the model config, the loop's settings and the data (from the run, when resuming).
    if resume:
        if out is None:
            raise AtelierError("resume: give out (--out), the folder of the run to continue")
        run = saved_run(out)
        family, config, train_config, options, data = _resumed(run, preset, out, data=data, overrides=overrides,
                                                               train_config=train_config, options=options)
        preset = preset if preset is not None else run.preset
    else:
        if preset is None:
            raise AtelierError("train: give a preset name (see `atelier presets`) or a config")
        family, config = resolve_config(preset, overrides)
        train_config = train_config or default_train_config(family)
        options = options or DataOptions()
        data = family.default_data if data is None else data
    out = Path(out or f"runs/{preset if isinstance(preset, str) else family.kind}")
    # 2. Prepare the data the family trains on.
    prepared = family.prepare_data(config, data, options)
    # 3. Build the task and run the loop.
    task = family.build_task(config, prepared, seed=train_config.seed)
    provenance = {"preset": preset if isinstance(preset, str) else None, "data": _recordable(data),
                  "split_seed": options.split_seed, "val_fraction": options.val_fraction,
                  "data_options": dataclasses.asdict(options), "overrides": list(overrides or [])}
    return fit(task, prepared.train, config=train_config, out_dir=out, resume=resume, overwrite=overwrite,
               data_fingerprint=prepared.fingerprint, provenance=provenance)


def _resumed(run: SavedRun, preset: Any, out: str | os.PathLike, *, data: Any, overrides: list[str] | None,
             train_config: TrainConfig | None, options: DataOptions | None):
    """The run's own settings, checked against what the caller gave; a contradiction is named."""
    if preset is not None:
        family, _ = resolve_config(preset)
        if family.kind != run.family.kind:
            raise AtelierError(f"resume: {out} holds a {run.family.kind} run; preset {preset} is a {family.kind}")
    config = override(run.config, overrides or [])
    _refuse_changes("--set", run.config, config, fields=[f.name for f in dataclasses.fields(run.config)])
    if options is not None:
        _refuse_changes("data option", run.options, options, fields=[f.name for f in dataclasses.fields(DataOptions)])
    if train_config is not None:
        fixed = [f.name for f in dataclasses.fields(TrainConfig) if f.name not in RESUMABLE_CHANGES]
        _refuse_changes("", run.train_config, train_config, fields=fixed)
    if data is not None and _recordable(data) != run.data:
        raise AtelierError(f"resume: data={data!r} (--data) contradicts the run's data {run.data!r}; "
                           "a resumed run keeps its data (leave --data out)")
    return run.family, config, train_config or run.train_config, options or run.options, run.data


def _refuse_changes(what: str, saved: Any, given: Any, *, fields: list[str]) -> None:
    for name in fields:
        a, b = getattr(saved, name), getattr(given, name)
        if a != b:
            flag = f"--set {name}={b}" if what == "--set" else f"--{name.replace('_', '-')} {b}"
            kept = "model config" if what == "--set" else name.replace("_", " ")
            raise AtelierError(f"resume: {name}={b!r} ({flag}) contradicts the run's {name}={a!r}; a resumed run "
                               f"keeps its {kept} (train into a new --out to change it)")


def _recordable(data: Any) -> Any:
    """``data`` as the checkpoint records it (JSON): names and paths as text, pairs as lists."""
    if isinstance(data, (list, tuple)):
        return [_recordable(d) for d in data]
    if isinstance(data, dict):
        return {str(k): _recordable(v) for k, v in data.items()}
    return str(data)


__all__ = ["RESUMABLE_CHANGES", "SavedRun", "default_train_config", "get_family", "resolve_config", "saved_run",
           "train"]
