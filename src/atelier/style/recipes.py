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
from atelier.style.data import PAINTINGS, PHOTOS, load_image, resize_long_side
from atelier.training import TrainConfig

MAX_BYTES = 10_000_000  # each shipped style model stays under 10 MB
HELD_OUT = "chelsea"  # the photo no shipped style model trains on
TRAIN_PHOTOS = tuple(p for p in PHOTOS if p != HELD_OUT)
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
    # Two bundled paintings in one half-width network (conditional instance norm), 96 px crops.
    # Means and covariances as separate style terms, and a 10x learning rate for the CIN scales
    # and shifts: with Gram matrices and one learning rate the network painted both paintings
    # alike, as a tint with blobs (docs/style.md, "Train your own"). 10,000 steps: at 1,500, 3,000
    # and 6,000 the strokes were faint bands over the photo; the held-out style distance went
    # 0.500 → 0.465 → 0.501 → 0.212 in the random VGG-19 (photo 0.508) and 0.749 → 0.735 → 0.634
    # → 0.372 in the random multi-scale network (photo 0.752).
    "fast-paintings": StyleRecipe(
        "fast", "fast-cin", "fast style transfer: starry_night and the_scream in one network (CIN), mixable",
        num_steps=10000, overrides=("styles=starry_night,the_scream", "width=16", "image_size=96",
                                   "style_statistics=mean_cov", "norm_lr_scale=10"), keep="net"),
    # The AdaIN decoder for any painting, trained on the bundled paintings and textures. AdaIN at
    # relu3_1: in a CPU budget of minutes a relu4_1 decoder was still drawing grey blurs. With the
    # identity loss (identity_weight=10, the preset's default) the decoder keeps the photo's
    # detail and loses most of the horizontal streaks the feature losses alone left; at 3,000
    # steps style distance 0.031 and content distance 0.61, against 0.039 and 0.64 without it.
    # Continued to 6,000 steps it drew a grid of vertical lines over every picture (style 0.032,
    # content 0.58), so the recipe stays at 3,000. A total-variation term (tv_weight=10) took most
    # of the remaining grid away: style 0.024, content 0.64.
    "adain-decoder": StyleRecipe(
        "adain", "adain-relu3", "AdaIN decoder (relu3_1, half width): any painting; trained on bundled paintings "
        "and textures", num_steps=3000, overrides=("image_size=96", "lr=0.001", "tv_weight=10"), keep="decoder"),
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
               resume: bool = False) -> dict[str, Any]:
    """Train ``recipe``, ship its inference module as ``zoo/NAME.safetensors`` and return its entry.

    With ``resume`` the run in ``runs/NAME`` continues to the recipe's steps; the recorded training
    time adds this run's to the one the manifest holds.
    """
    from atelier.api import load
    from atelier.style.training import train_style

    # 1. Train.
    steps = num_steps or recipe.num_steps
    config = TrainConfig(num_steps=steps, batch_size=recipe.batch_size, seed=recipe.seed,
                         sample_every=max(steps // 4, 1), eval_every=0, checkpoint_every=200, tensorboard=False)
    start = time.perf_counter()
    result = train_style(recipe.method, data=list(TRAIN_PHOTOS), out=runs / name, preset=recipe.preset,
                         overrides=recipe.overrides, train_config=config, resume=resume)
    seconds = time.perf_counter() - start
    if resume and name in zoo.read_manifest():
        seconds += zoo.read_manifest()[name].recipe.get("train_seconds", 0.0)
    # 2. Keep what inference needs.
    full = load_checkpoint(result.checkpoint)
    path = zoo.ZOO_DIR / f"{name}.safetensors"
    save_checkpoint(path, kind=full.kind, config=full.config, modules={recipe.keep: _State(full.module_state(recipe.keep))},
                    step=full.step, extra={k: full.meta[k] for k in ("data_fingerprint", "train_config", "provenance", "history")})
    if path.stat().st_size > MAX_BYTES:
        raise AtelierError(f"{path.name} is {path.stat().st_size:,} bytes, over the {MAX_BYTES:,} limit")
    # 3. Measure on the held-out photo.
    model = load(path)
    metrics = measure(model, recipe.method)
    return {
        "file": path.name, "kind": full.kind, "description": recipe.description,
        "recipe": {**asdict(recipe), "num_steps": steps, "data": f"bundled photos except {HELD_OUT}",
                   "command": f"python -m atelier.style.recipes {name}", "train_seconds": round(seconds, 1),
                   "machine": f"{torch.get_num_threads()} threads, torch {torch.__version__}"},
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
    args = parser.parse_args(argv)
    try:
        for name in args.names or list(RECIPES):
            if name not in RECIPES:
                raise choose_one("style recipe", name, RECIPES)
            entry = run_recipe(name, RECIPES[name], Path(args.runs), num_steps=args.num_steps, resume=args.resume)
            record_entry(name, entry, zoo.ZOO_DIR / entry["file"])
            print(f"{name}: {json.dumps(entry['metrics'])}")
    except AtelierError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
