"""Picture grids: tile placement, padding, PIL conversion and atomic saving."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from atelier.errors import AtelierError
from atelier.images.grid import make_grid, write_grid, to_pil


def test_tiles_sit_in_row_major_order_inside_the_padding():
    images = torch.stack([torch.full((1, 3, 4), float(i) / 10) for i in range(5)])  # (5, 1, 3, 4)
    grid = make_grid(images, nrow=3, padding=1, pad_value=-1.0)
    assert grid.shape == (1, 2 * 4 + 1, 3 * 5 + 1)  # 2 rows × 3 columns of (3+1)×(4+1) cells
    for i in range(5):
        r, c = divmod(i, 3)
        tile = grid[:, 1 + r * 4:1 + r * 4 + 3, 1 + c * 5:1 + c * 5 + 4]
        assert torch.equal(tile, images[i])
    assert (grid[:, 0, :] == -1).all() and (grid[:, :, 0] == -1).all()  # padding
    assert (grid[:, 5:8, 11:15] == -1).all()  # the empty sixth cell


def test_fewer_images_than_a_row_make_a_narrower_grid():
    assert make_grid(torch.zeros(2, 3, 8, 8), nrow=8).shape == (3, 12, 22)


def test_to_pil_maps_minus_one_to_black_and_one_to_white():
    grey = to_pil(torch.tensor([[[-1.0, 0.0, 1.0, 7.0]]]))
    assert grey.mode == "L" and grey.size == (4, 1)
    assert list(grey.tobytes()) == [0, 128, 255, 255]  # values beyond 1 are clipped
    assert to_pil(torch.zeros(3, 2, 2)).mode == "RGB"


def test_write_grid_writes_the_grid_and_leaves_no_temporary_file(tmp_path):
    path = write_grid(torch.ones(4, 3, 8, 8), tmp_path / "out" / "grid.png", nrow=2)
    with Image.open(path) as picture:
        assert picture.size == (22, 22) and picture.mode == "RGB"
    assert [p.name for p in path.parent.iterdir()] == ["grid.png"]


@pytest.mark.parametrize("images", [torch.zeros(2, 2, 8, 8), torch.zeros(8, 8), torch.zeros(0, 1, 8, 8)])
def test_bad_batches_are_rejected(images):
    with pytest.raises(AtelierError, match=r"\(N, 1 or 3, H, W\)"):
        make_grid(images)


def test_unknown_extension_is_rejected(tmp_path):
    with pytest.raises(AtelierError, match="extension '.xyz'"):
        write_grid(torch.zeros(1, 1, 4, 4), tmp_path / "grid.xyz")
