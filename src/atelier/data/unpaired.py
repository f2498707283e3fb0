"""Two unpaired image domains, for CycleGAN: folders (or any image source) for A and B, or a
built-in synthetic pair drawn in code.

``data`` names the two domains as ``"FOLDER_A:FOLDER_B"``, a pair ``(a, b)``, a dict
``{"a": …, "b": …}`` or ``"synthetic:NAME"``. Pixels follow :mod:`atelier.data.images`: uint8
stored, [-1, 1] in batches.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from atelier.data.images import ImageDataset, load_images
from atelier.errors import AtelierError, choose_one
from atelier.imageio import DEFAULT_MAX_PIXELS

SYNTHETIC = {
    "red-blue": "red squares (A) and blue squares (B) on grey: the colour changes, the shape stays",
    "squares-circles": "one to three squares (A) or discs (B) of any colour: the shape changes, "
                       "position, size and colour stay",
}
SYNTHETIC_COUNT = 400  # images per synthetic domain


@dataclass(frozen=True)
class UnpairedImages:
    """Two image sets for :func:`atelier.training.fit`: item i is ``(a[i mod |A|], b[pairing[i]])``.

    ``len`` is the larger domain's size, so one epoch shows every image of both. No loss term pairs
    an image of A with one of B; ``pairing``, a seeded shuffle, only decides which B images share
    a batch with which A images, and the loop reshuffles the items every epoch.
    """

    a: ImageDataset
    b: ImageDataset
    pairing: torch.Tensor  # (N,) index into b for each item

    def __len__(self) -> int:
        return self.pairing.shape[0]

    def get_batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(images of A, images of B), each (B, C, S, S) in [-1, 1]."""
        return self.a.get_batch(idx % len(self.a))[0], self.b.get_batch(self.pairing[idx])[0]


def unpaired(a: ImageDataset, b: ImageDataset, *, seed: int = 0) -> UnpairedImages:
    """Pair two domains at random for :class:`UnpairedImages` (the same pairing for the same seed).

    >>> a, b = synthetic_domains("red-blue", size=8, n=5)
    >>> data = unpaired(a, b)
    >>> len(data), [tuple(x.shape) for x in data.get_batch(torch.arange(3))]
    (5, [(3, 3, 8, 8), (3, 3, 8, 8)])
    """
    n = max(len(a), len(b))
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return UnpairedImages(a, b, perm % len(b))


def synthetic_domains(name: str, *, size: int, n: int = SYNTHETIC_COUNT,
                      channels: int = 3) -> tuple[ImageDataset, ImageDataset]:
    """A built-in pair of domains (see ``SYNTHETIC``), drawn in code from fixed seeds.

    The two domains use separate random streams, so no image of A has a twin in B, and the first n
    images are the same for any n.

    >>> a, b = synthetic_domains("squares-circles", size=32, n=3)
    >>> tuple(a.images.shape), a.name
    ((3, 3, 32, 32), 'synthetic:squares-circles[A]')
    """
    if name not in SYNTHETIC:
        raise choose_one("synthetic domain pair", f"synthetic:{name}", [f"synthetic:{k}" for k in SYNTHETIC])
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5  # pixel centres (S, S)
    out = []
    for domain, seed in (("A", 1), ("B", 2)):
        rng = np.random.default_rng(seed)
        images = np.empty((n, 3, size, size), dtype=np.float32)
        for i in range(n):
            if name == "red-blue":
                background = np.full(3, rng.uniform(0.35, 0.65))  # grey
                hue = [0.85, 0.15, 0.15] if domain == "A" else [0.15, 0.25, 0.9]  # red or blue
                colour = np.array(hue) + rng.uniform(-0.1, 0.1, 3)
                shapes = [(colour, "square")]
            else:
                background = rng.uniform(0.05, 0.35, 3)  # dark, tinted
                shapes = [(rng.uniform(0.3, 1.0, 3), "square" if domain == "A" else "disc")
                          for _ in range(rng.integers(1, 4))]
            img = np.broadcast_to(background[:, None, None], (3, size, size)).copy()
            for colour, shape in shapes:
                cx, cy = rng.uniform(0.2, 0.8, 2) * size
                r = rng.uniform(0.1, 0.2) * size  # half side, or radius
                if shape == "square":
                    dist = np.maximum(np.abs(xs - cx), np.abs(ys - cy)) - r  # signed distance to the edge, px
                else:
                    dist = np.hypot(xs - cx, ys - cy) - r
                cover = np.clip(0.5 - dist, 0.0, 1.0)  # one pixel of anti-aliasing
                img = img * (1 - cover) + colour[:, None, None] * cover
            images[i] = img
        pixels = np.clip(images * 255 + 0.5, 0, 255).astype(np.uint8)
        if channels == 1:
            grey = np.tensordot(np.array([0.299, 0.587, 0.114]), pixels.astype(np.float32), axes=([0], [1]))
            pixels = np.clip(grey + 0.5, 0, 255).astype(np.uint8)[:, None]
        out.append(ImageDataset(torch.from_numpy(pixels), None, f"synthetic:{name}[{domain}]"))
    return out[0], out[1]


def parse_domains(data: Any) -> tuple[Any, Any] | str:
    """The two sources of ``data``: 'A:B', a pair (a, b), {'a': …, 'b': …}; or a synthetic pair's name."""
    if isinstance(data, dict):
        keys = {str(k).lower(): v for k, v in data.items()}
        if set(keys) != {"a", "b"}:
            raise AtelierError(f"data {data!r}: a dict of domains needs exactly the keys 'a' and 'b'")
        return keys["a"], keys["b"]
    if isinstance(data, (tuple, list)):
        if len(data) != 2:
            raise AtelierError(f"data {data!r}: CycleGAN trains on two domains, got {len(data)}")
        return data[0], data[1]
    text = str(data)
    if text.startswith("synthetic:"):
        return text.removeprefix("synthetic:")
    parts = text.split(":")
    if len(parts) != 2 or not all(parts):
        raise AtelierError(
            f"data {text!r}: CycleGAN trains on two domains; give FOLDER_A:FOLDER_B or one of: "
            f"{', '.join('synthetic:' + k for k in SYNTHETIC)}")
    return parts[0], parts[1]


def load_domains(data: Any, *, size: int, channels: int = 3, limit: int | None = None,
                 max_pixels: int | None = None) -> tuple[ImageDataset, ImageDataset]:
    """Both domains of ``data`` at ``size`` px and ``channels`` (each side may be anything
    :func:`atelier.data.images.load_images` reads: a folder, an .npz, a built-in dataset)."""
    sources = parse_domains(data)
    if isinstance(sources, str):
        if limit is not None and limit <= 0:
            raise AtelierError(f"limit={limit}: must be a positive number of images")
        n = SYNTHETIC_COUNT if limit is None else min(limit, SYNTHETIC_COUNT)
        return synthetic_domains(sources, size=size, channels=channels, n=n)
    domains = []
    for side, source in zip("AB", sources):
        ds = load_images(source, size=size, channels=channels, limit=limit,
                         max_pixels=max_pixels or DEFAULT_MAX_PIXELS)
        if ds.skipped:
            warnings.warn(f"skipped {len(ds.skipped)} unreadable or unsupported file(s) in domain {side} ({source}); "
                          f"first: {ds.skipped[0]}", stacklevel=2)
        domains.append(ds)
    return domains[0], domains[1]
