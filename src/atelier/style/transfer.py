"""Style transfer on pictures given any way: one function per method, each with its own options.

* :func:`paint_gatys` optimises the picture itself (:mod:`atelier.style.gatys`); any painting,
  slow. Its own options are a :class:`GatysOptions`.
* :func:`paint_fast` runs a trained transformation network (:mod:`atelier.style.feedforward`);
  only the styles it was trained on, mixed by weight; a fraction of a second.
* :func:`paint_adain` runs a trained AdaIN decoder (:mod:`atelier.style.adain`); any painting,
  about a second.

Every method takes the same :class:`StylizeControls`: style weights, strength, colour
preservation, a region mask, the output's size, and how pictures are read. Photos and paintings
are image files, bundled names (``starry_night``, ``the_scream``, ``shipwreck``, ``chelsea``…),
PIL images or tensors; for the fast network, styles name the model's own. Each returns a
:class:`StylizeResult`: the picture, and what made it for the output file's metadata.

Masks are label pictures of the content's size (or at least its aspect ratio): each distinct
grey level or colour is a region, numbered in ascending order (black first), and region i is
painted in style i. A mask is resized to the output with nearest-neighbour sampling.

:func:`atelier.stylize` is the dispatcher over these that takes shipped models by name.

>>> import torch
>>> result = paint_gatys(torch.rand(1, 3, 48, 64), ["the_scream"], controls=StylizeControls(size=32),
...                      options=GatysOptions(preset="fast", num_steps=2))
>>> result.image.size, result.metadata["method"]
((32, 24), 'gatys')
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from atelier.data.photos import is_builtin, load_image, not_found, resize_long_side, to_image, to_tensor
from atelier.errors import AtelierError, choose_one
from atelier.imageio import DEFAULT_MAX_PIXELS, read_image
from atelier.style import control
from atelier.style.features import BACKBONES, DEFAULT_BACKBONE, FeatureNet, build_backbone
from atelier.style.gatys import GATYS_PRESETS, GatysConfig, GatysStep, stylize_gatys
from atelier.zoo import sha256_file

if TYPE_CHECKING:
    from atelier.style.adain import AdaINModel
    from atelier.style.feedforward import FastStyleModel

METHODS = ("gatys", "fast", "adain")
DEFAULT_SIZE = 512  # long side of the output when the photo is larger (fast, adain)
MAX_SIZE = 4096  # long side; a 4096 px picture takes ~1 GB in the networks, larger is a mistake

StyleInput = str | os.PathLike | Image.Image | Tensor


@dataclass(frozen=True)
class StylizeResult:
    """The picture, as PIL image and tensor, and what made it (for the output file's metadata)."""

    image: Image.Image  # RGB, or RGBA with the photo's alpha when keep_alpha
    tensor: Tensor  # (1, 3, H, W) in [0, 1]
    metadata: dict[str, Any]


# ---------------------------------------------------------------------------------------------
# The options
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StylizeControls:
    """What every method takes besides its styles; each field is checked here, before any file is read.

    >>> StylizeControls(weights=[3, 1]).mix(2)
    [0.75, 0.25]
    >>> StylizeControls(strength=2.0)
    Traceback (most recent call last):
    atelier.errors.AtelierError: strength is 2.0; it must be between 0 and 1
    """

    weights: Sequence[float] | None = None  # one per style, >= 0 with a positive sum (normalised); None: equal
    strength: float = 1.0  # 0 = the photo, 1 = the full style
    preserve_color: str | None = None  # None, "luminance" or "histogram"
    # A label picture (file, PIL image or (H, W) array) with one level per style, or region maps
    # (K, H, W) in [0, 1]. Not combined with weights.
    mask: Any = None
    size: int | None = None  # the output's long side, px (16 to MAX_SIZE); None: the method's default
    seed: int = 0  # Gatys: the random backbones and noise; the trained networks are deterministic
    max_pixels: int = DEFAULT_MAX_PIXELS  # decompression-bomb guard for every picture read
    keep_alpha: bool = False  # give the output the photo's transparency (else flattened onto white)

    def __post_init__(self) -> None:
        object.__setattr__(self, "strength", control.check_strength(self.strength))
        control.check_preserve_color(self.preserve_color)
        if self.weights is not None:
            weights = tuple(float(w) for w in self.weights)
            control.normalise_weights(weights, num_styles=len(weights))  # >= 0, a positive sum
            object.__setattr__(self, "weights", weights)
        if self.weights is not None and self.mask is not None:
            raise AtelierError("pass weights (blend styles everywhere) or a mask (one style per region), not both")
        if self.size is not None and (isinstance(self.size, bool) or not isinstance(self.size, int)
                                      or not 16 <= self.size <= MAX_SIZE):
            raise AtelierError(f"size is {self.size}; the output's long side must be a whole number of pixels "
                               f"from 16 to {MAX_SIZE}")
        if self.max_pixels <= 0:
            raise AtelierError(f"max_pixels must be positive, got {self.max_pixels}")

    def mix(self, num_styles: int) -> list[float]:
        """The weights for ``num_styles`` styles, summing to 1 (equal when none were given)."""
        return control.normalise_weights(self.weights, num_styles=num_styles)


@dataclass(frozen=True)
class GatysOptions:
    """Gatys's own options: the optimisation (a preset name or a :class:`GatysConfig`) and its feature network.

    >>> GatysOptions(preset="fast", num_steps=5).config(size=64).scales
    (32, 64)
    """

    preset: str | GatysConfig = "default"  # a name in GATYS_PRESETS, or a config
    num_steps: int | None = None  # optimisation steps per scale (None: the preset's)
    backbone: str | FeatureNet = DEFAULT_BACKBONE  # a name in BACKBONES, or a built feature network
    vgg_weights: str | os.PathLike | None = None  # ImageNet weights for backbone "vgg19"
    progress: bool = False
    # Called after every step with its losses and the steps in all (see stylize_gatys); raising stops it.
    on_step: Callable[[GatysStep, int], None] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.preset, GatysConfig) and self.preset not in GATYS_PRESETS:
            raise choose_one("gatys preset", self.preset, GATYS_PRESETS)
        if self.num_steps is not None and self.num_steps < 1:
            raise AtelierError(f"num_steps is {self.num_steps}; it must be at least 1")
        if isinstance(self.backbone, str) and self.backbone not in BACKBONES:
            raise choose_one("backbone", self.backbone, BACKBONES)

    def config(self, size: int | None) -> GatysConfig:
        """The preset with ``num_steps``, its coarse-to-fine scales ending at ``size`` (ratios kept)."""
        config = self.preset if isinstance(self.preset, GatysConfig) else GATYS_PRESETS[self.preset]
        if size is not None:
            factor = size / config.scales[-1]
            config = dataclasses.replace(config, scales=tuple(max(16, round(s * factor)) for s in config.scales[:-1])
                                         + (size,))
        if self.num_steps is not None:
            config = dataclasses.replace(config, num_steps=self.num_steps)
        return config

    def feature_net(self, seed: int) -> FeatureNet:
        if not isinstance(self.backbone, str):
            return self.backbone
        weights = {"weights": self.vgg_weights} if self.backbone == "vgg19" else {}
        return build_backbone(self.backbone, seed=seed, **weights)


# ---------------------------------------------------------------------------------------------
# One function per method
# ---------------------------------------------------------------------------------------------


def paint_gatys(content: StyleInput, styles: Sequence[StyleInput] | StyleInput, *,
                controls: StylizeControls = StylizeControls(), options: GatysOptions = GatysOptions()) -> StylizeResult:
    """Paint ``content`` after the paintings ``styles`` by optimising the picture
    (:func:`~atelier.style.gatys.stylize_gatys`). The output's long side is ``controls.size``
    (default: the preset's last scale)."""
    # 1. Check what the pictures must match.
    styles = _as_list(styles, method="gatys")
    mix = controls.mix(len(styles))
    config = options.config(controls.size)
    # 2. Read the photo (at the output's size), the paintings and the mask.
    canvas = _Canvas.open(content, controls, method="gatys", long_side=config.scales[-1])
    paintings = canvas.read_paintings(styles)
    regions = canvas.regions(len(styles))
    # 3. Paint.
    net = options.feature_net(controls.seed)
    if isinstance(options.backbone, str):
        canvas.meta["backbone"] = options.backbone
    canvas.meta["preset"] = options.preset if isinstance(options.preset, str) else "custom"
    out, history = stylize_gatys(canvas.photo, paintings, weights=None if regions is not None else mix, config=config,
                                 backbone=net, seed=controls.seed, strength=controls.strength,
                                 preserve_color=controls.preserve_color, mask=regions, progress=options.progress,
                                 on_step=options.on_step)
    if history:  # strength 0 optimises nothing
        canvas.meta["final_loss"] = round(history[-1].total, 6)
    return canvas.finish(out, mix)


def paint_fast(content: StyleInput, styles: Sequence[StyleInput] | StyleInput | None, model: FastStyleModel, *,
               controls: StylizeControls = StylizeControls()) -> StylizeResult:
    """Paint ``content`` with a trained fast-style network in its own ``styles`` (names, or files named
    like them); none: the model's only style, or all of them mixed by ``controls.weights``."""
    # 1. Which of the model's styles.
    names = [_fast_style_name(model, s) for s in _as_list(styles, method=None)]
    if not names:
        names = list(model.style_names)
        if len(names) > 1 and controls.weights is None and controls.mask is None:
            raise AtelierError(f"the fast model holds {len(names)} styles ({', '.join(names)}); "
                               "choose with --style NAME")
    mix = controls.mix(len(names))
    # 2. Read the photo (at the output's size) and the mask.
    canvas = _Canvas.open(content, controls, method="fast")
    canvas.meta["styles"] = names
    regions = canvas.regions(len(names))
    # 3. Paint.
    out = model.stylize(canvas.photo, names, weights=None if regions is not None else mix, strength=controls.strength,
                        preserve_color=controls.preserve_color, mask=regions)
    return canvas.finish(out, mix)


def paint_adain(content: StyleInput, styles: Sequence[StyleInput] | StyleInput, model: AdaINModel, *,
                controls: StylizeControls = StylizeControls()) -> StylizeResult:
    """Paint ``content`` after any paintings ``styles`` with a trained AdaIN decoder."""
    # 1. Check what the pictures must match.
    styles = _as_list(styles, method="adain")
    mix = controls.mix(len(styles))
    # 2. Read the photo (at the output's size), the paintings and the mask.
    canvas = _Canvas.open(content, controls, method="adain")
    paintings = canvas.read_paintings(styles)
    regions = canvas.regions(len(styles))
    # 3. Paint.
    out = model.stylize(canvas.photo, paintings, weights=None if regions is not None else mix,
                        strength=controls.strength, preserve_color=controls.preserve_color, mask=regions)
    return canvas.finish(out, mix)


# ---------------------------------------------------------------------------------------------
# Reading pictures, writing the result
# ---------------------------------------------------------------------------------------------


def _as_list(styles: Any, *, method: str | None) -> list[Any]:
    """Styles as a list (one picture or name becomes a list of one); ``method`` needs at least one."""
    if styles is None:
        styles = []
    elif isinstance(styles, (str, os.PathLike, Image.Image, Tensor)):
        styles = [styles]
    styles = list(styles)
    if method is not None and not styles:
        raise AtelierError(f"method {method!r} needs at least one style picture")
    return styles


def _describe(source: Any) -> dict[str, Any]:
    """How a picture was given, for the metadata: a path with its hash, a bundled name, or its kind."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_file():
            return {"path": str(path), "sha256": sha256_file(path)}
        return {"name": str(source)}
    return {"given": type(source).__name__}


@dataclass
class _Canvas:
    """The photo at the output's size, its transparency, and the metadata the result will carry."""

    photo: Tensor  # (1, 3, H, W) in [0, 1]
    alpha: Tensor | None  # (1, 1, h, w) in [0, 1], at the source's size
    source_hw: tuple[int, int]
    controls: StylizeControls
    meta: dict[str, Any]

    @classmethod
    def open(cls, content: StyleInput, controls: StylizeControls, *, method: str,
             long_side: int | None = None) -> _Canvas:
        """Read the photo (transparency flattened onto white, kept aside with ``keep_alpha``) and scale
        it to ``long_side`` (default: ``controls.size``, else its own size up to ``DEFAULT_SIZE``)."""
        photo, alpha = _read_content(content, max_pixels=controls.max_pixels, keep_alpha=controls.keep_alpha)
        source_hw = tuple(photo.shape[-2:])
        long_side = long_side or controls.size or min(max(source_hw), DEFAULT_SIZE)
        photo = resize_long_side(photo, long_side)
        h, w = photo.shape[-2:]
        if min(h, w) < 8:
            raise AtelierError(f"the output would be {w}×{h} px; the photo is too narrow for size {long_side}")
        meta = {"method": method, "content": _describe(content), "strength": controls.strength,
                "preserve_color": controls.preserve_color, "seed": controls.seed}
        return cls(photo, alpha, source_hw, controls, meta)

    def read_paintings(self, styles: Sequence[StyleInput]) -> list[Tensor]:
        """The style pictures, each (1, 3, h, w) in [0, 1] at its own size."""
        self.meta["styles"] = [_describe(s) for s in styles]
        return [load_image(s, what=f"style {s}" if isinstance(s, (str, os.PathLike)) else f"styles[{k}]",
                           max_pixels=self.controls.max_pixels) for k, s in enumerate(styles)]

    def regions(self, num_styles: int) -> Tensor | None:
        """The mask as region maps (num_styles, H, W) at the output's size, or None."""
        mask = self.controls.mask
        if mask is None:
            return None
        self.meta["mask"] = _describe(mask)
        return _read_mask(mask, num_styles=num_styles, content_hw=self.source_hw,
                          out_hw=tuple(self.photo.shape[-2:]), max_pixels=self.controls.max_pixels)

    def finish(self, out: Tensor, mix: Sequence[float]) -> StylizeResult:
        """The painted tensor as a picture, with the photo's transparency when asked."""
        out = out.detach().cpu().clamp(0, 1)
        image = to_image(out)
        if self.alpha is not None:
            a = torch.nn.functional.interpolate(self.alpha, size=tuple(out.shape[-2:]), mode="bilinear",
                                                align_corners=False)[0, 0]
            image.putalpha(Image.fromarray((a.clamp(0, 1) * 255).round().to(torch.uint8).numpy(), "L"))
        self.meta["weights"] = [round(w, 6) for w in mix] if self.controls.mask is None else None
        self.meta["size"] = list(image.size)
        return StylizeResult(image=image, tensor=out, metadata=self.meta)


def _read_content(content: StyleInput, *, max_pixels: int, keep_alpha: bool) -> tuple[Tensor, Tensor | None]:
    """The photo as (1, 3, H, W) (transparency flattened onto white) and its alpha (1, 1, H, W) if kept."""
    alpha = None
    if isinstance(content, (str, os.PathLike)) and not (is_builtin(content) and not Path(content).exists()):
        if not Path(content).exists():
            raise not_found(content)
        img = read_image(content, max_pixels=max_pixels)
        if keep_alpha:
            alpha_img = read_image(content, mode="RGBA", max_pixels=max_pixels).getchannel("A")
            alpha = torch.from_numpy(np.asarray(alpha_img, dtype=np.float32) / 255)[None, None]
        return to_tensor(img), alpha
    if isinstance(content, Image.Image) and keep_alpha and "A" in content.getbands():
        alpha = torch.from_numpy(np.asarray(content.getchannel("A"), dtype=np.float32) / 255)[None, None]
        flat = Image.new("RGBA", content.size, (255, 255, 255, 255))
        flat.alpha_composite(content.convert("RGBA"))
        return to_tensor(flat), alpha
    return load_image(content, what="content", max_pixels=max_pixels), None


def _read_mask(mask: Any, *, num_styles: int, content_hw: tuple[int, int], out_hw: tuple[int, int],
               max_pixels: int) -> Tensor:
    """Region maps (K, H_out, W_out) from a label picture file, PIL image, array or (K, H, W) tensor."""
    if isinstance(mask, Tensor) and mask.ndim == 3 and mask.is_floating_point():
        control.check_mask_shape(tuple(mask.shape[-2:]), content_hw)
        regions = control.check_regions(mask, num_styles, tuple(mask.shape[-2:]))
        return torch.nn.functional.interpolate(regions[None], size=out_hw, mode="bilinear", align_corners=False)[0]
    source = "mask"
    if isinstance(mask, (str, os.PathLike)):
        source = f"mask {mask}"
        mask = read_image(mask, mode="RGBA", max_pixels=max_pixels)
    if isinstance(mask, Image.Image):
        labels = np.asarray(mask.convert("RGBA"))  # (H, W, 4)
        if (labels[..., 3] == 255).all():
            labels = labels[..., :3]  # opaque: the colours are the regions
        if labels.shape[-1] == 3 and (labels == labels[..., :1]).all():
            labels = labels[..., 0]  # grey levels
    else:
        labels = np.asarray(mask)
    if labels.ndim not in (2, 3) or 0 in labels.shape[:2]:
        raise AtelierError(f"{source} has shape {labels.shape}; expected a picture (H, W) or (H, W, C)")
    control.check_mask_shape(labels.shape[:2], content_hw, source=source)
    return control.resize_regions(control.region_maps(labels, num_regions=num_styles, source=source), out_hw)


def _fast_style_name(model: FastStyleModel, style: Any) -> str:
    """A fast model's style named by ``style``: its name, or a file whose stem is the name."""
    names = model.style_names
    if isinstance(style, (str, os.PathLike)):
        for candidate in (str(style), Path(style).stem):
            if candidate in names:
                return candidate
    given = str(style) if isinstance(style, (str, os.PathLike)) else type(style).__name__
    raise AtelierError(f"the fast model has no style {given!r}; its styles: {', '.join(names)} "
                       "(any painting works with --method adain or gatys)")
