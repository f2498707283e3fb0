"""What a picture is like, in numbers: colour, light, detail, composition and complexity.

:func:`analyze_image` reads a picture (a file, a bundled name, a PIL image or a tensor in [0, 1])
and measures it; every number is defined below, next to the code that computes it, with the paper
it comes from. The result, an :class:`ImageAnalysis`, is plain data: :meth:`ImageAnalysis.numbers`
gives the scalar features by name (what the critique and the taste model read), and
:meth:`ImageAnalysis.to_json` everything.

Pictures larger than :data:`ANALYSIS_SIDE` px are measured at that long side, smaller ones at their
own size: the measures of detail (edge density, fractal dimension) depend on the scale they are
taken at, and a fixed scale keeps large pictures of different sizes comparable.

Similarity in a pretrained feature space lives in :mod:`atelier.analysis.similarity`; the one-page
picture report in :mod:`atelier.analysis.image_report`.

>>> import torch
>>> red = analyze_image(torch.tensor([1.0, 0.0, 0.0]).view(3, 1, 1).expand(3, 32, 32), name="red")
>>> [(c.hex, c.share) for c in red.palette], round(red.colourfulness, 1)
([('#ff0000', 1.0)], 85.5)
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from PIL import Image
from scipy import ndimage
from torch import Tensor

from atelier.data.photos import load_image, resize_long_side
from atelier.errors import AtelierError

Picture = str | os.PathLike | Image.Image | Tensor  # a file, a bundled name, a PIL image, or (C, H, W) in [0, 1]

ANALYSIS_SIDE = 512  # long side, px, that larger pictures are measured at
SYMMETRY_SIDE = 128  # long side, px, of the composition-scale copy symmetry compares
SALIENCY_SIDE = 64  # long side, px, of the spectral residual (Hou & Zhang 2007 work at 64 px)
SALIENCY_SIGMA = 3.0  # px at SALIENCY_SIDE: the smoothing of the saliency map (chosen by looking at maps)
THIRDS_SIGMA = 0.1  # width of each third-intersection's Gaussian, in units of the picture's width/height
PALETTE_SIZE = 5  # colours in the palette
PALETTE_SAMPLE = 4096  # pixels k-means is fitted on
CANNY_SIGMA = 1.5  # px at the analysis scale; a little smoothing so JPEG noise does not count as edges
LUMA = (0.299, 0.587, 0.114)  # Rec. 601 luma weights on sRGB values, as PIL's "L" mode

NUMBER_NAMES = ("colourfulness", "brightness", "contrast", "saturation", "edge_density", "entropy",
                "symmetry", "balance", "thirds", "fractal_dimension")


class PaletteColour(NamedTuple):
    """One colour of the palette: its sRGB value (0..255) and the share of pixels nearest to it.
    A tuple, so ``for (r, g, b), share in analysis.palette`` reads it.

    >>> PaletteColour((255, 128, 0), 1.0).hex
    '#ff8000'
    """

    rgb: tuple[int, int, int]
    share: float  # 0..1; the shares of a palette sum to 1

    @property
    def hex(self) -> str:
        """``'#rrggbb'``."""
        return "#{:02x}{:02x}{:02x}".format(*self.rgb)


@dataclass(frozen=True)
class ImageAnalysis:
    """The measurements of one picture; see :func:`analyze_image` for each one's definition."""

    name: str
    width: int  # px, of the picture as given
    height: int
    colourfulness: float  # Hasler & Süsstrunk's M3, 0 (grey) .. ~110 (extremely colourful), on 0..255 values
    brightness: float  # mean luma, 0 (black) .. 1 (white)
    contrast: float  # RMS contrast: the standard deviation of luma, 0 .. 0.5
    saturation: float  # mean HSV saturation, 0 .. 1
    palette: tuple[PaletteColour, ...]  # most common first
    edge_density: float  # share of pixels on a Canny edge, 0 .. 1
    entropy: float  # of the luma histogram (256 bins), bits, 0 .. 8
    symmetry: float  # left-right mirror similarity, 0 (no more alike than random pixel pairs) .. 1 (mirror image)
    balance: float  # 1 when the salient mass's centre is at the picture's centre, 0 at a corner
    thirds: float  # salient mass near the four third-intersections relative to uniform (1 = no more than anywhere)
    saliency_centre: tuple[float, float]  # (x, y) of the salient mass's centre, as fractions of width, height
    fractal_dimension: float  # box-counting dimension of the edge map, 0 (no edges) .. 2

    def numbers(self) -> dict[str, float]:
        """The scalar features by name, in :data:`NUMBER_NAMES` order.

        >>> sorted(analyze_image(torch.zeros(1, 8, 8)).numbers())[:3]
        ['balance', 'brightness', 'colourfulness']
        """
        return {name: float(getattr(self, name)) for name in NUMBER_NAMES}

    def to_json(self) -> dict[str, Any]:
        """Everything, as JSON-ready values (floats rounded to 6 digits).

        >>> analyze_image(torch.ones(3, 8, 8), name="white").to_json()["palette"]
        [{'hex': '#ffffff', 'rgb': [255, 255, 255], 'share': 1.0}]
        """
        return {"name": self.name, "width": self.width, "height": self.height,
                **{k: round(v, 6) for k, v in self.numbers().items()},
                "saliency_centre": [round(v, 6) for v in self.saliency_centre],
                "palette": [{"hex": c.hex, "rgb": list(c.rgb), "share": round(c.share, 6)} for c in self.palette]}


# ---------------------------------------------------------------------------------------------
# Reading pictures
# ---------------------------------------------------------------------------------------------


def read_picture(picture: Picture, *, name: str | None = None) -> tuple[Tensor, str]:
    """A picture as (1, 3, H, W) in [0, 1] and a name for it (the file's stem, the bundled name, or
    ``name``). Tensors may be (C, H, W) or (1, C, H, W) with C = 1 (grey) or 3.

    >>> x, n = read_picture(torch.zeros(1, 4, 6)); tuple(x.shape), n
    ((1, 3, 4, 6), 'picture')
    >>> read_picture("/no/such/file.png")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    atelier.errors.AtelierError: image /no/such/file.png: no such file, nor a bundled picture; ...
    """
    if isinstance(picture, Tensor):
        if picture.ndim == 3:
            picture = picture.unsqueeze(0)
        if picture.ndim == 4 and picture.shape[:2] == (1, 1):
            picture = picture.expand(-1, 3, -1, -1)  # grey → RGB: equal channels, colourfulness 0
        picture = load_image(picture, what=name or "picture")  # checks the shape, size and [0, 1]
        return picture, name or "picture"
    if isinstance(picture, Image.Image):
        return load_image(picture, what=name or "picture"), name or "picture"
    if not isinstance(picture, (str, os.PathLike)):
        raise AtelierError(f"picture is a {type(picture).__name__}; give a file, a bundled name, a PIL image "
                           "or a tensor (C, H, W) in [0, 1]")
    return load_image(picture), name or Path(picture).stem


def _luma(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) in [0, 1] → (H, W) luma in [0, 1]."""
    return rgb @ np.asarray(LUMA)


# ---------------------------------------------------------------------------------------------
# Colour and light
# ---------------------------------------------------------------------------------------------


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler & Süsstrunk 2003 ("Measuring colourfulness in natural images"), metric M3, on 0..255:

        rg = R - G,  yb = (R + G) / 2 - B,
        M = sqrt(σ_rg² + σ_yb²) + 0.3 · sqrt(μ_rg² + μ_yb²)

    Their scale: 0 not colourful, 15 slightly, 33 moderately, 45 averagely, 59 quite, 82 highly,
    109 extremely colourful.

    >>> colourfulness(np.zeros((2, 2, 3))), round(colourfulness(np.array([[[1.0, 0, 0]]])), 2)
    (0.0, 85.53)
    """
    r, g, b = (rgb[..., c] * 255.0 for c in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(math.hypot(rg.std(), yb.std()) + 0.3 * math.hypot(rg.mean(), yb.mean()))


def saturation(rgb: np.ndarray) -> float:
    """Mean HSV saturation, (max - min) / max per pixel (0 for black).

    >>> saturation(np.array([[[1.0, 0.5, 0.0], [0.2, 0.2, 0.2]]]))
    0.5
    """
    hi, lo = rgb.max(axis=-1), rgb.min(axis=-1)
    return float(np.divide(hi - lo, hi, out=np.zeros_like(hi), where=hi > 0).mean())


def palette(rgb: np.ndarray, *, k: int = PALETTE_SIZE, seed: int = 0,
            sample: int = PALETTE_SAMPLE) -> tuple[PaletteColour, ...]:
    """The picture's ``k`` main colours: k-means in CIELAB (where distances follow perceived colour
    differences) fitted on ``sample`` seeded random pixels; each colour's share is that of all pixels
    nearest to it. A picture with fewer distinct colours gets fewer; ``k = 0`` gives none.

    >>> two = np.zeros((4, 4, 3)); two[:, :1] = [0.0, 0.0, 1.0]
    >>> [(c.hex, c.share) for c in palette(two)]
    [('#000000', 0.75), ('#0000ff', 0.25)]
    """
    from skimage.color import lab2rgb, rgb2lab
    from sklearn.cluster import KMeans

    if k < 0:
        raise AtelierError(f"palette size is {k}; it must be 0 (no palette) or more")
    if k == 0:
        return ()
    lab = rgb2lab(rgb).reshape(-1, 3)  # (N, 3)
    rng = np.random.default_rng(seed)
    fit = lab[rng.choice(len(lab), size=min(sample, len(lab)), replace=False)]
    k = min(k, len(np.unique(fit.round(3), axis=0)))  # k-means cannot find more clusters than colours
    km = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(fit)
    shares = np.bincount(km.predict(lab), minlength=k) / len(lab)
    colours = (lab2rgb(km.cluster_centers_[None])[0].clip(0, 1) * 255).round().astype(int)  # (k, 3)
    order = np.argsort(-shares, kind="stable")
    return tuple(PaletteColour(tuple(int(v) for v in colours[i]), float(shares[i])) for i in order if shares[i] > 0)


def entropy(luma: np.ndarray) -> float:
    """Shannon entropy, in bits, of the 256-bin histogram of luma: 0 for one grey, 8 when every
    level is equally common.

    >>> entropy(np.linspace(0, 1, 256)[None]), entropy(np.full((3, 3), 0.5))
    (8.0, 0.0)
    """
    counts = np.bincount((luma.ravel() * 255).round().astype(int).clip(0, 255), minlength=256)
    p = counts[counts > 0] / counts.sum()
    return float(max(0.0, -(p * np.log2(p)).sum()))


# ---------------------------------------------------------------------------------------------
# Detail: edges and their fractal dimension
# ---------------------------------------------------------------------------------------------


def edge_map(luma: np.ndarray, *, sigma: float = CANNY_SIGMA) -> np.ndarray:
    """Canny's edges (Canny 1986, scikit-image's implementation with its default absolute
    thresholds, so a flat picture has none) of a luma image: (H, W) bool."""
    from skimage.feature import canny

    return canny(luma, sigma=sigma)


def box_counting_dimension(mask: np.ndarray) -> float:
    """The box-counting (Minkowski–Bouligand) dimension of the True pixels of ``mask``: the slope of
    log N(s) against log(1/s), N(s) the number of s × s boxes holding any of them, over
    s = 1, 2, 4, … up to a quarter of the short side (a least-squares fit). 0 for an empty mask.

    >>> line = np.zeros((64, 64), bool); line[20] = True
    >>> square = np.ones((64, 64), bool)
    >>> round(box_counting_dimension(line), 3), round(box_counting_dimension(square), 3)
    (1.0, 2.0)
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2 or not mask.any():
        return 0.0
    sizes = [2**k for k in range(int(math.log2(max(1, min(mask.shape) // 4))) + 1)]
    if len(sizes) < 2:
        raise AtelierError(f"a mask of {mask.shape[1]}×{mask.shape[0]} px is too small for box counting; "
                           "it needs at least 8 px a side")
    counts = []
    for s in sizes:
        h, w = -(-mask.shape[0] // s) * s, -(-mask.shape[1] // s) * s  # pad up to whole boxes
        padded = np.zeros((h, w), bool)
        padded[:mask.shape[0], :mask.shape[1]] = mask
        counts.append(padded.reshape(h // s, s, w // s, s).any(axis=(1, 3)).sum())
    slope = np.polyfit(np.log(1.0 / np.asarray(sizes)), np.log(counts), 1)[0]
    return float(slope)


# ---------------------------------------------------------------------------------------------
# Composition: symmetry, saliency, balance and thirds
# ---------------------------------------------------------------------------------------------


def symmetry(rgb: np.ndarray, *, seed: int = 0) -> float:
    """Left-right symmetry: 1 - D_mirror / D_random, clipped to [0, 1], where D_mirror is the mean
    absolute difference between the picture and its mirror image, and D_random that between the
    picture and a seeded shuffle of its own pixels (how different unrelated pixels are). 1: a mirror
    image; 0: the two halves are no more alike than random pixels. A picture of one colour is 1.

    >>> sym = np.random.default_rng(0).random((16, 8, 3)); sym = np.concatenate([sym, sym[:, ::-1]], 1)
    >>> symmetry(sym), symmetry(np.random.default_rng(1).random((16, 16, 3))) < 0.1
    (1.0, True)
    """
    mirrored = np.abs(rgb - rgb[:, ::-1]).mean()
    flat = rgb.reshape(-1, rgb.shape[-1])
    shuffled = np.abs(flat - flat[np.random.default_rng(seed).permutation(len(flat))]).mean()
    if shuffled == 0:
        return 1.0
    return float(np.clip(1.0 - mirrored / shuffled, 0.0, 1.0))


def saliency_map(luma: np.ndarray, *, side: int = SALIENCY_SIDE, sigma: float = SALIENCY_SIGMA) -> np.ndarray:
    """The spectral-residual saliency of Hou & Zhang 2007 ("Saliency detection: a spectral residual
    approach", CVPR), at ``side`` px on the long side, summing to 1:

        A = log |F(I)|,  P = arg F(I),  R = A - h₃ * A  (h₃: 3 × 3 mean filter),
        S = g_σ * |F⁻¹(exp(R + iP))|²

    The log spectrum of natural pictures is smooth; what sticks out of it (the residual) marks the
    unexpected parts of the picture. The picture's border is faded to its mean first, so the seams
    where the FFT's periodic copies meet are not taken for salient.

    >>> blob = np.zeros((64, 64)); blob[10:14, 40:44] = 1
    >>> s = saliency_map(blob); [int(i) for i in np.unravel_index(s.argmax(), s.shape)], round(float(s.sum()), 6)
    ([12, 41], 1.0)
    """
    from scipy.signal.windows import tukey

    small = _resize(luma, side)
    h, w = small.shape
    # The FFT treats the picture as periodic, and the seams where its edges meet would be the most
    # "unexpected" thing in it: the outer 1/8 on each side fades to the mean grey (a Tukey window).
    # (Mirroring the picture into a seamless 2 × 2 tile instead repeats every object, and the
    # residual then plays down whatever sits near a border.)
    window = np.outer(tukey(h, 0.25), tukey(w, 0.25))
    small = small.mean() + (small - small.mean()) * window
    spectrum = np.fft.fft2(small)
    amplitude = np.abs(spectrum)
    # A floor at 1% of the mean amplitude: flat synthetic pictures have exact zeros in their spectrum,
    # whose logarithms (-inf) would otherwise make up the whole residual.
    log_amplitude = np.log(amplitude + 0.01 * amplitude.mean() + 1e-12)
    residual = log_amplitude - ndimage.uniform_filter(log_amplitude, size=3, mode="wrap")
    sal = np.abs(np.fft.ifft2(np.exp(residual + 1j * np.angle(spectrum)))) ** 2
    sal = ndimage.gaussian_filter(sal, sigma=sigma, mode="nearest")
    total = sal.sum()
    return sal / total if total > 0 else np.full_like(sal, 1.0 / sal.size)


def salient_mass(sal: np.ndarray) -> np.ndarray:
    """The saliency in excess of its mean, max(S - mean S, 0), summing to 1 (uniform if none is): the
    parts that stand out. A spectral-residual map is diffuse, and its whole mass would put every
    centre of mass near the middle; Hou & Zhang likewise threshold their map at a multiple of its mean.

    >>> salient_mass(np.array([[1.0, 1.0], [1.0, 5.0]]))
    array([[0., 0.],
           [0., 1.]])
    """
    excess = np.clip(sal - sal.mean(), 0.0, None)
    total = excess.sum()
    return excess / total if total > 0 else np.full_like(sal, 1.0 / sal.size)


def saliency_centre(sal: np.ndarray) -> tuple[float, float]:
    """The centre of mass (x, y) of a saliency map summing to 1, as fractions of width and height
    (pixel centres at (i + 0.5) / n).

    >>> saliency_centre(np.full((4, 4), 1 / 16))
    (0.5, 0.5)
    """
    h, w = sal.shape
    ys, xs = (np.arange(h) + 0.5) / h, (np.arange(w) + 0.5) / w
    return float((sal.sum(axis=0) * xs).sum()), float((sal.sum(axis=1) * ys).sum())


def balance(centre: tuple[float, float]) -> float:
    """Visual balance: 1 - d / d_max, d the distance of the salient mass's centre (:func:`salient_mass`,
    :func:`saliency_centre`) from the picture's centre (in fractions of width and height) and d_max = √½ that of a corner. The
    "visual balance" of Liu, Chen, Wolf & Cohen-Or 2010 ("Optimizing photo composition",
    Computer Graphics Forum) likewise rewards salient mass balanced about the centre.

    >>> balance((0.5, 0.5)), balance((0.0, 0.0))
    (1.0, 0.0)
    """
    return float(1.0 - math.hypot(centre[0] - 0.5, centre[1] - 0.5) / math.sqrt(0.5))


def thirds_weights(shape: tuple[int, int], *, sigma: float = THIRDS_SIGMA) -> np.ndarray:
    """For each pixel, exp(-d² / 2σ²) with d its distance (in fractions of width and height) to the
    nearest of the four intersections of the lines at 1/3 and 2/3: the rule of thirds' "power points"."""
    h, w = shape
    ys, xs = np.meshgrid((np.arange(h) + 0.5) / h, (np.arange(w) + 0.5) / w, indexing="ij")
    d2 = np.min([(xs - px) ** 2 + (ys - py) ** 2 for px in (1 / 3, 2 / 3) for py in (1 / 3, 2 / 3)], axis=0)
    return np.exp(-d2 / (2 * sigma**2))


def thirds(sal: np.ndarray, *, sigma: float = THIRDS_SIGMA) -> float:
    """Rule of thirds: Σ S·w / mean(w), the salient mass S (summing to 1) weighted by
    :func:`thirds_weights` w, relative to what uniform saliency would score. 1: no more salient near
    the power points than anywhere; above 1: the salient parts sit on them (Liu et al. 2010 score
    composition by the distance of salient regions to these points; this is a simpler, map-based form).

    >>> round(thirds(np.full((9, 9), 1 / 81)), 6)
    1.0
    """
    weights = thirds_weights(sal.shape, sigma=sigma)
    return float((sal * weights).sum() / weights.mean())


def _resize(image: np.ndarray, long_side: int) -> np.ndarray:
    """(H, W) or (H, W, C) floats, the long side scaled to ``long_side`` (antialiased) unless already shorter."""
    h, w = image.shape[:2]
    if max(h, w) <= long_side:
        return image
    t = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))
    t = t[None, None] if t.ndim == 2 else t.permute(2, 0, 1)[None]
    out = resize_long_side(t, long_side)[0].permute(1, 2, 0).numpy().astype(np.float64)
    return out[..., 0] if image.ndim == 2 else out


# ---------------------------------------------------------------------------------------------
# Everything at once
# ---------------------------------------------------------------------------------------------


def analysis_pixels(picture: Tensor) -> np.ndarray:
    """The picture (1, 3, H, W) as (h, w, 3) float64 at the analysis scale (long side at most
    :data:`ANALYSIS_SIDE`); what :func:`analyze_image` measures and the report draws."""
    return resize_long_side(picture, min(ANALYSIS_SIDE, max(picture.shape[-2:])))[0].permute(1, 2, 0).double().numpy()


def analyze_image(picture: Picture, *, name: str | None = None, palette_size: int = PALETTE_SIZE,
                  seed: int = 0) -> ImageAnalysis:
    """Measure ``picture``: a file, a bundled picture's name, a PIL image, or a tensor (3, H, W) or
    (1, H, W) in [0, 1] (grey works; its colourfulness and saturation are 0). ``palette_size=0``
    skips the palette (k-means is the slowest step), for callers that read only :meth:`~ImageAnalysis.numbers`.

    >>> a = analyze_image("astronaut")
    >>> a.name, (a.width, a.height), 0 < a.brightness < 1, len(a.palette)
    ('astronaut', (512, 512), True, 5)
    """
    # 1. Read the picture and bring it to the analysis scale.
    tensor, name = read_picture(picture, name=name)
    height, width = tensor.shape[-2:]
    rgb = analysis_pixels(tensor)  # (h, w, 3) in [0, 1]
    luma = _luma(rgb)
    if min(luma.shape) < 8:
        raise AtelierError(f"picture {name} is {width}×{height} px; analysis needs at least 8 px a side")
    # 2. Colour and light.
    colours = palette(rgb, k=palette_size, seed=seed)
    # 3. Detail.
    edges = edge_map(luma)
    # 4. Composition.
    mass = salient_mass(saliency_map(luma))
    centre = saliency_centre(mass)
    return ImageAnalysis(
        name=name, width=int(width), height=int(height),
        colourfulness=colourfulness(rgb), brightness=float(luma.mean()), contrast=float(luma.std()),
        saturation=saturation(rgb), palette=colours,
        edge_density=float(edges.mean()), entropy=entropy(luma),
        symmetry=symmetry(_resize(rgb, SYMMETRY_SIDE), seed=seed), balance=balance(centre),
        thirds=thirds(mass), saliency_centre=centre, fractal_dimension=box_counting_dimension(edges),
    )
