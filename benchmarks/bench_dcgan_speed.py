"""Atelier's DCGAN training against the reference script, as whole processes, alternating.

``atelier train dcgan-64-rgb`` and ``dcgan_reference.py`` (a faithful stand-in for pytorch/examples'
``dcgan/main.py --dataset fake``) train the same 64-px RGB model (ngf = ndf = 64, nz = 100, Adam 2e-4,
β1 0.5, batch 64) on the same number of random images. Each round starts one process of each, in
turn, so both see the same machine; a process's wall time counts everything a user waits for:
start-up, imports, data, training and writing its files. CPU time and peak RSS come from ``wait4``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
IMAGES = 1000  # the reference's fake dataset
BATCH = 64


def _fake_npz(path: Path) -> None:
    """The same 1,000 random images the reference draws (N(0, 1) clipped to 8-bit pixels), as a file."""
    sys.path.insert(0, str(HERE))
    from dcgan_reference import FakeImages

    ds = FakeImages(IMAGES)
    images = np.stack([(ds[i][0].numpy() * 255 + 0.5).astype(np.uint8) for i in range(IMAGES)])
    np.savez(path, images=images)


def _run(cmd: list[str], env: dict[str, str]) -> dict[str, float]:
    """Wall seconds, CPU seconds (user + system, with waited-for children) and peak RSS (MB) of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode()
    proc.stderr.close()
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {err[-2000:]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss / 1024}


def commands(work: Path, epochs: int, precision: str) -> dict[str, list[str]]:
    steps = round(epochs * IMAGES / BATCH)  # as many images as the reference's epochs
    atelier = [sys.executable, "-m", "atelier", "train", "dcgan-64-rgb", "--data", str(work / "fake.npz"),
               "--val-fraction", "0", "--num-steps", str(steps), "--batch-size", str(BATCH),
               "--out", str(work / "atelier"), "--overwrite", "--no-progress", "--precision", precision]
    reference = [sys.executable, str(HERE / "dcgan_reference.py"), "--epochs", str(epochs),
                 "--out", str(work / "reference")]
    return {"reference": reference, "atelier": atelier}


def measure(*, rounds: int, epochs: tuple[int, int], precision: str = "auto") -> dict[str, dict[int, list[dict]]]:
    """Each round runs both programs for a short and a long run (``epochs``), in alternating order."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    results: dict[str, dict[int, list[dict[str, float]]]] = {"reference": {}, "atelier": {}}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        _fake_npz(work / "fake.npz")
        for r in range(rounds):
            order = ("reference", "atelier") if r % 2 == 0 else ("atelier", "reference")
            for e in epochs:
                cmds = commands(work, e, precision)
                for name in order:
                    results[name].setdefault(e, []).append(_run(cmds[name], env))
    return results


_PROFILE = """
import json, sys, torch
from torch.profiler import ProfilerActivity, profile
from atelier.images.gan import PRESETS, build_task
from atelier.training.distributed import DistInfo
from atelier.training.loop import StepContext
fast = sys.argv[1] == "bf16"
task = build_task(PRESETS["dcgan-64-rgb"])
fmt = torch.channels_last if fast else torch.contiguous_format
for m in task.modules.values():
    m.to(memory_format=fmt)
real = (torch.rand(64, 3, 64, 64) * 2 - 1).contiguous(memory_format=fmt)
def step(s):
    ctx = StepContext(step=s, seed=0, device=torch.device("cpu"), dist=DistInfo(), optimizers=task.optimizers,
                      global_batch=64)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=fast):
        task.train_step((real, None), ctx)
step(0)
with profile(activities=[ProfilerActivity.CPU]) as prof:
    for s in range(1, 4):
        step(s)
rows = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
total = sum(e.self_cpu_time_total for e in rows)
print(json.dumps({"ms_per_step": total / 3 / 1000,
                  "top": [[e.key, e.self_cpu_time_total / total] for e in rows[:5]]}))
"""


def profile_steps() -> dict[str, dict]:
    """torch.profiler on three training steps of the 64-px DCGAN, float32 against bf16 + channels-last."""
    out = {}
    for mode in ("fp32", "bf16"):
        proc = subprocess.run([sys.executable, "-c", _PROFILE, mode], capture_output=True, text=True, check=True)
        out[mode] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def run(quick: bool) -> str:
    rounds, (short, long) = (1, (1, 2)) if quick else (4, (1, 4))
    res = measure(rounds=rounds, epochs=(short, long))
    med = {name: {e: {k: statistics.median(r[k] for r in rows) for k in ("wall", "cpu", "rss")}
                  for e, rows in by_epochs.items()} for name, by_epochs in res.items()}
    rows = ["| process | epochs | images | wall s | images/s (whole process) | CPU s | peak RSS (MB) |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for name in ("reference", "atelier"):
        for e in (short, long):
            m = med[name][e]
            rows.append(f"| {name} | {e} | {e * IMAGES:,} | {m['wall']:.1f} | {e * IMAGES / m['wall']:.0f} | "
                        f"{m['cpu']:.1f} | {m['rss']:.0f} |")
    # training throughput: the images the long run adds over the short one, per extra second (start-up,
    # imports and the files written once cancel out)
    extra = (long - short) * IMAGES
    marginal = {name: extra / (med[name][long]["wall"] - med[name][short]["wall"]) for name in med}
    whole = med["reference"][long]["wall"] / med["atelier"][long]["wall"]
    rss = max(med["atelier"][e]["rss"] for e in (short, long)) / max(med["reference"][e]["rss"] for e in (short, long))
    return "\n".join([
        "## DCGAN training speed against the reference script", "",
        f"`atelier train dcgan-64-rgb` (default `--precision auto`: bf16 autocast and channels-last on this CPU) "
        "against `benchmarks/dcgan_reference.py` (pytorch/examples' `dcgan/main.py --dataset fake`, rewritten "
        f"here without torchvision): the same 64-px RGB DCGAN (ngf = ndf = 64, nz 100, Adam 2e-4, β1 0.5), "
        f"batch {BATCH}, on 1,000 random images, for {short} and {long} epochs of the reference's. {rounds} "
        "round(s), the programs alternating; medians. Wall time is the whole process: start-up, imports, data, "
        "training and the files each writes. Peak RSS is the largest process's (the reference's two DataLoader "
        "workers are extra processes).", "",
        *rows, "",
        f"- **Training throughput** (the images the {long}-epoch run adds over the {short}-epoch one, per extra "
        f"second): reference {marginal['reference']:.0f} images/s, Atelier {marginal['atelier']:.0f} images/s: "
        f"**{marginal['atelier'] / marginal['reference']:.2f}×**.",
        f"- **Whole process**, {long} epochs: Atelier takes {1 / whole:.2f}× the reference's wall time "
        f"(**{whole:.2f}×** as fast); at {short} epoch, "
        f"{med['reference'][short]['wall'] / med['atelier'][short]['wall']:.2f}× as fast, start-up weighing more.",
        f"- **Peak RSS**: Atelier {rss:.2f}× the reference's.", "",
        "Where a step's time goes (torch.profiler, three steps of Atelier's `dcgan-64-rgb` task, self CPU time):", "",
        "| path | ms a step | the five largest ops |", "|---|---:|---|",
        *[f"| {mode} | {p['ms_per_step']:.0f} | " + ", ".join(f"{k} {share:.0%}" for k, share in p["top"]) + " |"
          for mode, p in profile_steps().items()], ""])
