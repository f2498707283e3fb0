"""The controls every style-transfer method shares: style weights, strength, colour, masks.

* style weights: several styles mixed by non-negative weights, normalised to sum to 1;
* strength in [0, 1]: 0 gives back the photo, 1 the full style;
* colour: ``"luminance"`` keeps the photo's colours under the painted luminance (YIQ), and
  ``"histogram"`` matches colour histograms to the photo's (Gatys, Bethge, Hertzmann & Shechtman
  2016, "Preserving Color in Neural Artistic Style Transfer");
* masks: a label picture whose K distinct grey levels (or colours) mark K regions, region i
  painted in style i. Regions are numbered by their level in ascending order (black first).

>>> normalise_weights([3, 1], num_styles=2)
[0.75, 0.25]
>>> import numpy as np
>>> labels = np.array([[0, 0, 255], [0, 255, 255]], dtype=np.uint8)
>>> tuple(region_maps(labels, num_regions=2).shape)
(2, 2, 3)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from atelier.errors import AtelierError, choose_one
from atelier.style.losses import match_histograms, preserve_color_luminance

COLOR_MODES = ("luminance", "histogram")


def check_strength(strength: float) -> float:
    """``strength`` as a float in [0, 1], or an error that says so."""
    if not isinstance(strength, (int, float)) or not math.isfinite(strength) or not 0 <= strength <= 1:
        raise AtelierError(f"strength is {strength}; it must be between 0 and 1")
    return float(strength)


def check_preserve_color(mode: str | None) -> str | None:
    """``mode`` if it is a colour mode or None (the style's colours); None is not listed as a choice,
    since on the command line leaving ``--preserve-color`` out is how it is chosen."""
    if mode not in (None, *COLOR_MODES):
        raise choose_one("preserve_color", mode, COLOR_MODES)
    return mode


def normalise_weights(weights: Sequence[float] | None, *, num_styles: int) -> list[float]:
    """Weights for ``num_styles`` styles, scaled to sum to 1; None means equal weights.

    >>> normalise_weights([1, 2, 3], num_styles=2)
    Traceback (most recent call last):
    atelier.errors.AtelierError: 3 weights for 2 styles; give one weight per style
    """
    if weights is None:
        return [1.0 / num_styles] * num_styles
    weights = [float(w) for w in weights]
    if len(weights) != num_styles:
        raise AtelierError(f"{len(weights)} weights for {num_styles} styles; give one weight per style")
    if any(not math.isfinite(w) or w < 0 for w in weights) or sum(weights) <= 0:
        raise AtelierError(f"weights {weights} must be >= 0 with a positive sum")
    total = sum(weights)
    return [w / total for w in weights]


def blend(content: Tensor, stylized: Tensor, strength: float) -> Tensor:
    """strength * stylized + (1 - strength) * content: exact photo at 0, full style at 1."""
    if strength == 1.0:
        return stylized
    if strength == 0.0:
        return content.clone()
    return strength * stylized + (1.0 - strength) * content


def apply_color(content: Tensor, stylized: Tensor, mode: str | None) -> Tensor:
    """Bring the photo's colours back into a stylized picture of the same size.

    ``"luminance"``: the stylized picture's luminance (YIQ's Y) under the photo's I and Q.
    ``"histogram"``: each RGB channel of the stylized picture remapped to the photo's histogram.
    """
    if mode == "luminance":
        return preserve_color_luminance(content, stylized)
    if mode == "histogram":
        return match_histograms(stylized, content).clamp(0, 1)
    return stylized


# ---------------------------------------------------------------------------------------------
# Masks
# ---------------------------------------------------------------------------------------------


def region_maps(labels: np.ndarray, *, num_regions: int, source: str = "mask") -> Tensor:
    """Region maps (K, H, W) of 0/1 floats from a label picture (H, W) or (H, W, C).

    Each distinct value (grey level, or colour tuple) is one region; they are ordered ascending,
    so in a black-and-white mask black is region 0. The number of values must be ``num_regions``:
    an anti-aliased or JPEG mask with in-between values is refused rather than guessed at.
    """
    arr = np.asarray(labels)
    flat = arr.reshape(arr.shape[0], arr.shape[1], -1)  # (H, W, C)
    values, inverse = np.unique(flat.reshape(-1, flat.shape[-1]), axis=0, return_inverse=True)
    if len(values) != num_regions:
        raise AtelierError(
            f"{source} has {len(values)} distinct grey levels/colours but there are {num_regions} styles; "
            "paint one flat level per style (PNG, no anti-aliasing)"
        )
    index = torch.from_numpy(inverse.reshape(arr.shape[:2]).astype(np.int64))  # (H, W)
    return F.one_hot(index, num_regions).permute(2, 0, 1).float()  # (K, H, W)


def check_mask_shape(mask_hw: tuple[int, int], content_hw: tuple[int, int], *, source: str = "mask") -> None:
    """A mask must have the content's aspect ratio (to within a pixel); it is then resized to it."""
    mh, mw = mask_hw
    ch, cw = content_hw
    if mh <= 0 or mw <= 0 or abs(mh * cw / mw - ch) > max(1.0, ch / mh):
        raise AtelierError(
            f"{source} is {mw}×{mh} px but the content is {cw}×{ch}; a mask must have the content's size "
            "(or the same aspect ratio)"
        )


def resize_regions(regions: Tensor, size: tuple[int, int]) -> Tensor:
    """Region maps (K, h, w) resized to (K, H, W) by nearest neighbour: every pixel keeps one region."""
    if tuple(regions.shape[-2:]) == tuple(size):
        return regions
    return F.interpolate(regions.unsqueeze(0), size=size, mode="nearest")[0]


def check_regions(mask: Tensor, num_styles: int, size: tuple[int, int]) -> Tensor:
    """Validate region maps passed as a tensor: (num_styles, H, W), values in [0, 1]."""
    expected = (num_styles, *size)
    if not isinstance(mask, Tensor) or tuple(mask.shape) != expected:
        found = tuple(mask.shape) if isinstance(mask, Tensor) else type(mask).__name__
        raise AtelierError(f"mask is {found}; expected (styles, H, W) = {expected}")
    if mask.min() < 0 or mask.max() > 1:
        raise AtelierError("mask values must lie in [0, 1]")
    return mask.float()


def masked_mean_std(feat: Tensor, mask: Tensor, eps: float = 1e-5) -> tuple[Tensor, Tensor]:
    """Per-channel mean and std of ``feat`` (N, C, H, W) over the pixels weighted by ``mask`` (H, W)."""
    m = mask.to(feat)[None, None]  # (1, 1, H, W)
    total = m.sum().clamp_min(1e-8)
    mean = (feat * m).sum(dim=(2, 3), keepdim=True) / total  # (N, C, 1, 1)
    var = ((feat - mean).pow(2) * m).sum(dim=(2, 3), keepdim=True) / total
    return mean, (var + eps).sqrt()


def as_weight_tensor(weights: Sequence[float], device: torch.device | None = None) -> Tensor:
    return torch.tensor([list(weights)], dtype=torch.float32, device=device)  # (1, N)
