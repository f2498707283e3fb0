"""How far a stylized picture is from its painting (style) and from its photo (content).

Both distances are relative squared errors in a backbone's feature space, averaged over its
layers, so 0 means identical and the numbers compare across layers, sizes and backbones:

    style distance   = mean_l |G_l(x) - G_l(s)|^2 / |G_l(s)|^2   over the backbone's style layers
    content distance = mean_l |F_l(x) - F_l(c)|^2 / |F_l(c)|^2   over its content layers

with G the Gram matrix (Gatys et al. 2016). The painting is resized so that its long side is the
picture's, the photo to the picture's size, as every method in Atelier does before painting.

:func:`stylization_report` is how ``atelier evaluate`` scores a style model: the held-out photos
painted in each style, measured in two feature networks no method in Atelier is optimised in.

>>> import torch
>>> from atelier.style.features import build_backbone
>>> net = build_backbone("random-multiscale")
>>> photo = torch.rand(1, 3, 32, 32)
>>> content_distance(photo, photo, backbone=net)
0.0
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from atelier.data.photos import HELD_OUT_PHOTOS, load_photos, resize_long_side
from atelier.family import EvaluationReport
from atelier.style.features import FeatureNet, build_backbone
from atelier.style.losses import gram_matrix

# The judges of stylization_report: random networks, so no method was trained or optimised in them.
JUDGES = ("random-vgg19", "random-multiscale")
EVAL_SIZE = 128  # long side of the held-out photos a style model is scored on, px (a few seconds on a CPU)


def _net(backbone: FeatureNet | str) -> FeatureNet:
    return build_backbone(backbone) if isinstance(backbone, str) else backbone


def _relative(a: Tensor, b: Tensor) -> float:
    return float((a - b).pow(2).mean() / b.pow(2).mean().clamp_min(1e-12))


@torch.no_grad()
def style_distance(image: Tensor, style: Tensor, *, backbone: FeatureNet | str = "random-vgg19") -> float:
    """Relative Gram distance between ``image`` (1, 3, H, W) and the painting ``style`` (1, 3, h, w)."""
    net = _net(backbone)
    style = resize_long_side(style, max(image.shape[-2:]))
    fx, fs = net(image, net.style_layers), net(style, net.style_layers)
    return sum(_relative(gram_matrix(fx[l]), gram_matrix(fs[l])) for l in net.style_layers) / len(net.style_layers)


@torch.no_grad()
def content_distance(image: Tensor, content: Tensor, *, backbone: FeatureNet | str = "random-vgg19") -> float:
    """Relative feature distance between ``image`` (1, 3, H, W) and the photo ``content``."""
    net = _net(backbone)
    if tuple(content.shape[-2:]) != tuple(image.shape[-2:]):
        content = F.interpolate(content, size=image.shape[-2:], mode="bilinear", align_corners=False, antialias=True)
    fx, fc = net(image, net.content_layers), net(content, net.content_layers)
    return sum(_relative(fx[l], fc[l]) for l in net.content_layers) / len(net.content_layers)


def style_content_distances(image: Tensor, content: Tensor, styles: Sequence[Tensor],
                            weights: Sequence[float] | None = None, *,
                            backbone: FeatureNet | str = "random-vgg19") -> dict[str, float]:
    """``{"style_distance", "content_distance"}``; with several styles, the weighted mean style distance."""
    net = _net(backbone)
    weights = list(weights) if weights is not None else [1.0 / len(styles)] * len(styles)
    style = sum(w * style_distance(image, s, backbone=net) for w, s in zip(weights, styles))
    return {"style_distance": style, "content_distance": content_distance(image, content, backbone=net)}


@torch.no_grad()
def stylization_report(
    paint: Callable[[Tensor, str], Tensor],
    paintings: Mapping[str, Tensor],
    *,
    name: str,
    kind: str,
    photos: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
    size: int = EVAL_SIZE,
    judges: Sequence[str] = JUDGES,
) -> EvaluationReport:
    """Score a style model: ``paint(photo, painting_name)`` for every photo and painting, measured in
    each judge network (``key`` = its name with ``_`` for ``-``):

    * ``style_distance_KEY``: the output's style distance to its painting, the mean over all pictures;
    * ``photo_style_distance_KEY``: the photo's own, the baseline the model should bring down;
    * ``content_distance_KEY``: the output's content distance to its photo.

    ``photos`` are the bundled held-out ones (:data:`~atelier.data.photos.HELD_OUT_PHOTOS`) unless
    given (names, files or folders); each is scaled to ``size`` px on its long side.

    >>> paintings = {"flat": torch.full((1, 3, 32, 32), 0.5)}
    >>> report = stylization_report(lambda photo, n: photo, paintings, name="identity", kind="demo",
    ...                             photos=["coffee"], size=32, judges=["random-multiscale"])
    >>> report.metrics["content_distance_random_multiscale"], report.num_samples
    (0.0, 1)
    """
    # 1. The photos, and the model's picture of each in each painting.
    if photos is None:
        photos = list(HELD_OUT_PHOTOS)
    pictures = [resize_long_side(p[None].float() / 255, size) for p in load_photos(photos)]  # (1, 3, h, w) each
    outputs = [(photo, n, paint(photo, n).cpu()) for photo in pictures for n in paintings]
    # 2. Distances in each judge, averaged over every picture.
    metrics: dict[str, float] = {}
    for judge in judges:
        net, key = build_backbone(judge), judge.replace("-", "_")
        rows = [(style_distance(out, paintings[n], backbone=net), style_distance(photo, paintings[n], backbone=net),
                 content_distance(out, photo, backbone=net)) for photo, n, out in outputs]
        for i, metric in enumerate(("style_distance", "photo_style_distance", "content_distance")):
            metrics[f"{metric}_{key}"] = sum(r[i] for r in rows) / len(rows)
    where = "held-out photos " + ", ".join(HELD_OUT_PHOTOS) if photos == list(HELD_OUT_PHOTOS) else str(photos)
    notes = [f"each of {len(pictures)} photo(s) at {size} px in each of: {', '.join(paintings)}",
             "style: relative Gram distance to the painting (0 = its statistics; the photo's own is the baseline); "
             "content: relative feature distance to the photo; both in random networks no method was optimised in"]
    return EvaluationReport(model=name, kind=kind, data=where, num_samples=len(outputs), metrics=metrics, notes=notes)
