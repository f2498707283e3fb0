"""Picture grids of image batches, without torchvision.

Every image model in Atelier works with float batches (N, C, H, W) scaled to [-1, 1]. These helpers
tile such a batch into one picture (:func:`make_grid`), turn a picture into a PIL image
(:func:`to_pil`) and write it to disk atomically (:func:`write_grid`, :func:`write_gif`), so a preview that is being
written is never seen half-finished.

Example:
    >>> import torch
    >>> grid = make_grid(torch.zeros(10, 1, 28, 28), nrow=5)
    >>> grid.shape  # 2 rows of 5, 2 px padding around every tile
    torch.Size([1, 62, 152])
    >>> to_pil(grid).size
    (152, 62)
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from atelier.errors import AtelierError
from atelier.imageio import write_image
from atelier.io import atomic_write


def _check_images(images: torch.Tensor) -> None:
    if not torch.is_tensor(images) or images.ndim != 4 or images.shape[1] not in (1, 3) or images.shape[0] == 0:
        shape = tuple(images.shape) if torch.is_tensor(images) else type(images).__name__
        raise AtelierError(f"images {shape}; expected a non-empty (N, 1 or 3, H, W) tensor in [-1, 1]")


def make_grid(images: torch.Tensor, *, nrow: int = 8, padding: int = 2, pad_value: float = 1.0) -> torch.Tensor:
    """Tile ``images`` (N, C, H, W) into one picture (C, H', W'), ``nrow`` images per row.

    Values stay in [-1, 1]; ``pad_value`` fills the gaps and the unused cells of the last row
    (1.0 is white). The grid is ``ceil(N / nrow)`` rows of ``min(N, nrow)`` columns, each tile
    surrounded by ``padding`` pixels.

    >>> import torch
    >>> make_grid(torch.zeros(3, 3, 8, 8), nrow=2, padding=1).shape
    torch.Size([3, 19, 19])
    """
    _check_images(images)
    if nrow < 1 or padding < 0:
        raise AtelierError(f"nrow={nrow}, padding={padding}; need nrow >= 1 and padding >= 0")
    n, c, h, w = images.shape
    cols = min(n, nrow)
    rows = math.ceil(n / cols)
    cell_h, cell_w = h + padding, w + padding
    grid = torch.full((c, rows * cell_h + padding, cols * cell_w + padding), float(pad_value),
                      dtype=torch.float32)  # (C, H', W')
    pictures = images.detach().float().cpu()
    for i in range(n):
        r, k = divmod(i, cols)
        top, left = r * cell_h + padding, k * cell_w + padding
        grid[:, top:top + h, left:left + w] = pictures[i]
    return grid


def to_pil(grid: torch.Tensor) -> Image.Image:
    """A picture (C, H, W) in [-1, 1] as an 8-bit PIL image ("L" for C=1, "RGB" for C=3).

    Values outside [-1, 1] are clipped.

    >>> import torch
    >>> to_pil(torch.ones(3, 4, 6)).mode
    'RGB'
    """
    if not torch.is_tensor(grid) or grid.ndim != 3 or grid.shape[0] not in (1, 3):
        shape = tuple(grid.shape) if torch.is_tensor(grid) else type(grid).__name__
        raise AtelierError(f"picture {shape}; expected a (1 or 3, H, W) tensor in [-1, 1]")
    pixels = ((grid.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)  # (C, H, W)
    array = pixels.permute(1, 2, 0).numpy()  # (H, W, C)
    if array.shape[2] == 1:
        return Image.fromarray(array[:, :, 0])  # 2-D uint8 → "L"
    return Image.fromarray(array)  # (H, W, 3) uint8 → "RGB"


def write_grid(images: torch.Tensor, path: str | os.PathLike, *, nrow: int | None = None, padding: int = 2,
               pad_value: float = 1.0, metadata: dict[str, Any] | None = None) -> Path:
    """Write ``images`` (N, C, H, W) in [-1, 1] as one grid picture at ``path`` and return the path.

    ``nrow`` images a row (default: a square grid). The format follows the extension (.png, .jpg,
    .webp); ``metadata`` is embedded. The file is written to a temporary name and renamed into
    place, so readers never see a partial picture.

    >>> import os, tempfile, torch
    >>> p = write_grid(torch.zeros(4, 1, 28, 28), os.path.join(tempfile.mkdtemp(), "grid.png"), nrow=2)
    >>> p.name
    'grid.png'
    """
    nrow = nrow or max(1, math.ceil(math.sqrt(images.shape[0])))
    picture = to_pil(make_grid(images, nrow=nrow, padding=padding, pad_value=pad_value))
    return write_image(picture, path, metadata=metadata)


GIF_COMMENT_PREFIX = "atelier "  # a GIF comment extension starting so holds the recipe's JSON


def write_gif(frames: torch.Tensor, path: str | os.PathLike, *, scale: int = 4, duration_ms: int = 120,
              metadata: dict[str, Any] | None = None) -> Path:
    """An animated GIF of ``frames`` (N, C, H, W) in [-1, 1] that plays forward and back (a
    "boomerang"), each frame scaled up ``scale`` times, written atomically.

    ``metadata`` (a recipe) goes into a GIF comment extension, ``atelier {…}``, with ``output``
    recording ``scale`` and ``duration_ms`` so the same GIF can be made again; :func:`read_gif_metadata`
    reads it.

    >>> import os, tempfile, torch
    >>> p = write_gif(torch.zeros(3, 1, 4, 4), os.path.join(tempfile.mkdtemp(), "m.gif"), metadata={"seed": 2})
    >>> read_gif_metadata(p)
    {'output': {'duration_ms': 120, 'scale': 4}, 'seed': 2}
    """
    pics = [to_pil(f).resize((f.shape[-1] * scale, f.shape[-2] * scale), resample=0) for f in frames]
    loop = pics + pics[-2:0:-1]
    options: dict[str, Any] = {}
    if metadata:
        metadata = {**metadata, "output": {**metadata.get("output", {}), "scale": scale, "duration_ms": duration_ms}}
        options["comment"] = (GIF_COMMENT_PREFIX + json.dumps(metadata, sort_keys=True, default=str)).encode()
    return atomic_write(path, lambda tmp: loop[0].save(tmp, format="GIF", save_all=True, append_images=loop[1:],
                                                       duration=duration_ms, loop=0, **options))


def read_gif_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata :func:`write_gif` embedded, or ``{}``."""
    with Image.open(path) as img:
        comment = img.info.get("comment", b"")
    text = comment.decode("utf-8", "replace") if isinstance(comment, bytes) else str(comment)
    return json.loads(text[len(GIF_COMMENT_PREFIX):]) if text.startswith(GIF_COMMENT_PREFIX) else {}
