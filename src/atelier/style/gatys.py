"""Neural style transfer by optimisation (Gatys, Ecker & Bethge 2016, CVPR).

The picture itself is the parameter: starting from the photo (or noise), gradient steps move its
pixels until its features match the photo's content and its Gram matrices match the painting's.
Slow (seconds to minutes on a CPU) but needs no training and takes any style.

Objective (the paper's eq. 7, plus a smoothness prior), for output x, photo p, paintings s_k:

    L(x) = a * sum_l |F_l(x) - F_l(p)|^2 / |F_l(p)|^2                      content
         + b * sum_l w_l * |G_l(x) - sum_k v_k G_l(s_k)|^2 / |G_l(s)|^2     style
         + c * TV(x)                                                         smoothness

with a, b, c = ``content_weight``, ``style_weight``, ``tv_weight``; w_l the layer
weights and v_k the style ``weights``. Each term is divided by the energy of its target so the
weights mean the same thing for every backbone, layer and image size. With region masks the
style term becomes a sum over regions k of the masked Gram of x against the Gram of s_k alone
(Gatys et al. 2017, "Controlling Perceptual Factors in Neural Style Transfer").

Coarse to fine: the picture is optimised at each size in ``scales`` (long side in pixels), each
pass starting from the previous one upsampled, so large structures form at the small size where
they are cheap and strokes sharpen at the large one (Gatys et al. 2017, section 5).

>>> import torch
>>> from dataclasses import replace
>>> photo, painting = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 40, 40)
>>> config = replace(GATYS_PRESETS["fast"], scales=(32,), num_steps=3)
>>> image, history = stylize_gatys(photo, [painting], config=config, progress=False)
>>> tuple(image.shape), len(history)
((1, 3, 32, 32), 3)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm.auto import tqdm

from atelier.errors import AtelierError, choose_one
from atelier.style.features import DEFAULT_BACKBONE, FeatureNet, build_backbone
from atelier.style.losses import (
    content_loss,
    energy,
    gram_matrix,
    match_histograms,
    preserve_color_luminance,
    tv_loss,
)

# ---------------------------------------------------------------------------------------------
# Config and presets
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GatysConfig:
    """How to optimise. Change with ``dataclasses.replace``; layers default to the backbone's."""

    content_weight: float = 1.0  # relative: each term is divided by its target's energy
    # Energy-normalised style terms are nearly met at 10: 100 and 1,000 changed the style
    # distance of astronaut x The Scream by 3% (Lite0, 256 px).
    style_weight: float = 10.0
    tv_weight: float = 1.0  # on pixel differences in [0, 1]
    content_layers: tuple[str, ...] | None = None  # None: backbone.content_layers
    style_layers: tuple[str, ...] | None = None  # None: backbone.style_layers
    style_layer_weights: tuple[float, ...] | None = None  # None: equal, summing to 1
    optimizer: str = "lbfgs"  # "lbfgs" (Gatys et al.) or "adam"
    num_steps: int = 60  # at each scale
    lr: float = 1.0  # L-BFGS step; for Adam ~0.02 (pixel units)
    init: str = "content"  # "content" keeps the photo's detail; "noise" is the paper's choice
    # Long side in px, coarse to fine; the last is the output. With EfficientNet-Lite0 three
    # passes of 60 steps painted astronaut x The Scream far more than two of 80 in the same time
    # (style distance 0.62 vs 1.03 in the random VGG-19, photo 1.72; 11 s vs 10 s, 2 threads).
    scales: tuple[int, ...] = (64, 128, 256)
    style_scale: float = 1.0  # long side of each painting relative to the output's

    def __post_init__(self) -> None:
        if self.optimizer not in ("lbfgs", "adam"):
            raise choose_one("optimizer", self.optimizer, ("adam", "lbfgs"))
        if self.init not in ("content", "noise"):
            raise choose_one("init", self.init, ("content", "noise"))
        for field in ("content_weight", "style_weight", "tv_weight"):
            if getattr(self, field) < 0:
                raise AtelierError(f"{field} is {getattr(self, field)}; it must be >= 0")
        if self.num_steps < 1 or self.lr <= 0 or self.style_scale <= 0:
            raise AtelierError(
                f"num_steps={self.num_steps}, lr={self.lr}, style_scale={self.style_scale}; "
                "each must be > 0"
            )
        if not self.scales or any(s < 16 for s in self.scales):
            raise AtelierError(f"scales {self.scales} must be one or more sizes of >= 16 px")
        if self.style_layer_weights is not None and (
            self.style_layers is None or len(self.style_layer_weights) != len(self.style_layers)
        ):
            raise AtelierError(
                "style_layer_weights needs style_layers of the same length, "
                f"got {self.style_layer_weights} for {self.style_layers}"
            )


GATYS_PRESETS: dict[str, GatysConfig] = {
    # 64, 128 then 256 px with L-BFGS on EfficientNet-Lite0: about 10 s on 2 CPU cores.
    "default": GatysConfig(),
    # Two short passes: a quick preview.
    "fast": GatysConfig(scales=(128, 256), num_steps=30),
    # Four passes up to 512 px.
    "quality": GatysConfig(scales=(64, 128, 256, 512)),
    # Adam instead of L-BFGS: no curvature history to go wrong, but it needed 300 steps and
    # 3x the time to reach L-BFGS's loss at 100 (astronaut + Starry Night, 128 px).
    "adam": GatysConfig(optimizer="adam", lr=0.02, num_steps=300),
}


@dataclass(frozen=True)
class GatysStep:
    """Loss terms of the picture one optimisation step started from, already weighted.

    ``total`` also holds the small penalty that keeps pixels in [0, 1].
    """

    step: int  # counted over all scales
    scale: int  # long side of the picture, px
    total: float
    content: float
    style: float
    tv: float


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _check_image(name: str, img: object, *, batch_one: bool = False) -> Tensor:
    if (
        not isinstance(img, Tensor)
        or img.ndim != 4
        or img.shape[1] != 3
        or (batch_one and img.shape[0] != 1)
        or not img.is_floating_point()
    ):
        shape = tuple(img.shape) if isinstance(img, Tensor) else type(img).__name__
        expected = "(1, 3, H, W)" if batch_one else "(N, 3, H, W)"
        raise AtelierError(f"{name} is {shape}; expected a float tensor {expected} in [0, 1]")
    if img.numel() and (img.min() < 0 or img.max() > 1):
        raise AtelierError(
            f"{name} has values in [{float(img.min()):.3g}, {float(img.max()):.3g}]; expected [0, 1]"
        )
    return img


def _check_inputs(
    content: Tensor,
    styles: Sequence[Tensor],
    weights: Sequence[float] | None,
    mask: Tensor | None,
    strength: float,
    preserve_color: str | None,
) -> None:
    _check_image("content", content)
    if isinstance(styles, Tensor) or not styles:
        raise AtelierError("styles must be a non-empty list of images (1, 3, H, W)")
    for k, s in enumerate(styles):
        _check_image(f"styles[{k}]", s, batch_one=True)
    if weights is not None and mask is not None:
        raise AtelierError(
            "pass weights (blend styles everywhere) or mask (one style per region), not both"
        )
    if weights is not None:
        if len(weights) != len(styles):
            raise AtelierError(f"weights has {len(weights)} values for {len(styles)} styles")
        if any(not math.isfinite(w) or w < 0 for w in weights) or sum(weights) <= 0:
            raise AtelierError(f"weights {list(weights)} must be >= 0 with a positive sum")
    if mask is not None:
        expected = (len(styles), *content.shape[-2:])
        if not isinstance(mask, Tensor) or tuple(mask.shape) != expected:
            found = tuple(mask.shape) if isinstance(mask, Tensor) else type(mask).__name__
            raise AtelierError(f"mask is {found}; expected (styles, H, W) = {expected}")
        if mask.min() < 0 or mask.max() > 1:
            raise AtelierError("mask values must lie in [0, 1]")
    if not 0.0 <= strength <= 1.0:
        raise AtelierError(f"strength is {strength}; it must be between 0 and 1")
    if preserve_color not in (None, "luminance", "histogram"):
        raise choose_one("preserve_color", preserve_color, ("histogram", "luminance"))  # or None: the style's colours


def _fit(hw: Sequence[int], long_side: float) -> tuple[int, int]:
    """(h, w) scaled so that max(h, w) == long_side, keeping the aspect ratio."""
    s = long_side / max(hw)
    return max(1, round(hw[0] * s)), max(1, round(hw[1] * s))


def _resize(img: Tensor, size: tuple[int, int]) -> Tensor:
    if tuple(img.shape[-2:]) == size:
        return img
    antialias = size[0] < img.shape[-2]  # smooth before shrinking, as a camera would
    return F.interpolate(img, size=size, mode="bilinear", align_corners=False, antialias=antialias)



@dataclass
class _Targets:
    """What the picture is pulled towards at one scale."""

    content: dict[str, Tensor]  # F_l(photo), (N, C, h_l, w_l)
    # One entry for blended styles, one per region with masks: (mask (h, w) or None, A_l (1, C, C))
    regions: list[tuple[Tensor | None, dict[str, Tensor]]]


@torch.no_grad()
def _targets(
    net: FeatureNet,
    photo: Tensor,
    styles: Sequence[Tensor],
    mix: Sequence[float],
    mask: Tensor | None,
    style_long_side: float,
    content_layers: Sequence[str],
    style_layers: Sequence[str],
) -> _Targets:
    grams = []
    for s in styles:
        feats = net(_resize(s, _fit(s.shape[-2:], style_long_side)), style_layers)
        grams.append({l: gram_matrix(f) for l, f in feats.items()})
    if mask is None:  # blend the target Grams: sum_k v_k G_l(s_k)
        regions = [(None, {l: sum(v * g[l] for v, g in zip(mix, grams)) for l in style_layers})]
    else:
        m = _resize(mask.unsqueeze(0).to(photo), tuple(photo.shape[-2:]))[0]  # (K, h, w)
        regions = [(m[k], grams[k]) for k in range(len(styles))]
    return _Targets(content=net(photo, content_layers), regions=regions)


# Pixels are kept in [0, 1] by a stiff quadratic penalty rather than by clamping after each step:
# clamping moves the picture behind L-BFGS's back, its curvature pairs go wrong and the loss
# diverges (measured: 30 -> 750 within 20 steps on a 32 px test). 1e3 keeps pixels within 0.02
# of the range without slowing convergence; the result is clamped once at the end of each scale.
_RANGE_WEIGHT = 1e3


def _objective(
    net: FeatureNet,
    x: Tensor,
    targets: _Targets,
    style_layer_weights: dict[str, float],
    a: float,
    b: float,
    c: float,
) -> tuple[Tensor, dict[str, float]]:
    """The module docstring's L(x), and its three weighted terms as floats for the history."""
    feats = net(x, set(targets.content) | set(style_layer_weights))
    content = sum(
        (content_loss({l: feats[l]}, {l: t}) / energy(t) for l, t in targets.content.items()),
        torch.tensor(0.0),
    )
    style = torch.tensor(0.0)
    for m, grams in targets.regions:
        for l, w in style_layer_weights.items():
            f = feats[l]  # (N, C, h_l, w_l)
            region = None if m is None else F.adaptive_avg_pool2d(m[None, None], f.shape[-2:])[0, 0]
            g = gram_matrix(f, region)  # (N, C, C)
            style = style + w * F.mse_loss(g, grams[l].expand_as(g)) / energy(grams[l])
    tv = tv_loss(x)
    out_of_range = (x - x.detach().clamp(0, 1)).pow(2).mean()
    loss = a * content + b * style + c * tv + _RANGE_WEIGHT * out_of_range
    return loss, {"content": a * content.item(), "style": b * style.item(), "tv": c * tv.item()}


def _optimizer(config: GatysConfig, x: Tensor) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam([x], lr=config.lr)
    # One iteration per step() call so that the bar ticks per step; the optimiser keeps its
    # curvature history between calls. No tolerances: the step count decides when to stop.
    return torch.optim.LBFGS(
        [x], lr=config.lr, max_iter=1, history_size=50, tolerance_grad=0.0, tolerance_change=0.0
    )


# ---------------------------------------------------------------------------------------------
# Stylize
# ---------------------------------------------------------------------------------------------


def stylize_gatys(
    content: Tensor,
    styles: Sequence[Tensor],
    *,
    weights: Sequence[float] | None = None,
    config: GatysConfig = GATYS_PRESETS["default"],
    backbone: FeatureNet | str = DEFAULT_BACKBONE,
    seed: int = 0,
    strength: float = 1.0,
    preserve_color: str | None = None,
    mask: Tensor | None = None,
    progress: bool = True,
    on_step: Callable[[GatysStep, int], None] | None = None,
) -> tuple[Tensor, list[GatysStep]]:
    """Paint ``content`` (N, 3, H, W) in the style of ``styles`` (each (1, 3, h, w)), all in [0, 1].

    Returns the picture, whose long side is ``config.scales[-1]`` (the photo's aspect ratio; each
    painting is resized to ``style_scale`` times that, whatever its own size), and the loss after
    every step.

    * ``weights``: blend several styles by mixing their Gram matrices (default: equal).
    * ``mask`` (K, H, W) in [0, 1], one map per style over the photo: region k is painted in
      style k alone. Not combined with ``weights``.
    * ``strength`` in [0, 1] cross-fades the photo (0) into the painted picture (1). Scaling
      the style weight instead was tried and does nothing visible: style losses normalised by
      their targets are met almost fully at 0.25x the weight as at 1x
      (docs/images/gatys-strength.png: 0.25, 0.5, 1 by weight, then 0.5 by cross-fade).
      At 0 nothing is optimised and the history is empty.
    * ``preserve_color``: ``"luminance"`` keeps the photo's colours under the painted luminance;
      ``"histogram"`` first recolours each painting to the photo's colour histograms.
    * ``backbone``: a :class:`FeatureNet` or a name for :func:`build_backbone` (built with
      ``seed``). ``seed`` also drives ``init="noise"``.
    * ``on_step(step, total)``: called after every optimisation step with its :class:`GatysStep`
      and the number of steps over all scales (a progress bar or a queue's report); an exception
      it raises stops the optimisation and propagates, which is how a caller cancels.

    >>> import torch
    >>> from dataclasses import replace
    >>> photo = torch.rand(1, 3, 32, 48)
    >>> left = torch.zeros(2, 32, 48); left[0, :, :24] = 1; left[1, :, 24:] = 1
    >>> config = replace(GATYS_PRESETS["fast"], scales=(24,), num_steps=2)
    >>> out, _ = stylize_gatys(photo, [torch.rand(1, 3, 16, 16), torch.rand(1, 3, 20, 20)],
    ...                        mask=left, config=config, progress=False)
    >>> tuple(out.shape)
    (1, 3, 16, 24)
    """
    # 1. Check inputs.
    _check_inputs(content, styles, weights, mask, strength, preserve_color)

    # 2. Feature network, layers, weights, colours.
    net = build_backbone(backbone, seed=seed) if isinstance(backbone, str) else backbone
    content_layers = config.content_layers or net.content_layers
    style_layers = config.style_layers or net.style_layers
    layer_w = config.style_layer_weights or (1.0 / len(style_layers),) * len(style_layers)
    mix = [1.0 / len(styles)] * len(styles) if weights is None else [w / sum(weights) for w in weights]
    if preserve_color == "histogram":
        styles = [match_histograms(s, content) for s in styles]
    a, b, c = config.content_weight, config.style_weight, config.tv_weight
    if strength == 0:
        return _resize(content, _fit(content.shape[-2:], config.scales[-1])), []

    history: list[GatysStep] = []
    total = config.num_steps * len(config.scales)
    bar = tqdm(total=total, desc="gatys", disable=not progress)
    x = torch.empty(0)
    for i, long_side in enumerate(config.scales):
        # 3. Targets at this scale.
        photo = _resize(content, _fit(content.shape[-2:], long_side))
        targets = _targets(
            net, photo, styles, mix, mask, long_side * config.style_scale, content_layers, style_layers
        )

        # 4. Starting picture: the photo, noise, or the previous scale's result upsampled.
        if i > 0:
            x = _resize(x, tuple(photo.shape[-2:]))
        elif config.init == "content":
            x = photo.clone()
        else:
            x = torch.rand(photo.shape, generator=torch.Generator().manual_seed(seed)).to(photo)
        x.requires_grad_(True)

        # 5. Optimise. L-BFGS without line search (as in Gatys et al.) sometimes jumps to a far
        # worse picture and takes a few steps to come back (seen from flat starts), so the best
        # picture seen is what this scale returns. (Restarting from it after a jump was tried:
        # the fresh optimiser jumped again and converged more slowly. Strong-Wolfe line search
        # stalled in float32.)
        opt = _optimizer(config, x)
        best_loss, best_x = math.inf, x.detach().clone()
        for _ in range(config.num_steps):
            terms: dict[str, float] = {}

            def closure() -> Tensor:
                nonlocal best_loss, best_x
                opt.zero_grad()
                loss, parts = _objective(net, x, targets, dict(zip(style_layers, layer_w)), a, b, c)
                loss.backward()
                terms.update(parts, total=loss.item())
                if terms["total"] < best_loss:
                    best_loss, best_x = terms["total"], x.detach().clone()
                return loss

            opt.step(closure)  # the closure saw x before the step
            history.append(GatysStep(step=len(history), scale=long_side, **terms))
            bar.update(1)
            bar.set_postfix({k: f"{v:.3g}" for k, v in terms.items() if k != "total"})
            if on_step is not None:
                on_step(history[-1], total)
        x = best_x.clamp(0, 1)
    bar.close()

    # 6. Colour and strength.
    photo = _resize(content, tuple(x.shape[-2:]))
    if preserve_color == "luminance":
        x = preserve_color_luminance(photo, x)
    return torch.lerp(photo, x, strength), history
