"""The recipes of the shipped style models: ``python -m atelier.style.recipes [NAME ...]``.

Each recipe trains from scratch with :func:`atelier.style.training.train_style` in
``runs/zoo/NAME``, keeps only what stylizing needs (the transformation network, or the decoder:
the encoder is rebuilt from its name and seed) in ``atelier/zoo/NAME.safetensors``, measures the
model on a photo it never saw and records everything in the zoo's ``manifest.json``: SHA-256,
recipe, command, training time, data fingerprint and the style and content distances.

The training photos are the bundled ones except ``chelsea``, which is kept for measuring (and
for the gallery, which shows what the models do to a photo they have not seen).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from atelier import zoo
from atelier.checkpoint import load_checkpoint, save_checkpoint
from atelier.errors import AtelierError, choose_one
from atelier.style.data import HELD_OUT_PHOTOS, PAINTINGS, PHOTOS, TEXTURES, load_image, resize_long_side
from atelier.style.efficientnet import CREDIT
from atelier.training import TrainConfig

MAX_BYTES = 10_000_000  # each shipped style model stays under 10 MB
HELD_OUT = "chelsea"  # the photo the manifest's metrics are measured on
TRAIN_PHOTOS = tuple(p for p in PHOTOS if p not in HELD_OUT_PHOTOS)
MEASURE_SIZE = 256  # long side of the pictures the metrics are measured on, px
MEASURE_BACKBONES = ("random-vgg19", "random-multiscale")


@dataclass(frozen=True)
class StyleRecipe:
    method: str  # fast | adain
    preset: str
    description: str
    num_steps: int
    batch_size: int = 4
    seed: int = 0
    overrides: tuple[str, ...] = ()
    keep: str = "net"  # the module shipped


RECIPES: dict[str, StyleRecipe] = {
    # The three bundled paintings in one half-width network (conditional instance norm), mixable,
    # with EfficientNet-Lite0 as the loss network; 128 px crops of the bundled photos but the
    # four held out. Content from block2 (1/4) and block5 (1/16): with block5 alone the network
    # covered held-out photos with one repeated stroke pattern and lost the cat in chelsea (3,000
    # steps); with block2 added the photo's structure held from the first 300 steps. Half width,
    # as the model it replaces (0.23 s per 512 px picture on 2 cores): the full width has about
    # four times the arithmetic. loss_jitter=4: without it the network drew a fine grid of
    # stripes, 2-4 px apart, over every picture (seen at 900 steps on held-out coffee, 512 px).
    "fast-paintings": StyleRecipe(
        "fast", "fast-cin", "fast style transfer: starry_night, the_scream and shipwreck in one network (CIN), "
        "mixable; EfficientNet-Lite0 loss network", num_steps=4000, batch_size=4,
        overrides=("width=16", "image_size=128", "content_layers=block2,block5", "loss_jitter=4"), keep="net"),
    # The AdaIN decoder for any painting: EfficientNet-Lite0 encoder (AdaIN at block5_expand),
    # with the identity and TV terms. It trains on starry_night and the textures only, so that
    # the_scream and shipwreck are paintings it never saw: what it does to them is what it does
    # to a user's painting.
    "adain-decoder": StyleRecipe(
        "adain", "adain", "AdaIN decoder (EfficientNet-Lite0 encoder, block5_expand): any painting; trained on "
        "starry_night and the bundled textures", num_steps=3500, batch_size=4,
        overrides=("decoder_width=0.5", "image_size=128", "lr=0.0005", "tv_weight=10",
                   "styles=" + ",".join(("starry_night", *TEXTURES))), keep="decoder"),
}


def measure(model: Any, method: str, *, photo: str = HELD_OUT) -> dict[str, float]:
    """Style and content distances of the model's pictures of ``photo`` in each bundled painting,
    against the photo itself as the baseline, per backbone (see :mod:`atelier.metrics.style`)."""
    from atelier.metrics.style import content_distance, style_distance
    from atelier.style.features import build_backbone

    content = resize_long_side(load_image(photo), MEASURE_SIZE)
    names = model.style_names if method == "fast" else PAINTINGS
    paintings = {n: load_image(n) for n in names}
    outputs = {}
    for name in names:
        if method == "fast":
            outputs[name] = model.stylize(content, style_weights=name)
        else:
            outputs[name] = model.stylize(content, [paintings[name]])
    metrics: dict[str, float] = {}
    for backbone in MEASURE_BACKBONES:
        net = build_backbone(backbone)
        key = backbone.replace("-", "_")
        metrics[f"style_distance_{key}"] = sum(
            style_distance(outputs[n], paintings[n], backbone=net) for n in names) / len(names)
        metrics[f"photo_style_distance_{key}"] = sum(
            style_distance(content, paintings[n], backbone=net) for n in names) / len(names)
        metrics[f"content_distance_{key}"] = sum(
            content_distance(outputs[n], content, backbone=net) for n in names) / len(names)
    return {k: round(v, 4) for k, v in metrics.items()}


def run_recipe(name: str, recipe: StyleRecipe, runs: Path, *, num_steps: int | None = None,
               resume: bool = False, device: str = "cpu", ship_only: bool = False,
               train_seconds: float | None = None) -> dict[str, Any]:
    """Train ``recipe``, ship its inference module as ``zoo/NAME.safetensors`` and return its entry.

    With ``resume`` the run in ``runs/NAME`` continues to the recipe's steps; the recorded training
    time adds this run's to the one the manifest holds. ``ship_only`` skips training and ships
    the run's last checkpoint as it is (a run stopped by a time limit, or one to measure again;
    ``train_seconds`` says how long it trained).
    """
    from atelier.api import load
    from atelier.style.training import train_style

    # 1. Train.
    steps = num_steps or recipe.num_steps
    config = TrainConfig(num_steps=steps, batch_size=recipe.batch_size, seed=recipe.seed, device=device,
                         sample_every=max(steps // 4, 1), eval_every=0, checkpoint_every=200, tensorboard=False)
    start = time.perf_counter()
    if ship_only:
        checkpoint = runs / name / "checkpoint.safetensors"
        if not checkpoint.is_file():
            raise AtelierError(f"--ship-only: {checkpoint} does not exist; train the recipe first")
    else:
        checkpoint = train_style(recipe.method, data=list(TRAIN_PHOTOS), out=runs / name, preset=recipe.preset,
                                 overrides=recipe.overrides, train_config=config, resume=resume).checkpoint
    seconds = train_seconds if ship_only and train_seconds is not None else time.perf_counter() - start
    if resume and name in zoo.read_manifest():
        seconds += zoo.read_manifest()[name].recipe.get("train_seconds", 0.0)
    # 2. Keep what inference needs.
    full = load_checkpoint(checkpoint)
    steps = full.step
    path = zoo.ZOO_DIR / f"{name}.safetensors"
    save_checkpoint(path, kind=full.kind, config=full.config, modules={recipe.keep: _State(full.module_state(recipe.keep))},
                    step=full.step, extra={k: full.meta[k] for k in ("data_fingerprint", "train_config", "provenance", "history")})
    if path.stat().st_size > MAX_BYTES:
        raise AtelierError(f"{path.name} is {path.stat().st_size:,} bytes, over the {MAX_BYTES:,} limit")
    # 3. Measure on the held-out photo.
    model = load(path)
    metrics = measure(model, recipe.method)
    backbone = full.config.get("backbone")
    return {
        "file": path.name, "kind": full.kind, "description": recipe.description,
        **({"feature_network": CREDIT} if backbone == "efficientnet-lite0" else {}),
        "recipe": {**asdict(recipe), "num_steps": steps, "data": f"bundled photos except {', '.join(HELD_OUT_PHOTOS)}",
                   "command": f"python -m atelier.style.recipes {name} --device {device}", "train_seconds": round(seconds, 1),
                   "machine": (torch.cuda.get_device_name() if device.startswith("cuda") else
                               f"{torch.get_num_threads()} CPU threads") + f", torch {torch.__version__}"},
        "metrics": {**metrics, "measured_on": f"{HELD_OUT} (held out), {MEASURE_SIZE} px, each bundled painting"
                    + (", palette matched" if getattr(model.config, "match_palette", False) else "")},
    }


class _State(torch.nn.Module):
    """A module that only carries a saved state dict (to re-save part of a checkpoint)."""

    def __init__(self, state: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self._state = state

    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, torch.Tensor]:  # noqa: D102
        return dict(self._state)


def main(argv: list[str] | None = None) -> int:
    from atelier.zoo.recipes import record_entry

    parser = argparse.ArgumentParser(prog="python -m atelier.style.recipes", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"recipes to run (default: all): {', '.join(RECIPES)}")
    parser.add_argument("--runs", default="runs/zoo", help="where the full training runs go")
    parser.add_argument("--num-steps", type=int, default=None, help="override the steps (for a quick check)")
    parser.add_argument("--resume", action="store_true", help="continue the runs in --runs to the recipe's steps")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto (the recipe is the same on each)")
    parser.add_argument("--ship-only", action="store_true",
                        help="do not train: ship the last checkpoint in --runs as it is (a run cut short)")
    parser.add_argument("--train-seconds", type=float, default=None, help="with --ship-only: how long it trained")
    args = parser.parse_args(argv)
    try:
        for name in args.names or list(RECIPES):
            if name not in RECIPES:
                raise choose_one("style recipe", name, RECIPES)
            entry = run_recipe(name, RECIPES[name], Path(args.runs), num_steps=args.num_steps, resume=args.resume,
                               device=args.device, ship_only=args.ship_only, train_seconds=args.train_seconds)
            record_entry(name, entry, zoo.ZOO_DIR / entry["file"])
            print(f"{name}: {json.dumps(entry['metrics'])}")
    except AtelierError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
