"""bf16 autocast and channels-last against plain float32: the same GAN trained both ways.

The fast path (``TrainConfig.precision``) is worth having only if it trains to the same quality. A
class-conditional DCGAN is trained twice from the same seed on the same batches, once in float32 and
once under bf16 autocast, and its EMA generator is scored (FD, precision, recall, label accuracy)
every few hundred steps. The two loss curves and FD curves go in ``docs/images/precision-curves.png``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from atelier.checkpoint import read_header

ROOT = Path(__file__).resolve().parent.parent
PICTURE = ROOT / "docs" / "images" / "precision-curves.png"
OVERRIDES = ["width=32", "ema_decay=0.995"]


def train_and_score(precision: str, steps: int, every: int, out: Path) -> dict:
    import torch

    from atelier.api import evaluate, train
    from atelier.training import TrainConfig

    loop = TrainConfig(num_steps=steps, batch_size=64, seed=0, precision=precision, checkpoint_every=every,
                       keep_checkpoints=steps // every + 1, checkpoint_minutes=0, sample_every=steps,
                       eval_every=0, tensorboard=False, progress=False)
    start = time.perf_counter()
    result = train("cgan", data="mnist", out=out, overrides=OVERRIDES, train_config=loop)
    seconds = time.perf_counter() - start
    scores = []
    for path in sorted(out.glob("checkpoint*.safetensors")):  # the newest and the kept ones
        step = read_header(path)["step"]
        m = evaluate(path, num_samples=2000).metrics
        scores.append({"step": step, **{k: m[k] for k in ("fd", "precision", "recall", "label_accuracy")}})
    scores.sort(key=lambda r: r["step"])
    return {"seconds": seconds, "history": result.history, "scores": scores, "threads": torch.get_num_threads()}


def plot(runs: dict[str, dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4), dpi=100)
    for name, run in runs.items():
        steps = [h["step"] for h in run["history"]]
        axes[0].plot(steps, [h["loss_d"] for h in run["history"]], label=f"{name} D", linewidth=1)
        axes[0].plot(steps, [h["loss_g"] for h in run["history"]], label=f"{name} G", linewidth=1, linestyle="--")
        s = [r["step"] for r in run["scores"]]
        axes[1].plot(s, [r["fd"] for r in run["scores"]], marker="o", label=name)
        axes[2].plot(s, [r["precision"] for r in run["scores"]], marker="o", label=f"{name} precision")
        axes[2].plot(s, [r["recall"] for r in run["scores"]], marker="s", linestyle="--", label=f"{name} recall")
    axes[0].set_title("training losses")
    axes[1].set_title("FD of the EMA generator (lower is better)")
    axes[2].set_title("precision and recall")
    for ax in axes:
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    PICTURE.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(PICTURE)
    plt.close(fig)


def run(quick: bool) -> str:
    steps, every = (600, 200) if quick else (1500, 500)
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for precision in ("fp32", "bf16"):
            runs[precision] = train_and_score(precision, steps, every, Path(tmp) / precision)
    plot(runs)
    rows = ["| precision | train s | steps/s | " + " | ".join(f"FD @ {r['step']}" for r in runs["fp32"]["scores"])
            + " | final precision | final recall | label accuracy |",
            "|---|---:|---:|" + "---:|" * len(runs["fp32"]["scores"]) + "---:|---:|---:|"]
    for name, r in runs.items():
        last = r["scores"][-1]
        rows.append(f"| {name} | {r['seconds']:.0f} | {steps / r['seconds']:.1f} | "
                    + " | ".join(f"{s['fd']:.1f}" for s in r["scores"])
                    + f" | {last['precision']:.3f} | {last['recall']:.3f} | {last['label_accuracy']:.3f} |")
    return "\n".join([
        "## bf16 autocast against float32", "",
        f"`cgan` ({', '.join(OVERRIDES)}) trained {steps:,} steps from the same seed on the same batches, once "
        f"with `--precision fp32` and once with `--precision bf16` (autocast and channels-last), "
        f"{runs['fp32']['threads']} torch thread(s); the EMA generator scored on 2,000 samples every {every} steps "
        "against the 500 held-out digits. Curves: `docs/images/precision-curves.png`.", "",
        *rows, ""])
