"""Picture grids of image batches, without torchvision.

Every image model in Atelier works with float batches (N, C, H, W) scaled to [-1, 1]. These helpers
tile such a batch into one picture (:func:`make_grid`), turn a picture into a PIL image
(:func:`to_pil`) and write it to disk atomically (:func:`save_image`), so a preview that is being
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

import math
import os
import tempfile
from pathlib import Path

import torch
from PIL import Image

from atelier.errors import AtelierError


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


def save_image(images: torch.Tensor, path: str | os.PathLike, *, nrow: int = 8, padding: int = 2,
               pad_value: float = 1.0) -> Path:
    """Write ``images`` (N, C, H, W) in [-1, 1] as one grid picture at ``path`` and return the path.

    The format follows the extension (.png, .jpg, ...). The file is written to a temporary name in
    the same folder and renamed into place, so readers never see a partial picture.

    >>> import os, tempfile, torch
    >>> p = save_image(torch.zeros(4, 1, 28, 28), os.path.join(tempfile.mkdtemp(), "grid.png"), nrow=2)
    >>> p.name
    'grid.png'
    """
    path = Path(path)
    image_format = Image.registered_extensions().get(path.suffix.lower())
    if image_format is None:
        raise AtelierError(f"picture path {str(path)!r}: unknown image extension {path.suffix!r}; use .png or .jpg")
    picture = to_pil(make_grid(images, nrow=nrow, padding=padding, pad_value=pad_value))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        picture.save(tmp, format=image_format)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
