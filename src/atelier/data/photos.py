"""Pictures for style transfer, in [0, 1]: the bundled photos, paintings and textures, and random crops.

Everything here works offline:

* photos (``"photos"``, the default training content): every natural photograph that ships
  with scikit-image and scikit-learn — astronaut, coffee, chelsea, rocket, camera, clock, coins
  and moon (grey), the left view of stereo_motorcycle, scikit-learn's china and flower — and
  ``faces``, a mosaic of the 200 faces of scikit-image's LFW subset (grey, 25 px each, shown at
  50 px);
* paintings: three public-domain paintings in ``atelier/style/paintings`` (see its README),
  usable by name wherever a style image is taken: ``starry_night``, ``the_scream``, ``shipwreck``;
* textures: scikit-image's brick, grass, gravel (grey) and two colourful microscope and
  telescope pictures, which widen the set of styles the AdaIN decoder sees in training.

Pictures are float tensors ``(1, 3, H, W)`` in ``[0, 1]`` (the style models' convention; the image
generators' datasets in :mod:`atelier.data.images` are in ``[-1, 1]``); training sets are kept as
uint8 ``(3, H, W)`` until a crop is drawn.

>>> photos = load_photos("photos", short_side=64)
>>> len(photos), tuple(photos[0].shape)
(12, (3, 64, 64))
>>> crops = RandomCrops(photos, size=32, length=100, seed=0)
>>> tuple(crops.get_batch(torch.tensor([0, 1])).shape)
(2, 3, 32, 32)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from atelier.errors import AtelierError
from atelier.imageio import DEFAULT_MAX_PIXELS, READ_EXTENSIONS, read_image

PAINTINGS_DIR = Path(__file__).resolve().parents[1] / "style" / "paintings"  # shipped with the style models
PAINTINGS = ("starry_night", "the_scream", "shipwreck")
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera", "motorcycle", "china", "flower", "clock", "coins",
          "moon", "faces")
TEXTURES = ("brick", "grass", "gravel", "immunohistochemistry", "hubble_deep_field")
# Photos no shipped style model trains on: the benchmarks and the picture table use them.
HELD_OUT_PHOTOS = ("chelsea", "coffee", "rocket", "motorcycle")
TRAIN_PHOTOS = tuple(p for p in PHOTOS if p not in HELD_OUT_PHOTOS)  # what the shipped style models train on
BUILTIN_CONTENT = "photos"  # the name of the bundled photo set, as a --data value


# ---------------------------------------------------------------------------------------------
# Tensors and PIL images
# ---------------------------------------------------------------------------------------------


def to_tensor(img: Image.Image) -> Tensor:
    """An RGB PIL image as a float tensor (1, 3, H, W) in [0, 1]."""
    arr = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0  # (H, W, 3)
    return torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0).contiguous()


def to_image(t: Tensor) -> Image.Image:
    """A tensor (1, 3, H, W) or (3, H, W) in [0, 1] as an 8-bit RGB PIL image (values clipped)."""
    if t.ndim == 4:
        t = t[0]
    arr = (t.detach().float().cpu().clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0)
    return Image.fromarray(arr.numpy(), "RGB")


def resize_long_side(img: Tensor, long_side: int) -> Tensor:
    """Resize (N, C, H, W) so that max(H, W) == long_side, keeping the aspect ratio."""
    h, w = img.shape[-2:]
    scale = long_side / max(h, w)
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    if size == (h, w):
        return img
    # Antialiased resampling can overshoot [0, 1] by a few ulps; pictures must stay in range.
    return F.interpolate(img, size=size, mode="bilinear", align_corners=False, antialias=size[0] < h).clamp(0, 1)


# ---------------------------------------------------------------------------------------------
# Bundled pictures
# ---------------------------------------------------------------------------------------------


def painting_path(name: str) -> Path:
    """The file of a bundled painting.

    >>> painting_path("starry_night").name
    'starry_night.jpg'
    """
    if name not in PAINTINGS:
        raise AtelierError(f"unknown painting {name!r}; choose one of: {', '.join(PAINTINGS)}")
    return PAINTINGS_DIR / f"{name}.jpg"


def builtin_image(name: str) -> Image.Image:
    """A bundled photo, painting or texture by name, as an RGB PIL image."""
    if name in PAINTINGS:
        return read_image(painting_path(name))
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        return Image.fromarray(load_sample_image(f"{name}.jpg")).convert("RGB")
    if name == "faces":  # 200 faces of 25 x 25 px in a 10 x 20 mosaic, each shown at 50 px
        import skimage.data

        faces = (np.asarray(skimage.data.lfw_subset()) * 255).round().astype(np.uint8)  # (200, 25, 25)
        mosaic = faces.reshape(10, 20, 25, 25).transpose(0, 2, 1, 3).reshape(250, 500)
        return Image.fromarray(mosaic).resize((1000, 500), Image.Resampling.BICUBIC).convert("RGB")
    if name in PHOTOS or name in TEXTURES:
        import skimage.data

        arr = skimage.data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(skimage.data, name)()
        return Image.fromarray(np.asarray(arr)).convert("RGB")
    raise AtelierError(
        f"unknown bundled image {name!r}; choose one of: {', '.join(PHOTOS + PAINTINGS + TEXTURES)}"
    )


def is_builtin(name: object) -> bool:
    return isinstance(name, str) and name in PHOTOS + PAINTINGS + TEXTURES


def not_found(source: str | os.PathLike) -> AtelierError:
    """The error for a picture that is neither a file nor a bundled name: it lists the bundled ones.

    >>> print(not_found("mona_lisa"))  # doctest: +ELLIPSIS
    image mona_lisa: no such file, nor a bundled picture; bundled paintings: starry_night, ...; textures: brick, ...
    """
    return AtelierError(f"image {source}: no such file, nor a bundled picture; bundled paintings: "
                        f"{', '.join(PAINTINGS)}; textures: {', '.join(TEXTURES)}; photos: {', '.join(PHOTOS)}")


def load_image(source: str | os.PathLike | Image.Image | Tensor, *, what: str = "image",
               max_pixels: int = DEFAULT_MAX_PIXELS) -> Tensor:
    """A picture as (1, 3, H, W) in [0, 1] from a bundled name, a file, a PIL image or a tensor.

    >>> tuple(load_image("the_scream").shape)
    (1, 3, 512, 402)
    """
    if isinstance(source, Tensor):
        if source.ndim == 3:
            source = source.unsqueeze(0)
        if source.ndim != 4 or source.shape[:2] != (1, 3) or not source.is_floating_point():
            raise AtelierError(f"{what} is a tensor {tuple(source.shape)}; expected (1, 3, H, W) floats in [0, 1]")
        if source.numel() == 0:
            raise AtelierError(f"{what} has zero size {tuple(source.shape)}")
        if source.min() < 0 or source.max() > 1:
            raise AtelierError(f"{what} has values outside [0, 1]")
        return source.float()
    if isinstance(source, Image.Image):
        if source.width == 0 or source.height == 0:
            raise AtelierError(f"{what} has zero size {source.size}")
        return to_tensor(source)
    if is_builtin(source) and not Path(source).exists():
        return to_tensor(builtin_image(str(source)))
    if not Path(source).exists():
        raise not_found(source)
    return to_tensor(read_image(source, max_pixels=max_pixels))


# ---------------------------------------------------------------------------------------------
# Training pictures
# ---------------------------------------------------------------------------------------------


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in READ_EXTENSIONS)


def _as_uint8(img: Image.Image, short_side: int | None) -> Tensor:
    if short_side is not None:
        scale = short_side / min(img.size)
        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                         Image.Resampling.LANCZOS)
    return torch.from_numpy(np.asarray(img.convert("RGB"), dtype=np.uint8).copy()).permute(2, 0, 1)


def load_photos(
    source: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    short_side: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    limit: int | None = None,
) -> list[Tensor]:
    """Pictures as uint8 tensors (3, H, W), their short side scaled to ``short_side``.

    ``source`` is ``"photos"`` (the bundled set), a bundled name, a file, a folder (searched
    recursively) or a list of those. Every file must be readable: a training set with a corrupt
    picture is an error, not a silent skip.
    """
    items = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    if not items:
        raise AtelierError("no pictures given; pass 'photos', bundled names, files or folders")
    out: list[Tensor] = []
    for item in items:
        path = Path(item)
        if str(item) == BUILTIN_CONTENT and not path.exists():
            out += [_as_uint8(builtin_image(n), short_side) for n in PHOTOS]
        elif is_builtin(item) and not path.exists():
            out.append(_as_uint8(builtin_image(str(item)), short_side))
        elif path.is_dir():
            files = _files(path)
            if not files:
                raise AtelierError(f"folder {path} holds no images ({', '.join(READ_EXTENSIONS)})")
            out += [_as_uint8(read_image(f, max_pixels=max_pixels), short_side) for f in files]
        else:
            out.append(_as_uint8(read_image(path, max_pixels=max_pixels), short_side))
    return out[:limit] if limit else out


class RandomCrops:
    """A fixed, seeded set of ``length`` square crops of ``images``, resized to ``size`` px.

    Crop ``i`` comes from picture ``i % len(images)``: a square whose side is drawn uniformly
    between ``min_fraction`` of the picture's short side and all of it, at a random place,
    mirrored half of the time (and, with ``permute_channels``, its RGB channels shuffled).
    Every choice is drawn from a generator seeded with ``(seed, i)``, so crop ``i`` is the same
    in every run and a resumed training run sees exactly the crops an uninterrupted one would.
    """

    def __init__(self, images: Sequence[Tensor], *, size: int, length: int, seed: int = 0,
                 min_fraction: float = 0.35, permute_channels: bool = False) -> None:
        if not images:
            raise AtelierError("RandomCrops needs at least one picture")
        small = [tuple(im.shape[-2:]) for im in images if min(im.shape[-2:]) < size // 2]
        if small:
            raise AtelierError(f"a picture of {small[0][0]}×{small[0][1]} px is too small for {size} px crops")
        self.images, self.size, self.length, self.seed = list(images), size, length, seed
        self.min_fraction, self.permute_channels = min_fraction, permute_channels

    def __len__(self) -> int:
        return self.length

    def crop(self, i: int) -> Tensor:
        """Crop ``i``: (3, size, size) in [0, 1]."""
        img = self.images[i % len(self.images)]
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + i)
        h, w = img.shape[-2:]
        short = min(h, w)
        lo = min(short, max(1, round(self.min_fraction * short)))
        side = int(torch.randint(lo, short + 1, (1,), generator=g))
        top = int(torch.randint(0, h - side + 1, (1,), generator=g))
        left = int(torch.randint(0, w - side + 1, (1,), generator=g))
        flip = bool(torch.rand(1, generator=g) < 0.5)
        perm = torch.randperm(3, generator=g)
        x = img[:, top:top + side, left:left + side].float().div(255).unsqueeze(0)  # (1, 3, side, side)
        x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False,
                          antialias=side > self.size)[0]
        if flip:
            x = x.flip(-1)
        if self.permute_channels:
            x = x[perm]
        return x.clamp(0, 1)

    def get_batch(self, idx: Tensor) -> Tensor:
        """Crops ``idx``: (B, 3, size, size) in [0, 1] (the training loop's batch)."""
        return torch.stack([self.crop(int(i)) for i in idx])


class CropPairs:
    """Pairs (content crop i, style crop i) of two :class:`RandomCrops` sets of equal length."""

    def __init__(self, content: RandomCrops, style: RandomCrops) -> None:
        if len(content) != len(style):
            raise AtelierError(f"{len(content)} content crops but {len(style)} style crops")
        self.content, self.style = content, style

    def __len__(self) -> int:
        return len(self.content)

    def get_batch(self, idx: Tensor) -> tuple[Tensor, Tensor]:
        return self.content.get_batch(idx), self.style.get_batch(idx)
