"""The recipes of the shipped models: ``make zoo`` (``python -m atelier.zoo.recipes [NAME ...]``).

Each recipe names a preset, the data, the loop settings and the seed. Running it trains the model
from scratch in ``runs/zoo/NAME``, keeps only what sampling needs (no discriminator, no optimizer
state) in ``zoo/NAME.safetensors``, measures it on the held-out split and records everything in
``manifest.json``: SHA-256, recipe, command, data fingerprint and metrics.
"""

from __future__ import annotations

import argparse
import json
import sys
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from atelier import zoo
from atelier.checkpoint import load_checkpoint, save_checkpoint
from atelier.errors import AtelierError, choose_one
from atelier.io import write_text
from atelier.training import TrainConfig

MAX_BYTES = 5_000_000  # each shipped model stays under 5 MB


@dataclass(frozen=True)
class Recipe:
    preset: str
    description: str
    data: str = "mnist"
    num_steps: int = 3000
    batch_size: int = 64
    seed: int = 0
    overrides: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()  # modules shipped (default: every module but discriminators)
    evaluate: dict[str, Any] = field(default_factory=dict)


RECIPES: dict[str, Recipe] = {
    "mnist-gan": Recipe("mlp-gan", "the article's MLP GAN (bugs fixed), non-saturating loss, EMA generator",
                        num_steps=20000, overrides=("ema_decay=0.995",), keep=("G_ema",)),
    # Width 24 (not the paper's 64-at-64px scale) keeps a 2-core CPU run to minutes.
    "mnist-dcgan": Recipe("dcgan", "DCGAN (Radford et al. 2015) at 28 px, EMA generator", num_steps=4000,
                          overrides=("width=24", "ema_decay=0.995"), keep=("G_ema",)),
    "mnist-cgan": Recipe("cgan", "class-conditional DCGAN (projection D), any digit on demand", num_steps=1500,
                         overrides=("width=24", "ema_decay=0.995"), keep=("G_ema",)),
    "mnist-vae": Recipe("mlp-vae", "the article's MLP VAE, Bernoulli likelihood", num_steps=5000, batch_size=128,
                        keep=("vae",)),
    "mnist-cvae": Recipe("cvae", "conditional convolutional VAE", num_steps=3000, batch_size=128, keep=("vae",)),
    # Music: Essen folk songs in 4/4 and 2/4, moved to C major / A minor; the split every evaluation uses.
    "essen-melody-rnn": Recipe("melody-rnn-lookback", "lookback melody RNN (Magenta's lookback_rnn), Essen folk songs",
                               data="essen", num_steps=4000, batch_size=64, keep=("rnn",)),
    "essen-musicvae-2bar": Recipe("musicvae-2bar", "2-bar MusicVAE (flat decoder), Essen folk songs",
                                  data="essen", num_steps=2500, batch_size=64, keep=("vae",)),
}
CLASSIFIER = "digit-classifier"
CLASSIFIER_STEPS = 2000


def train_classifier_recipe(runs: Path) -> dict[str, Any]:
    """The digit classifier whose features the image metrics use (trained on the MNIST train split)."""
    from atelier.data.images import load_images
    from atelier.images.classifier import ClassifierConfig, train_classifier

    train, held_out = load_images("mnist").split(seed=0)
    x, y = train.all()
    config = ClassifierConfig()
    net, _ = train_classifier(x, y, config=config, num_steps=CLASSIFIER_STEPS, batch_size=64, lr=1e-3, seed=0)
    net.eval()
    vx, vy = held_out.all()
    with torch.no_grad():
        accuracy = float((net(vx).argmax(1) == vy).float().mean())
    path = zoo.ZOO_DIR / f"{CLASSIFIER}.safetensors"
    save_checkpoint(path, kind="classifier", config=asdict(config), modules={"classifier": net},
                    step=CLASSIFIER_STEPS, extra={"data_fingerprint": train.fingerprint()})
    return {
        "file": path.name, "kind": "classifier",
        "description": "small CNN digit classifier: the feature space of Atelier's image metrics",
        "recipe": {"data": "mnist (train split, seed 0)", "num_steps": CLASSIFIER_STEPS, "batch_size": 64,
                   "lr": 1e-3, "seed": 0, "command": "python -m atelier.zoo.recipes digit-classifier"},
        "metrics": {"held_out_accuracy": accuracy, "held_out_images": len(held_out)},
    }


def run_recipe(name: str, recipe: Recipe, runs: Path, *, num_steps: int | None = None) -> dict[str, Any]:
    from atelier.api import evaluate, train

    steps = num_steps or recipe.num_steps
    cfg = TrainConfig(num_steps=steps, batch_size=recipe.batch_size, seed=recipe.seed,
                      sample_every=max(steps // 6, 1), eval_every=0, checkpoint_every=500)
    start = time.perf_counter()
    result = train(recipe.preset, data=recipe.data, out=runs / name, overrides=list(recipe.overrides),
                   train_config=cfg)
    seconds = time.perf_counter() - start
    full = load_checkpoint(result.checkpoint)
    keep = [m for m in recipe.keep if full.has_module(m)]
    modules = {m: _StateHolder(full.module_state(m)) for m in keep}
    path = zoo.ZOO_DIR / f"{name}.safetensors"
    save_checkpoint(path, kind=full.kind, config=full.config, modules=modules, step=full.step,
                    extra={k: full.meta[k] for k in ("data_fingerprint", "train_config", "provenance", "history")})
    if path.stat().st_size > MAX_BYTES:
        raise AtelierError(f"{path.name} is {path.stat().st_size:,} bytes, over the {MAX_BYTES:,} limit")
    entry = {
        "file": path.name, "kind": full.kind, "description": recipe.description,
        "recipe": {**asdict(recipe), "num_steps": steps, "command": f"python -m atelier.zoo.recipes {name}",
                   "train_seconds": round(seconds, 1), "machine": _machine()},
        "metrics": {},
    }
    record_entry(name, entry, path)  # evaluation loads the model through the manifest
    report = evaluate(name, num_samples=2000, iwae_k=1000)
    entry["metrics"] = {k: round(v, 5) for k, v in report.metrics.items()}
    return entry


class _StateHolder(torch.nn.Module):
    """A module that only carries a saved state dict (to re-save part of a checkpoint)."""

    def __init__(self, state: dict[str, torch.Tensor]):
        super().__init__()
        self._state = state

    def state_dict(self, *args, **kwargs):  # noqa: D102
        return dict(self._state)


def _machine() -> str:
    return f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}"


def record_entry(name: str, entry: dict[str, Any], path: Path) -> None:
    """Add or replace model ``name`` in manifest.json, with the SHA-256 of ``path``.

    Several recipes may run at once (image and music models train in parallel), so the
    read-modify-write of the manifest happens under an exclusive lock.
    """
    import fcntl

    entry = {**entry, "sha256": zoo.sha256_file(path)}
    with open(zoo.ZOO_DIR / ".manifest.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        manifest = json.loads(zoo.MANIFEST.read_text()) if zoo.MANIFEST.exists() else {"models": {}}
        manifest["models"][name] = entry
        manifest["models"] = dict(sorted(manifest["models"].items()))
        write_text(zoo.MANIFEST, json.dumps(manifest, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m atelier.zoo.recipes", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"recipes to run (default: all): {CLASSIFIER}, {', '.join(RECIPES)}")
    parser.add_argument("--runs", default="runs/zoo", help="where the full training runs go")
    parser.add_argument("--num-steps", type=int, default=None, help="override the steps (for a quick check)")
    args = parser.parse_args(argv)
    names = args.names or [CLASSIFIER, *RECIPES]
    runs = Path(args.runs)
    try:
        for name in names:
            if name == CLASSIFIER:
                entry = train_classifier_recipe(runs)
                record_entry(name, entry, zoo.ZOO_DIR / entry["file"])
            elif name in RECIPES:
                entry = run_recipe(name, RECIPES[name], runs, num_steps=args.num_steps)
                record_entry(name, entry, zoo.ZOO_DIR / entry["file"])
            else:
                raise choose_one("recipe", name, [CLASSIFIER, *RECIPES])
            print(f"{name}: {json.dumps(entry['metrics'])}")
    except AtelierError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
