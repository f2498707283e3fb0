"""Which works a picture resembles, and which painting's style it was made in.

Both compare pictures in the feature space of the pretrained EfficientNet-Lite0
(:mod:`atelier.style.efficientnet`, the network every style method optimises in):

* **what it shows**: :func:`image_embedding` is the network's 1280-d pooled head (the input of its
  ImageNet classifier), L2-normalised, so the cosine of two embeddings says how alike their
  content and look are; :func:`nearest_works` ranks a set of works by it;
* **how it is painted**: :func:`style_signature` holds the per-channel means and standard
  deviations of six of the network's layers, from the stem (colour, fine strokes) to block 11
  (larger motifs) — the statistics AdaIN transfers (Huang & Belongie 2017) and, with the Gram
  matrices they summarise, what Gatys-style losses match (Gatys et al. 2016). They discard where
  things are, keeping how the picture is textured. :func:`identify_style` compares a picture's
  signature with each style picture's, taken at several scales because a style's strokes keep
  their size in pixels whatever the output's size; the best scale counts.

Pictures are read like :func:`atelier.analysis.images.read_picture` reads them: files, bundled
names, PIL images or tensors in [0, 1]. Nothing is written to disk; the network is built once per
process, and the signatures of style pictures given as files or bundled names are kept in memory.

>>> from atelier.data.photos import load_image
>>> crop = load_image("the_scream")[..., 100:400, 50:350]  # a part of the painting
>>> identify_style(crop, {"starry_night": "starry_night", "the_scream": "the_scream"})[0][0]
'the_scream'
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from atelier.analysis.images import Picture, read_picture
from atelier.data.photos import resize_long_side
from atelier.errors import AtelierError
from atelier.metrics.images import lite0_features
from atelier.style.features import FeatureNet, build_backbone

EMBEDDING_SIZE = 224  # px: pictures are resized to the network's ImageNet training size (stretched to a square)
SIGNATURE_SIDE = 256  # long side, px, that larger pictures are reduced to before their signature
SIGNATURE_LAYERS = ("stem", "block1_expand", "block3_expand", "block5_expand", "block8_expand", "block11_expand")
# Long sides, px, each style picture is compared at. Gatys paints with the painting scaled to the
# output's size, the fast networks learnt it at 256 px: strokes differ in pixels from method to method.
STYLE_SCALES = (128, 192, 256, 384, 512)

@functools.cache
def _feature_net() -> FeatureNet:
    """The pretrained EfficientNet-Lite0 as a feature network (frozen, on the CPU), once per process."""
    return build_backbone("efficientnet-lite0")


def _pictures(pictures: Picture | Sequence[Picture]) -> list[Tensor]:
    if isinstance(pictures, (str, Tensor)) or not isinstance(pictures, Sequence):
        pictures = [pictures]
    if not pictures:
        raise AtelierError("no pictures given")
    return [read_picture(p)[0] for p in pictures]


# ---------------------------------------------------------------------------------------------
# What a picture shows: embeddings and nearest works
# ---------------------------------------------------------------------------------------------


def image_embedding(pictures: Picture | Sequence[Picture]) -> np.ndarray:
    """EfficientNet-Lite0's pooled 1280-d features of each picture, L2-normalised: (N, 1280) float64.

    >>> e = image_embedding(["coffee", "chelsea"])
    >>> e.shape, [round(float(n), 6) for n in np.linalg.norm(e, axis=1)]
    ((2, 1280), [1.0, 1.0])
    """
    batch = torch.cat([F.interpolate(p, size=(EMBEDDING_SIZE, EMBEDDING_SIZE), mode="bilinear", antialias=True,
                                     align_corners=False).clamp(0, 1) for p in _pictures(pictures)])
    feats = lite0_features(batch, size=EMBEDDING_SIZE)  # (N, 1280)
    return feats / np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-12)


def nearest_works(picture: Picture, works: Mapping[str, Picture | np.ndarray], *, k: int = 3) -> list[tuple[str, float]]:
    """The ``k`` works most like ``picture`` by the cosine similarity of their embeddings, most
    alike first, as (name, similarity in [-1, 1]). ``works`` maps names to pictures (the bundled
    paintings, a gallery's files) or to embeddings already computed by :func:`image_embedding`.

    >>> nearest_works("chelsea", {"coffee": "coffee", "chelsea": "chelsea", "moon": "moon"}, k=2)[0]
    ('chelsea', 1.0)
    """
    if k < 1:
        raise AtelierError(f"k is {k}; ask for at least 1 work")
    if not works:
        raise AtelierError("no works to compare with; give a mapping of names to pictures")
    query = image_embedding(picture)[0]
    names = list(works)
    given = {n: np.asarray(works[n], dtype=np.float64) for n in names if isinstance(works[n], np.ndarray)}
    for n, e in given.items():
        if e.shape != query.shape:
            raise AtelierError(f"work {n!r} is an array of shape {e.shape}; an embedding has shape {query.shape}")
    rest = [n for n in names if n not in given]
    embeddings = {**given, **(dict(zip(rest, image_embedding([works[n] for n in rest]))) if rest else {})}
    sims = {n: float(query @ embeddings[n] / max(np.linalg.norm(embeddings[n]), 1e-12)) for n in names}
    return sorted(sims.items(), key=lambda item: -item[1])[:k]


# ---------------------------------------------------------------------------------------------
# How a picture is painted: style signatures and identification
# ---------------------------------------------------------------------------------------------


@torch.no_grad()
def _signature(picture: Tensor, long_side: int) -> np.ndarray:
    """The signature of (1, 3, H, W) at ``long_side``: per layer [channel means, channel stds],
    each layer's part scaled to unit length so every layer counts alike, the whole to unit length."""
    feats = _feature_net()(resize_long_side(picture, long_side), SIGNATURE_LAYERS)
    parts = []
    for layer in SIGNATURE_LAYERS:
        a = feats[layer][0].flatten(1).double()  # (C, h·w)
        stats = torch.cat([a.mean(dim=1), a.std(dim=1, correction=0)])  # (2C,)
        parts.append(stats / stats.norm().clamp_min(1e-12))
    return (torch.cat(parts) / len(parts) ** 0.5).numpy()


def style_signature(picture: Picture, *, long_side: int | None = None) -> np.ndarray:
    """The style statistics of ``picture`` as one unit vector (float64): the channel means and
    standard deviations of :data:`SIGNATURE_LAYERS`, taken at ``long_side`` px (default: its own
    size, reduced to :data:`SIGNATURE_SIDE` if larger). The dot product of two is their similarity.

    >>> s = style_signature("starry_night"); s.shape, round(float(s @ s), 6)
    ((3328,), 1.0)
    """
    tensor = read_picture(picture)[0]
    side = long_side or min(SIGNATURE_SIDE, max(tensor.shape[-2:]))
    if side < 16:
        raise AtelierError(f"a style signature needs at least 16 px on the long side; got {side}")
    return _signature(tensor, side)


@dataclass(frozen=True)
class StyleReferences:
    """Style pictures ready to compare with: their names and signatures at each of ``scales``."""

    names: tuple[str, ...]
    scales: tuple[int, ...]  # long sides, px
    signatures: np.ndarray  # (styles, scales, D), unit rows


def style_references(styles: Mapping[str, Picture], *, scales: Sequence[int] = STYLE_SCALES) -> StyleReferences:
    """Signatures of each style picture at each long side in ``scales``, for :func:`identify_style`
    (computing them once saves time when many pictures are identified against the same styles).

    >>> refs = style_references({"scream": "the_scream"}, scales=(128, 256))
    >>> refs.names, refs.signatures.shape
    (('scream',), (1, 2, 3328))
    """
    if not styles:
        raise AtelierError("no styles to compare with; give a mapping of names to style pictures")
    if not scales or any(s < 16 for s in scales):
        raise AtelierError(f"scales {tuple(scales)}: give long sides of at least 16 px")
    sigs = [_reference_signatures(picture, tuple(scales), name=str(name)) for name, picture in styles.items()]
    return StyleReferences(tuple(str(n) for n in styles), tuple(scales), np.asarray(sigs))


_REFERENCE_CACHE: dict[tuple, np.ndarray] = {}


def _reference_signatures(picture: Picture, scales: tuple[int, ...], *, name: str) -> np.ndarray:
    """(scales, D) signatures of a style picture. Those of files and bundled names are kept for the
    process (keyed by the file's path, size and modification time): `atelier analyze` of many
    pictures compares each with the same paintings, and their five scales take ~0.7 s a painting."""
    key = None
    if isinstance(picture, (str, os.PathLike)):
        path = Path(picture)
        stat = path.stat() if path.is_file() else None
        key = (str(path.resolve()) if stat else str(picture), stat and stat.st_size, stat and stat.st_mtime_ns, scales)
    if key is None or key not in _REFERENCE_CACHE:
        tensor = read_picture(picture, name=name)[0]
        found = np.asarray([_signature(tensor, side) for side in scales])
        if key is None:
            return found
        _REFERENCE_CACHE[key] = found
    return _REFERENCE_CACHE[key]


def identify_style(picture: Picture, styles: Mapping[str, Picture] | StyleReferences) -> list[tuple[str, float]]:
    """Rank ``styles`` (names → style pictures, e.g. the bundled paintings, or
    :func:`style_references` of them) by how likely ``picture`` was made in each, best first, as
    (name, score): the cosine similarity of :func:`style_signature` s, the best over the style
    picture's scales. Scores of unrelated pictures are high too (all are pictures); the ranking and
    the gaps between scores are what count.

    >>> [name for name, _ in identify_style("the_scream", {"stars": "starry_night", "scream": "the_scream"})]
    ['scream', 'stars']
    """
    refs = styles if isinstance(styles, StyleReferences) else style_references(styles)
    query = style_signature(picture)
    scores = (refs.signatures @ query).max(axis=1)  # (styles,)
    return sorted(zip(refs.names, (float(s) for s in scores)), key=lambda item: -item[1])
