"""The recipes of every shipped model: ``make zoo`` (``python -m atelier.zoo.recipes [NAME ...]``).

Each recipe names a preset, the data, the loop's settings and the seed. Running one trains the model
from scratch in ``runs/zoo/NAME`` through :func:`atelier.train`; :func:`ship` then keeps only what
using it needs (the EMA generator, the VAE, the style network or decoder: no discriminator, no
optimizer state) in ``zoo/NAME.safetensors``, measures it with :func:`atelier.evaluate` and records
everything in ``manifest.json``: SHA-256, recipe, command, training time, data fingerprint and
metrics. The digit classifier, the feature network of the image metrics, has a recipe of its own
(:func:`train_classifier_recipe`) that ships through the same :func:`ship`.

The style models train on the bundled photos except the held-out ones
(:data:`~atelier.data.photos.HELD_OUT_PHOTOS`), which their evaluation (and the gallery) paints.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from atelier import zoo
from atelier.api import evaluate, train
from atelier.checkpoint import load_checkpoint, save_checkpoint
from atelier.data.images import load_images
from atelier.data.photos import TEXTURES, TRAIN_PHOTOS
from atelier.errors import AtelierError, choose_one
from atelier.family import DataOptions
from atelier.images.classifier import ClassifierConfig, accuracy, train_classifier
from atelier.io import write_text
from atelier.style.efficientnet import CREDIT
from atelier.training import TrainConfig

MB = 1_000_000


@dataclass(frozen=True)
class Recipe:
    preset: str
    description: str
    data: str | tuple[str, ...] = "mnist"
    num_steps: int = 3000
    batch_size: int = 64
    seed: int = 0
    overrides: tuple[str, ...] = ()
    val_fraction: float = 0.1  # the held-out share of the data (evaluation uses the same split)
    keep: tuple[str, ...] = ()  # the modules shipped
    evaluate: dict[str, Any] = field(default_factory=dict)  # options of atelier.evaluate (default: its own)
    max_bytes: int = 5 * MB  # the shipped file's limit


RECIPES: dict[str, Recipe] = {
    "mnist-gan": Recipe("mlp-gan", "the article's MLP GAN (bugs fixed), non-saturating loss, EMA generator",
                        num_steps=20000, overrides=("ema_decay=0.995",), keep=("G_ema",)),
    "mnist-gan-wide": Recipe("mlp-gan-wide", "a stronger MLP GAN (256-512-1024, dropout 0.3 in D), EMA generator",
                             num_steps=15000, overrides=("ema_decay=0.999",), keep=("G_ema",), max_bytes=7 * MB),
    # Width 24 (not the paper's 64-at-64px scale) keeps a 2-core CPU run to minutes.
    "mnist-dcgan": Recipe("dcgan", "DCGAN (Radford et al. 2015) at 28 px, EMA generator", num_steps=4000,
                          overrides=("width=24", "ema_decay=0.995"), keep=("G_ema",)),
    # The full width (64) and 22,000 steps: at width 24 and 1,500 steps FD was 85; at width 64 it was
    # 113, 61, 33, 32, 30, 28.5 and 30.6 at 2,000, 3,400, 14,000, 16,000, 18,000, 20,000 and 22,000
    # steps (atelier.evaluate, 2,000 samples); recall stayed near 0.67 from 14,000 steps on.
    "mnist-cgan": Recipe("cgan", "class-conditional DCGAN (projection D), any digit on demand", num_steps=22000,
                         overrides=("width=64", "ema_decay=0.999"), keep=("G_ema",)),
    # The DCGAN paper's 64-px RGB network at half width on the 100 bundled faces (grey, shown as RGB),
    # a fifth held out for its metrics; with 80 training images, DiffAugment's shifts keep D from
    # memorising them. EMA 0.99: with 0.999 the averaged generator was still a grey blur at step
    # 1,000 while the live one already drew faces.
    "faces-dcgan": Recipe("dcgan-64-rgb", "the 64-px RGB DCGAN (half width) on the 100 lfw_subset faces, EMA generator",
                          data="lfw-faces", num_steps=2000, val_fraction=0.2,
                          overrides=("width=32", "ema_decay=0.99", "translate=0.125"), keep=("G_ema",),
                          evaluate={"data": "lfw-faces", "val_fraction": 0.2, "num_samples": 500}),
    "mnist-vae": Recipe("mlp-vae", "the article's MLP VAE, Bernoulli likelihood", num_steps=5000, batch_size=128,
                        keep=("vae",)),
    # Shifts of up to 1 px (translate=0.04) against over-fitting 4,500 digits: without them the
    # held-out -ELBO stopped at 107 (IWAE NLL 98.2) by 6,000 steps while the training one fell to 96;
    # with them IWAE NLL was 96.9, 95.5 and 95.05 at 6,000, 12,000 and 18,000 steps.
    "mnist-conv-vae": Recipe("conv-vae", "convolutional VAE (double width, 32 latents, 1-px shifts), Bernoulli "
                             "likelihood", num_steps=18000, batch_size=128,
                             overrides=("width=64", "z_dim=32", "kl_warmup_steps=1000", "translate=0.04"),
                             keep=("vae",)),
    "mnist-cvae": Recipe("cvae", "conditional convolutional VAE", num_steps=3000, batch_size=128, keep=("vae",)),
    # Music: Essen folk songs in 4/4 and 2/4, moved to C major / A minor; the split every evaluation uses.
    "essen-melody-rnn": Recipe("melody-rnn-lookback", "lookback melody RNN (Magenta's lookback_rnn), Essen folk songs",
                               data="essen", num_steps=4000, batch_size=64, keep=("rnn",)),
    "essen-attention-rnn": Recipe("melody-rnn-attention", "attention melody RNN (Magenta's attention_rnn), Essen folk songs",
                                  data="essen", num_steps=4000, batch_size=64, keep=("rnn",)),
    "essen-musicvae-2bar": Recipe("musicvae-2bar", "2-bar MusicVAE (flat decoder), Essen folk songs",
                                  data="essen", num_steps=2500, batch_size=64, keep=("vae",)),
    # The 16-bar hierarchical model on the Essen windows of 16 bars (2,955 training windows, one per
    # bar line), batch 32: about 1.5 steps a second on one thread here. Not shipped: after 8,000 steps
    # its held-out teacher-forced accuracy was 0.733 against 0.711 for always "hold", its KL at the
    # free bits (docs/music.md, Limits).
    "essen-musicvae-16bar": Recipe("musicvae-16bar", "16-bar hierarchical MusicVAE (a conductor over the bars), "
                                   "Essen folk songs", data="essen", num_steps=8000, batch_size=32, keep=("vae",)),
    # Every Essen tune in 4/4, 3/4, 6/8 or 2/4, O'Neill's tunes and the Bach soprano lines, each in
    # its written key and transposed up to a fifth either way; told style, meter and key. 12,000
    # steps: at 6,000 the training loss was still falling (0.786 at 4,500, 0.758 at 6,000) and the
    # held-out perplexity was 2.124.
    "folk-transformer": Recipe("melody-transformer-small", "melody transformer (relative attention, 2 layers of 128): "
                               "Essen, O'Neill and Bach, conditioned on style, meter and key",
                               data="essen,irish,bach", num_steps=12000, batch_size=64, keep=("transformer",),
                               evaluate={"num_samples": 600}),
    # The three bundled paintings in one half-width network (conditional instance norm), mixable,
    # with EfficientNet-Lite0 as the loss network; 128 px crops of the bundled photos but the
    # four held out. Content from block2 (1/4) and block5 (1/16): with block5 alone the network
    # covered held-out photos with one repeated stroke pattern and lost the cat in chelsea (3,000
    # steps); with block2 added the photo's structure held from the first 300 steps. Half width,
    # as the model it replaces (0.23 s per 512 px picture on 2 cores): the full width has about
    # four times the arithmetic. loss_jitter=4: without it the network drew a fine grid of
    # stripes, 2-4 px apart, over every picture (seen at 900 steps on held-out coffee, 512 px).
    "fast-paintings": Recipe(
        "fast-cin", "fast style transfer: starry_night, the_scream and shipwreck in one network (CIN), "
        "mixable; EfficientNet-Lite0 loss network", data=TRAIN_PHOTOS, num_steps=4000, batch_size=4,
        overrides=("width=16", "image_size=128", "content_layers=block2,block5", "loss_jitter=4"), keep=("net",),
        max_bytes=10 * MB),
    # The AdaIN decoder for any painting: EfficientNet-Lite0 encoder (AdaIN at block5_expand),
    # with the identity and TV terms. It trains on starry_night and the textures only, so that
    # the_scream and shipwreck are paintings it never saw: what it does to them is what it does
    # to a user's painting.
    "adain-decoder": Recipe(
        "adain", "AdaIN decoder (EfficientNet-Lite0 encoder, block5_expand): any painting; trained on "
        "starry_night and the bundled textures", data=TRAIN_PHOTOS, num_steps=3500, batch_size=4,
        overrides=("decoder_width=0.5", "image_size=128", "lr=0.0005", "tv_weight=10",
                   "styles=" + ",".join(("starry_night", *TEXTURES))), keep=("decoder",), max_bytes=10 * MB),
}
CLASSIFIER = "digit-classifier"
CLASSIFIER_STEPS = 2000


def run_recipe(name: str, recipe: Recipe, runs: Path, *, num_steps: int | None = None, device: str = "cpu",
               resume: bool = False, ship_only: bool = False, train_seconds: float | None = None,
               zoo_dir: Path = zoo.ZOO_DIR) -> dict[str, Any]:
    """Train ``recipe`` in ``runs/NAME`` and :func:`ship` it; returns its manifest entry.

    With ``resume`` the run continues to the recipe's steps and the recorded training time adds this
    run's to the one the manifest holds. ``ship_only`` skips training and ships the run's last
    checkpoint as it is (a run stopped by a time limit, or one to measure again; ``train_seconds``
    says how long it trained).
    """
    # 1. Train.
    steps = num_steps or recipe.num_steps
    checkpoint = runs / name / "checkpoint.safetensors"
    start = time.perf_counter()
    if ship_only:
        if not checkpoint.is_file():
            raise AtelierError(f"--ship-only: {checkpoint} does not exist; train the recipe first")
    else:
        loop = TrainConfig(num_steps=steps, batch_size=recipe.batch_size, seed=recipe.seed, device=device,
                           sample_every=max(steps // 6, 1), eval_every=0, checkpoint_every=200, tensorboard=False)
        data = list(recipe.data) if isinstance(recipe.data, tuple) else recipe.data
        checkpoint = train(recipe.preset, data=data, out=runs / name, overrides=list(recipe.overrides),
                           train_config=loop, resume=resume,
                           options=None if resume else DataOptions(val_fraction=recipe.val_fraction)).checkpoint
    seconds = train_seconds if ship_only and train_seconds is not None else time.perf_counter() - start
    if resume:
        seconds += _read_manifest(zoo_dir).get(name, {}).get("recipe", {}).get("train_seconds", 0.0)
    # 2. Ship, measured by atelier.evaluate.
    record = {**asdict(recipe), "num_steps": steps,
              "command": f"python -m atelier.zoo.recipes {name} --device {device}",
              "train_seconds": round(seconds, 1), "machine": _machine(device)}
    return ship(name, checkpoint, description=recipe.description, recipe=record, keep=recipe.keep,
                evaluate_options=recipe.evaluate, max_bytes=recipe.max_bytes, zoo_dir=zoo_dir)


def train_classifier_recipe(runs: Path, *, num_steps: int | None = None, device: str = "cpu",
                            zoo_dir: Path = zoo.ZOO_DIR) -> dict[str, Any]:
    """The digit classifier whose features the image metrics use, trained on the MNIST train split
    through :func:`atelier.training.fit` in ``runs/digit-classifier`` and shipped with its held-out
    accuracy."""
    steps = num_steps or CLASSIFIER_STEPS
    train_split, held_out = load_images("mnist").split(seed=0)
    x, y = train_split.all()
    start = time.perf_counter()
    net, _ = train_classifier(x, y, config=ClassifierConfig(), num_steps=steps, batch_size=64, lr=1e-3, seed=0,
                              device=device, out_dir=runs / CLASSIFIER)
    seconds = time.perf_counter() - start
    vx, vy = held_out.all()
    record = {"data": "mnist (train split, seed 0)", "num_steps": steps, "batch_size": 64, "lr": 1e-3, "seed": 0,
              "command": f"python -m atelier.zoo.recipes {CLASSIFIER}", "train_seconds": round(seconds, 1),
              "machine": _machine(device)}
    return ship(CLASSIFIER, runs / CLASSIFIER / "checkpoint.safetensors",
                description="small CNN digit classifier: the feature space of Atelier's image metrics",
                recipe=record, keep=("classifier",), zoo_dir=zoo_dir,
                metrics={"held_out_accuracy": accuracy(net, vx, vy), "held_out_images": len(held_out)})


def ship(name: str, checkpoint: Path, *, description: str, recipe: dict[str, Any], keep: tuple[str, ...],
         metrics: dict[str, Any] | None = None, evaluate_options: dict[str, Any] | None = None,
         max_bytes: int = 5 * MB, zoo_dir: Path = zoo.ZOO_DIR) -> dict[str, Any]:
    """Put the ``keep`` modules of a training run's ``checkpoint`` in ``zoo_dir/NAME.safetensors``,
    measure the model (``metrics`` if given, else :func:`atelier.evaluate` with ``evaluate_options``)
    and record it in ``zoo_dir/manifest.json``; returns its entry."""
    # 1. Keep what using the model needs.
    full = load_checkpoint(checkpoint)
    if not keep:
        raise AtelierError(f"ship {name}: name the modules to keep")
    for module in keep:
        full.module_state(module)  # a module the run lacks is an error that lists the ones it has
    path = zoo_dir / f"{name}.safetensors"
    extra = {k: full.meta[k] for k in ("data_fingerprint", "train_config", "provenance", "history") if k in full.meta}
    save_checkpoint(path, kind=full.kind, config=full.config, step=full.step, extra=extra,
                    modules={m: _StateHolder(full.module_state(m)) for m in keep})
    if path.stat().st_size > max_bytes:
        raise AtelierError(f"{path.name} is {path.stat().st_size:,} bytes, over the {max_bytes:,} limit")
    # 2. Measure.
    if metrics is None:
        report = evaluate(path, **(evaluate_options or {}))
        metrics = {**{k: round(v, 5) for k, v in report.metrics.items()}, "measured_on": report.data}
    # 3. Record.
    entry = {"file": path.name, "kind": full.kind, "description": description,
             **({"feature_network": CREDIT} if full.config.get("backbone") == "efficientnet-lite0" else {}),
             "recipe": recipe, "metrics": metrics}
    record_entry(name, entry, path, zoo_dir=zoo_dir)
    return entry


class _StateHolder(torch.nn.Module):
    """A module that only carries a saved state dict (to re-save part of a checkpoint)."""

    def __init__(self, state: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self._state = state

    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, torch.Tensor]:  # noqa: D102
        return dict(self._state)


def _machine(device: str) -> str:
    where = torch.cuda.get_device_name() if device.startswith("cuda") else f"{torch.get_num_threads()} CPU threads"
    return f"{platform.machine()}, {where}, torch {torch.__version__}"


def record_entry(name: str, entry: dict[str, Any], path: Path, *, zoo_dir: Path = zoo.ZOO_DIR) -> None:
    """Add or replace model ``name`` in ``zoo_dir/manifest.json``, with the SHA-256 of ``path``.

    Several recipes may run at once (image and music models train in parallel), so the
    read-modify-write of the manifest happens under an exclusive lock.
    """
    import fcntl

    entry = {**entry, "sha256": zoo.sha256_file(path)}
    with open(zoo_dir / ".manifest.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        models = {**_read_manifest(zoo_dir), name: entry}
        write_text(zoo_dir / "manifest.json", json.dumps({"models": dict(sorted(models.items()))}, indent=2) + "\n")


def _read_manifest(zoo_dir: Path) -> dict[str, Any]:
    """The raw entries of ``zoo_dir/manifest.json`` (none if it does not exist yet)."""
    path = zoo_dir / "manifest.json"
    return json.loads(path.read_text())["models"] if path.exists() else {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m atelier.zoo.recipes", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"recipes to run (default: all): {CLASSIFIER}, {', '.join(RECIPES)}")
    parser.add_argument("--runs", default="runs/zoo", help="where the full training runs go")
    parser.add_argument("--num-steps", type=int, default=None, help="override the steps (for a quick check)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto (the recipe is the same on each)")
    parser.add_argument("--resume", action="store_true", help="continue the runs in --runs to the recipe's steps")
    parser.add_argument("--ship-only", action="store_true",
                        help="do not train: ship the last checkpoint in --runs as it is (a run cut short)")
    parser.add_argument("--train-seconds", type=float, default=None, help="with --ship-only: how long it trained")
    args = parser.parse_args(argv)
    runs = Path(args.runs)
    try:
        for name in args.names or [CLASSIFIER, *RECIPES]:
            if name == CLASSIFIER:
                entry = train_classifier_recipe(runs, num_steps=args.num_steps, device=args.device)
            elif name in RECIPES:
                entry = run_recipe(name, RECIPES[name], runs, num_steps=args.num_steps, device=args.device,
                                   resume=args.resume, ship_only=args.ship_only, train_seconds=args.train_seconds)
            else:
                raise choose_one("recipe", name, [CLASSIFIER, *RECIPES])
            print(f"{name}: {json.dumps(entry['metrics'])}")
    except AtelierError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
