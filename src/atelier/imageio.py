"""Reading and writing image files safely.

* EXIF orientation is honoured; grey, RGBA, palette, CMYK and 16-bit files are converted to the
  mode asked for (``"L"`` or ``"RGB"``), with transparency flattened onto a background colour or kept
  as an alpha channel (``"RGBA"``).
* A decompression-bomb guard refuses files with more than ``max_pixels`` pixels before decoding.
* Output format follows the extension (png, jpg/jpeg, webp); parameters, seed and model hashes go
  into the file's metadata (PNG text chunks, or EXIF ImageDescription for JPEG/WebP); files are
  written to a temporary name and renamed, so an interrupted write leaves nothing half-written.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from atelier.errors import AtelierError
from atelier.io import atomic_write

READ_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")
WRITE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
ALPHA_EXTENSIONS = (".png", ".webp")  # the written formats that keep transparency (JPEG has none)
DEFAULT_MAX_PIXELS = 64_000_000  # 8000×8000; far beyond any model here, far below a bomb
MODES = ("L", "RGB", "RGBA")


def read_image(
    path: str | os.PathLike,
    *,
    mode: str = "RGB",
    max_pixels: int = DEFAULT_MAX_PIXELS,
    background: tuple[int, int, int] = (255, 255, 255),
) -> Image.Image:
    """Open an image file as a PIL image in ``mode`` ("L", "RGB" or "RGBA").

    >>> import tempfile, os
    >>> from PIL import Image
    >>> p = os.path.join(tempfile.mkdtemp(), "x.png"); Image.new("P", (4, 3)).save(p)
    >>> read_image(p, mode="RGB").size
    (4, 3)
    """
    path = Path(path)
    if mode not in MODES:
        raise AtelierError(f"unknown image mode {mode!r}; choose one of: {', '.join(MODES)}")
    if max_pixels <= 0:
        raise AtelierError(f"--max-pixels must be positive, got {max_pixels}")
    if not path.exists():
        raise AtelierError(f"image {path}: no such file")
    if path.is_dir():
        raise AtelierError(f"image {path}: is a folder, expected an image file")
    if path.suffix.lower() not in READ_EXTENSIONS:
        raise AtelierError(
            f"image {path}: unsupported file type {path.suffix or '(none)'!r}; "
            f"supported: {', '.join(READ_EXTENSIONS)}"
        )
    try:
        with warnings.catch_warnings():
            # Our own guard below decides; Pillow's warning would only repeat it in its words.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
            w, h = img.size
            if w <= 0 or h <= 0:
                raise AtelierError(f"image {path}: has zero size ({w}×{h})")
            if w * h > max_pixels:
                raise _bomb(path, f"{w}×{h} = {w * h:,}", max_pixels)
            img.load()
    except AtelierError:
        raise
    except Image.DecompressionBombError as exc:
        # Pillow refuses files over twice its MAX_IMAGE_PIXELS when opening them, before we see the
        # size; its message holds the pixel count, which our guard's message reports instead.
        found = re.search(r"\((\d+) pixels\)", str(exc))
        pixels = int(found.group(1)) if found else None
        if pixels is not None and pixels <= max_pixels:  # --max-pixels was raised past Pillow's own stop
            raise AtelierError(f"image {path}: {pixels:,} pixels is over Pillow's hard limit of "
                               f"{2 * Image.MAX_IMAGE_PIXELS:,} (decompression-bomb guard), which --max-pixels "
                               "cannot raise") from None
        raise _bomb(path, "too many" if pixels is None else f"{pixels:,}", max_pixels) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise AtelierError(f"image {path}: cannot be read (corrupt or truncated: {exc})") from None
    return _convert(ImageOps.exif_transpose(img), mode, background)


def _bomb(path: Path, pixels: str, max_pixels: int) -> AtelierError:
    """The decompression-bomb guard's one line: the file, its pixel count and the limit."""
    return AtelierError(f"image {path}: {pixels} pixels is over the limit of {max_pixels:,} "
                        "(decompression-bomb guard); raise it with --max-pixels if the file is trusted")


def _convert(img: Image.Image, mode: str, background: tuple[int, int, int]) -> Image.Image:
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit (or 32-bit integer) grey: scale to 8 bits by the type's range, not by clipping.
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        img = Image.fromarray(np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    elif img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        img = Image.fromarray(((arr - lo) / max(hi - lo, 1e-12) * 255).astype(np.uint8), "L")
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    if mode == "RGBA":
        return img.convert("RGBA")
    if has_alpha:
        rgba = img.convert("RGBA")
        flat = Image.new("RGBA", rgba.size, (*background, 255))
        flat.alpha_composite(rgba)
        img = flat.convert("RGB")
    if img.mode == "CMYK":
        img = img.convert("RGB")
    return img.convert(mode)


def to_array(img: Image.Image) -> np.ndarray:
    """A PIL image as uint8 (C, H, W)."""
    arr = np.asarray(img, dtype=np.uint8)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return np.ascontiguousarray(arr.transpose(2, 0, 1))


def resize_crop(img: Image.Image, size: int | tuple[int, int]) -> Image.Image:
    """Scale the short side to the target and centre-crop to exactly ``size`` (square if an int)."""
    tw, th = (size, size) if isinstance(size, int) else size
    return ImageOps.fit(img, (tw, th), method=Image.Resampling.LANCZOS)


def read_image_batch(paths: Sequence[str | os.PathLike], *, channels: int, size: int) -> np.ndarray:
    """Image files as one uint8 batch (N, C, H, W) for a model of ``channels`` (1 or 3) and
    ``size`` px: each scaled and centre-cropped to ``size`` × ``size``.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x.png"); Image.new("RGB", (6, 4)).save(p)
    >>> read_image_batch([p, p], channels=1, size=2).shape
    (2, 1, 2, 2)
    """
    mode = "L" if channels == 1 else "RGB"
    return np.stack([to_array(resize_crop(read_image(p, mode=mode), size)) for p in paths])


def write_image(
    img: Image.Image,
    path: str | os.PathLike,
    *,
    metadata: dict[str, Any] | None = None,
    quality: int = 95,
) -> Path:
    """Save ``img`` with the format its extension names, with ``metadata`` embedded, atomically."""
    path = Path(path)
    fmt = WRITE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise AtelierError(
            f"output {path}: unsupported extension {path.suffix or '(none)'!r}; choose one of: "
            f"{', '.join(WRITE_FORMATS)}"
        )
    text = json.dumps(metadata, sort_keys=True, default=str) if metadata else None
    kwargs: dict[str, Any] = {}
    if fmt == "PNG":
        if text:
            info = PngImagePlugin.PngInfo()
            info.add_text("atelier", text)
            kwargs["pnginfo"] = info
    else:
        if img.mode not in ("RGB", "L") and not (fmt == "WEBP" and img.mode == "RGBA"):
            img = img.convert("RGB")
        kwargs["quality"] = quality
        if text:
            exif = Image.Exif()
            exif[0x010E] = "atelier " + text  # ImageDescription
            kwargs["exif"] = exif.tobytes()
    return atomic_write(path, lambda tmp: img.save(tmp, format=fmt, **kwargs))


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata :func:`write_image` embedded, or ``{}``."""
    with Image.open(path) as img:
        if "atelier" in getattr(img, "text", {}) or "atelier" in img.info:
            return json.loads(img.info["atelier"])
        desc = img.getexif().get(0x010E)
    if isinstance(desc, str) and desc.startswith("atelier "):
        return json.loads(desc[len("atelier "):])
    return {}
