"""The style models' pictures: bundled photos and paintings, seeded crops, and the one fingerprint."""

import numpy as np
import pytest
import torch
from PIL import Image

from atelier.data import fingerprint
from atelier.data.photos import (
    HELD_OUT_PHOTOS,
    PAINTINGS,
    PHOTOS,
    TRAIN_PHOTOS,
    CropPairs,
    RandomCrops,
    load_image,
    load_photos,
    painting_path,
)
from atelier.errors import AtelierError


def _photos():
    g = torch.Generator().manual_seed(0)
    return [(torch.rand(3, 48, 64, generator=g) * 255).to(torch.uint8) for _ in range(3)]


def test_crops_are_a_fixed_function_of_their_index():
    crops = RandomCrops(_photos(), size=16, length=10, seed=3)
    torch.testing.assert_close(crops.crop(7), RandomCrops(_photos(), size=16, length=10, seed=3).crop(7))
    assert not torch.equal(crops.crop(7), crops.crop(4))
    batch = crops.get_batch(torch.tensor([7, 4]))
    assert tuple(batch.shape) == (2, 3, 16, 16) and 0 <= batch.min() and batch.max() <= 1


def test_crop_pairs_need_sets_of_equal_length():
    with pytest.raises(AtelierError, match="10 content crops but 5 style crops"):
        CropPairs(RandomCrops(_photos(), size=16, length=10), RandomCrops(_photos(), size=16, length=5))


def test_fingerprint_changes_with_any_byte_or_the_shape_and_not_with_the_container():
    photos = _photos()
    same = fingerprint(*photos)
    assert fingerprint(*[p.numpy() for p in photos]) == same and len(same) == 64
    changed = [p.clone() for p in photos]
    changed[2][0, 0, 0] ^= 1
    assert fingerprint(*changed) != same
    assert fingerprint(*[p.reshape(3, 64, 48) for p in photos]) != same
    assert fingerprint(*photos[::-1]) != same


def test_held_out_photos_are_bundled_and_never_trained_on():
    assert set(HELD_OUT_PHOTOS) <= set(PHOTOS) and not set(HELD_OUT_PHOTOS) & set(TRAIN_PHOTOS)
    assert set(TRAIN_PHOTOS) | set(HELD_OUT_PHOTOS) == set(PHOTOS)
    assert all(painting_path(n).is_file() for n in PAINTINGS)


def test_load_photos_reads_names_files_and_folders(tmp_path):
    (tmp_path / "sub").mkdir()
    Image.fromarray(np.zeros((20, 30, 3), dtype=np.uint8)).save(tmp_path / "sub" / "a.png")
    Image.fromarray(np.full((40, 10, 3), 200, dtype=np.uint8)).save(tmp_path / "b.jpg")
    pictures = load_photos([tmp_path, "coffee"], short_side=10)
    assert [tuple(p.shape) for p in pictures][:2] == [(3, 40, 10), (3, 10, 15)]  # sorted: b.jpg, sub/a.png
    assert pictures[0].dtype == torch.uint8 and len(pictures) == 3
    assert len(load_photos("photos", short_side=16, limit=5)) == 5


def test_a_training_set_with_a_bad_picture_is_an_error(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(AtelierError, match="cannot be read"):
        load_photos(tmp_path)
    (tmp_path / "broken.png").unlink()
    with pytest.raises(AtelierError, match="holds no images"):
        load_photos(tmp_path)


@pytest.mark.parametrize(
    "source, message",
    [
        (torch.rand(1, 1, 8, 8), r"is a tensor \(1, 1, 8, 8\); expected \(1, 3, H, W\)"),
        (torch.rand(1, 3, 8, 8) + 1, "outside"),
        ("no_such_painting", "no_such_painting: no such file"),
    ],
)
def test_load_image_names_what_is_wrong(source, message):
    with pytest.raises(AtelierError, match=message):
        load_image(source)
