"""``stylize``: one function behind ``atelier stylize`` for the three style-transfer methods.

* ``"gatys"``: optimises the picture itself (:mod:`atelier.style.gatys`); any painting, slow.
* ``"fast"``: a trained transformation network (:mod:`atelier.style.feedforward`); only the
  styles it was trained on, mixed by weight; a fraction of a second.
* ``"adain"``: a trained AdaIN decoder (:mod:`atelier.style.adain`); any painting, about a
  second.

Every method takes the same controls (:mod:`atelier.style.control`): style weights, strength,
colour preservation and region masks, and paints at the size asked for whatever the painting's
own size. Styles are image files, bundled painting names (``starry_night``, ``the_scream``,
``shipwreck``), PIL images or tensors; for ``"fast"`` they name the model's styles.

Masks are label pictures of the content's size (or at least its aspect ratio): each distinct
grey level or colour is a region, numbered in ascending order (black first), and region i is
painted in style i. A mask is resized to the output with nearest-neighbour sampling.

>>> import torch
>>> photo = torch.rand(1, 3, 48, 64)
>>> result = stylize(photo, ["the_scream"], method="gatys", preset="fast", size=32, num_steps=2)
>>> result.image.size, result.metadata["method"]
((32, 24), 'gatys')
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from atelier.errors import AtelierError, choose_one
from atelier.imageio import DEFAULT_MAX_PIXELS, read_image
from atelier.style import control
from atelier.style.data import is_builtin, load_image, resize_long_side, to_image, to_tensor

METHODS = ("gatys", "fast", "adain")
DEFAULT_MODELS = {"fast": "fast-paintings", "adain": "adain-decoder"}  # shipped in atelier/zoo
DEFAULT_SIZE = 512  # long side of the output when the photo is larger (fast, adain)
MAX_SIZE = 4096  # long side; a 4096 px picture takes ~1 GB in the networks, larger is a mistake

StyleInput = str | os.PathLike | Image.Image | Tensor


@dataclass(frozen=True)
class StylizeResult:
    """The picture, as PIL image and tensor, and what made it (for the output file's metadata)."""

    image: Image.Image  # RGB, or RGBA with the photo's alpha when keep_alpha
    tensor: Tensor  # (1, 3, H, W) in [0, 1]
    metadata: dict[str, Any]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _describe(source: Any) -> dict[str, Any]:
    """How a picture was given, for the metadata: a path with its hash, a bundled name, or its kind."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_file():
            return {"path": str(path), "sha256": _sha256(path)}
        return {"name": str(source)}
    return {"given": type(source).__name__}


def _check_size(size: int | None) -> None:
    if size is None:
        return
    if isinstance(size, bool) or not isinstance(size, int) or not 16 <= size <= MAX_SIZE:
        raise AtelierError(f"size is {size}; the output's long side must be a whole number of pixels from 16 to {MAX_SIZE}")


def _read_content(content: StyleInput, *, max_pixels: int, keep_alpha: bool) -> tuple[Tensor, Tensor | None]:
    """The photo as (1, 3, H, W) (transparency flattened onto white) and its alpha (1, 1, H, W) if kept."""
    alpha = None
    if isinstance(content, (str, os.PathLike)) and not (is_builtin(content) and not Path(content).exists()):
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


def load_style_model(model: Any, method: str) -> tuple[Any, dict[str, Any]]:
    """A fast-style or AdaIN model from a shipped name, a checkpoint path or an object; and its provenance."""
    from atelier import zoo
    from atelier.api import load

    kind = {"fast": "fast_style", "adain": "adain"}[method]
    if model is None:
        model = DEFAULT_MODELS[method]
    if not isinstance(model, (str, os.PathLike)):
        return model, {"model": type(model).__name__}
    loaded = load(model, kind=kind)
    path = Path(model)
    digest = _sha256(path) if path.is_file() else zoo.read_manifest()[str(model)].sha256
    return loaded, {"model": str(model), "model_sha256": digest}


def stylize(
    content: StyleInput,
    styles: Sequence[StyleInput] = (),
    *,
    method: str = "fast",
    weights: Sequence[float] | None = None,
    strength: float = 1.0,
    preserve_color: str | None = None,
    mask: Any = None,
    size: int | None = None,
    seed: int = 0,
    model: Any = None,
    backbone: Any = None,
    vgg_weights: str | os.PathLike | None = None,
    preset: Any = "default",
    num_steps: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    keep_alpha: bool = False,
    progress: bool = False,
) -> StylizeResult:
    """Paint ``content`` in the style of ``styles`` with ``method``; see the module docstring.

    * ``weights``: one per style, >= 0 with a positive sum (normalised); default equal.
    * ``strength`` in [0, 1]; ``preserve_color``: None, ``"luminance"`` or ``"histogram"``.
    * ``mask``: a label picture (file, PIL image or (H, W) array) with one level per style, or
      region maps (K, H, W) in [0, 1]. Not combined with ``weights``.
    * ``size``: the output's long side in px (16 to 4096). Default: the photo's own, at most
      512, for fast and adain; the preset's last scale for gatys.
    * ``model`` (fast, adain): a shipped name, a checkpoint path or a loaded model; default
      ``fast-paintings`` / ``adain-decoder``. ``backbone``, ``vgg_weights``, ``preset`` and
      ``num_steps`` (gatys): the feature network, VGG-19 weights for ``backbone="vgg19"``, a
      name in ``GATYS_PRESETS`` or a ``GatysConfig``, and steps per scale.
    * ``keep_alpha``: give the output the photo's transparency (else it is flattened on white).

    >>> photo = torch.rand(1, 3, 40, 40)
    >>> stylize(photo, ["starry_night"], method="adain", weights=[1, 2])
    Traceback (most recent call last):
    atelier.errors.AtelierError: 2 weights for 1 styles; give one weight per style
    """
    # 1. Check the arguments (cheap checks first, before any file is read).
    if method not in METHODS:
        raise choose_one("method", method, METHODS)
    strength = control.check_strength(strength)
    control.check_preserve_color(preserve_color)
    _check_size(size)
    if isinstance(styles, (str, os.PathLike, Image.Image, Tensor)):
        styles = [styles]
    styles = list(styles)
    if method != "fast" and not styles:
        raise AtelierError(f"method {method!r} needs at least one style picture")
    if weights is not None and mask is not None:
        raise AtelierError("pass weights (blend styles everywhere) or a mask (one style per region), not both")
    if weights is not None and styles:
        control.normalise_weights(weights, num_styles=len(styles))
    if method != "gatys" and (backbone is not None or vgg_weights is not None or num_steps is not None):
        raise AtelierError(f"backbone, vgg_weights and num_steps apply to method 'gatys'; {method} models carry their own")
    if method == "gatys" and model is not None:
        raise AtelierError("model applies to methods 'fast' and 'adain'; gatys needs none")
    if num_steps is not None and num_steps < 1:
        raise AtelierError(f"num_steps is {num_steps}; it must be at least 1")

    # 2. Read the photo, the model and the paintings.
    photo, alpha = _read_content(content, max_pixels=max_pixels, keep_alpha=keep_alpha)
    content_hw = tuple(photo.shape[-2:])
    meta: dict[str, Any] = {"method": method, "content": _describe(content), "strength": strength,
                            "preserve_color": preserve_color, "seed": seed}
    loaded = None
    if method != "gatys":
        loaded, provenance = load_style_model(model, method)
        meta.update(provenance)
    if method == "fast":
        names = [_fast_style_name(loaded, s) for s in styles] or _fast_default_styles(loaded, weights, mask)
        if weights is not None:
            control.normalise_weights(weights, num_styles=len(names))
        meta["styles"] = names
        paintings: list[Tensor] = []
    else:
        paintings = [load_image(s, what=f"style {s}" if isinstance(s, (str, os.PathLike)) else f"styles[{k}]",
                                max_pixels=max_pixels) for k, s in enumerate(styles)]
        names = [str(s) for s in styles]
        meta["styles"] = [_describe(s) for s in styles]
    num_styles = len(names)
    mix = control.normalise_weights(weights, num_styles=num_styles)
    meta["weights"] = [round(w, 6) for w in mix] if mask is None else None

    # 3. The working size: the output's.
    if method == "gatys":
        config = _gatys_config(preset, size, num_steps)
        long_side = config.scales[-1]
    else:
        long_side = size or min(max(content_hw), DEFAULT_SIZE)
    photo = resize_long_side(photo, long_side)
    out_hw = tuple(photo.shape[-2:])
    if min(out_hw) < 8:
        raise AtelierError(f"the output would be {out_hw[1]}×{out_hw[0]} px; the photo is too narrow for size {long_side}")

    # 4. The mask, as region maps at the output's size.
    regions = None
    if mask is not None:
        regions = _read_mask(mask, num_styles=num_styles, content_hw=content_hw, out_hw=out_hw, max_pixels=max_pixels)
        meta["mask"] = _describe(mask)

    # 5. Paint.
    if method == "gatys":
        from atelier.style.gatys import stylize_gatys
        from atelier.style.features import DEFAULT_BACKBONE, build_backbone

        net = backbone or DEFAULT_BACKBONE
        if isinstance(net, str):
            meta["backbone"] = net
            net = build_backbone(net, seed=seed, **({"weights": vgg_weights} if net == "vgg19" else {}))
        meta["preset"] = preset if isinstance(preset, str) else "custom"
        out, history = stylize_gatys(photo, paintings, weights=None if regions is not None else mix, config=config,
                                     backbone=net, seed=seed, strength=strength, preserve_color=preserve_color,
                                     mask=regions, progress=progress)
        meta["final_loss"] = round(history[-1].total, 6)
    elif method == "fast":
        model_mask = None
        style_weights: Any = None
        if regions is not None:  # region i → the model's style names[i]
            index = {n: i for i, n in enumerate(loaded.style_names)}
            model_mask = torch.zeros(len(index), *out_hw)
            for i, n in enumerate(names):
                model_mask[index[n]] += regions[i]
        else:
            style_weights = {}
            for n, w in zip(names, mix):
                style_weights[n] = style_weights.get(n, 0.0) + w
        out = loaded.stylize(photo, style_weights=style_weights, strength=strength,
                             preserve_color=preserve_color, mask=model_mask)
    else:
        out = loaded.stylize(photo, paintings, weights=None if regions is not None else mix, strength=strength,
                             preserve_color=preserve_color, mask=regions)

    # 6. The picture, with the photo's transparency when asked.
    out = out.detach().cpu().clamp(0, 1)
    image = to_image(out)
    if alpha is not None:
        a = torch.nn.functional.interpolate(alpha, size=out_hw, mode="bilinear", align_corners=False)[0, 0]
        image.putalpha(Image.fromarray((a.clamp(0, 1) * 255).round().to(torch.uint8).numpy(), "L"))
    meta["size"] = list(image.size)
    return StylizeResult(image=image, tensor=out, metadata=meta)


def _gatys_config(preset: Any, size: int | None, num_steps: int | None):
    from atelier.style.gatys import GATYS_PRESETS, GatysConfig

    if isinstance(preset, GatysConfig):
        config = preset
    elif preset in GATYS_PRESETS:
        config = GATYS_PRESETS[preset]
    else:
        raise choose_one("gatys preset", preset, GATYS_PRESETS)
    if size is not None:  # keep the preset's coarse-to-fine ratios, ending at the asked size
        factor = size / config.scales[-1]
        config = replace(config, scales=tuple(max(16, round(s * factor)) for s in config.scales[:-1]) + (size,))
    if num_steps is not None:
        config = replace(config, num_steps=num_steps)
    return config


def _fast_style_name(model: Any, style: Any) -> str:
    """A fast model's style named by ``style``: its name, or a file whose stem is the name."""
    names = model.style_names
    if isinstance(style, (str, os.PathLike)):
        for candidate in (str(style), Path(style).stem):
            if candidate in names:
                return candidate
    raise AtelierError(
        f"the fast model has no style {str(style) if isinstance(style, (str, os.PathLike)) else type(style).__name__!r}; "
        f"its styles: {', '.join(names)} (any painting works with --method adain or gatys)"
    )


def _fast_default_styles(model: Any, weights: Any, mask: Any) -> list[str]:
    names = list(model.style_names)
    if len(names) > 1 and weights is None and mask is None:
        raise AtelierError(f"the fast model holds {len(names)} styles ({', '.join(names)}); choose with --style NAME")
    return names
