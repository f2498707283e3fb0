"""How far a stylized picture is from its painting (style) and from its photo (content).

Both distances are relative squared errors in a backbone's feature space, averaged over its
layers, so 0 means identical and the numbers compare across layers, sizes and backbones:

    style distance   = mean_l |G_l(x) - G_l(s)|^2 / |G_l(s)|^2   over the backbone's style layers
    content distance = mean_l |F_l(x) - F_l(c)|^2 / |F_l(c)|^2   over its content layers

with G the Gram matrix (Gatys et al. 2016). The painting is resized so that its long side is the
picture's, the photo to the picture's size, as every method in Atelier does before painting.

>>> import torch
>>> from atelier.style.features import build_backbone
>>> net = build_backbone("random-multiscale")
>>> photo = torch.rand(1, 3, 32, 32)
>>> content_distance(photo, photo, backbone=net)
0.0
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from atelier.style.data import resize_long_side
from atelier.style.features import FeatureNet, build_backbone
from atelier.style.losses import gram_matrix


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
