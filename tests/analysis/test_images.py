"""Each picture feature on hand-made pictures whose answer is known."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from atelier.analysis.images import (
    ANALYSIS_SIDE,
    NUMBER_NAMES,
    analyze_image,
    box_counting_dimension,
    palette,
    read_picture,
    symmetry,
)
from atelier.errors import AtelierError


def solid(rgb: tuple[float, float, float], size: int = 32) -> torch.Tensor:
    return torch.tensor(rgb, dtype=torch.float32).view(3, 1, 1).expand(3, size, size).contiguous()


def test_a_pure_red_picture_has_one_red_colour_and_is_more_colourful_than_grey():
    red, grey = analyze_image(solid((1.0, 0.0, 0.0))), analyze_image(solid((0.5, 0.5, 0.5)))
    assert len(red.palette) == 1
    (r, g, b), share = red.palette[0]
    assert (r, g, b) == (255, 0, 0) and share == pytest.approx(1.0)
    assert red.palette[0].hex == "#ff0000"
    assert grey.colourfulness == pytest.approx(0.0, abs=1e-9)
    assert red.colourfulness > 80  # Hasler & Süsstrunk's "highly colourful" starts at 82; pure red is 85.5
    assert red.saturation == pytest.approx(1.0) and grey.saturation == pytest.approx(0.0)


def test_palette_shares_follow_the_areas():
    rgb = np.zeros((20, 20, 3))
    rgb[:, :5] = [0.0, 0.0, 1.0]  # a quarter blue, the rest black
    colours = palette(rgb)
    assert [c.hex for c in colours] == ["#000000", "#0000ff"]
    assert [c.share for c in colours] == pytest.approx([0.75, 0.25])
    assert palette(rgb, k=0) == ()


def test_brightness_and_contrast_of_hand_made_pictures():
    halves = torch.zeros(3, 16, 16)
    halves[:, :, 8:] = 1.0  # black and white halves: mean 0.5, standard deviation 0.5
    a = analyze_image(halves)
    assert a.brightness == pytest.approx(0.5) and a.contrast == pytest.approx(0.5)
    flat = analyze_image(solid((0.25, 0.25, 0.25)))
    assert flat.brightness == pytest.approx(0.25, abs=1e-6) and flat.contrast == pytest.approx(0.0, abs=1e-6)
    assert flat.entropy == 0.0 and a.entropy == pytest.approx(1.0)  # one tone; two equal tones = 1 bit


def test_grey_pictures_work_in_every_form(tmp_path):
    grey = torch.rand(1, 24, 24, generator=torch.Generator().manual_seed(0))
    as_rgb = analyze_image(grey.expand(3, -1, -1))
    path = tmp_path / "grey.png"
    Image.fromarray((grey[0].numpy() * 255).round().astype(np.uint8), "L").save(path)
    from_file = analyze_image(path)
    assert analyze_image(grey).numbers() == as_rgb.numbers()
    assert from_file.name == "grey" and from_file.colourfulness == 0.0
    assert from_file.brightness == pytest.approx(as_rgb.brightness, abs=2e-3)  # 8-bit rounding


def test_a_mirror_image_is_symmetric_and_noise_is_not():
    rng = np.random.default_rng(0)
    half = rng.random((32, 16, 3))
    assert symmetry(np.concatenate([half, half[:, ::-1]], axis=1)) == pytest.approx(1.0)
    assert symmetry(rng.random((32, 32, 3))) < 0.1
    assert analyze_image(torch.from_numpy(np.concatenate([half, half[:, ::-1]], axis=1)).permute(2, 0, 1).float()
                         ).symmetry == pytest.approx(1.0, abs=1e-6)


def blob_at(cx: float, cy: float, size: int = 96) -> torch.Tensor:
    """A dark, faintly textured picture with one bright square blob centred at (cx, cy) (fractions)."""
    x = 0.1 + 0.05 * torch.rand(1, size, size, generator=torch.Generator().manual_seed(1))
    r, x0, y0 = size // 16, round(cx * size), round(cy * size)
    x[:, y0 - r:y0 + r, x0 - r:x0 + r] = 1.0
    return x


def test_a_blob_on_a_thirds_crossing_scores_higher_thirds_and_lower_balance_than_a_centred_one():
    on_thirds, centred = analyze_image(blob_at(1 / 3, 1 / 3)), analyze_image(blob_at(0.5, 0.5))
    assert on_thirds.thirds > 2 * centred.thirds
    assert on_thirds.thirds > 1.5  # well above uniform saliency's 1
    assert centred.balance > 0.95 > on_thirds.balance
    cx, cy = on_thirds.saliency_centre
    assert abs(cx - 1 / 3) < 0.06 and abs(cy - 1 / 3) < 0.06  # the salient mass sits on the blob


def test_box_counting_dimension_of_a_square_a_line_and_nothing():
    square = np.zeros((128, 128), bool)
    square[32:96, 32:96] = True
    line, diagonal = np.zeros((128, 128), bool), np.eye(128, dtype=bool)
    line[:, 50] = True
    assert box_counting_dimension(square) == pytest.approx(2.0, abs=0.05)
    assert box_counting_dimension(line) == pytest.approx(1.0, abs=0.02)
    assert box_counting_dimension(diagonal) == pytest.approx(1.0, abs=0.05)
    assert box_counting_dimension(np.zeros((64, 64), bool)) == 0.0


def test_edges_of_a_flat_picture_and_of_a_square():
    flat = analyze_image(solid((0.3, 0.6, 0.2), size=64))
    square = torch.zeros(3, 64, 64)
    square[:, 16:48, 16:48] = 1.0
    framed = analyze_image(square)
    assert flat.edge_density == 0.0 and flat.fractal_dimension == 0.0
    assert 0.025 < framed.edge_density < 0.06  # one outline: about 4 × 32 of 4096 pixels
    assert framed.fractal_dimension == pytest.approx(1.0, abs=0.15)  # an outline is a curve


def test_numbers_and_json():
    a = analyze_image("coffee")
    assert tuple(a.numbers()) == NUMBER_NAMES
    record = json.loads(json.dumps(a.to_json()))
    assert (record["name"], record["width"], record["height"]) == ("coffee", 600, 400)
    assert sum(c["share"] for c in record["palette"]) == pytest.approx(1.0, abs=1e-5)
    assert all(0 <= a.numbers()[k] <= 1 for k in ("brightness", "saturation", "edge_density", "symmetry", "balance"))


def test_a_large_picture_reports_its_own_size_and_is_measured_at_the_analysis_scale():
    big = analyze_image(solid((0.2, 0.4, 0.6), size=2 * ANALYSIS_SIDE))
    assert (big.width, big.height) == (2 * ANALYSIS_SIDE, 2 * ANALYSIS_SIDE)
    assert big.brightness == pytest.approx(analyze_image(solid((0.2, 0.4, 0.6))).brightness, abs=1e-6)


def test_an_unreadable_file_is_a_one_line_error_naming_it(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"this is not a png")
    with pytest.raises(AtelierError) as err:
        analyze_image(bad)
    assert str(bad) in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(AtelierError, match="nowhere.jpg"):
        analyze_image(tmp_path / "nowhere.jpg")


@pytest.mark.parametrize("picture, message", [
    (torch.rand(2, 8, 8), r"expected \(1, 3, H, W\)"),
    (torch.full((3, 8, 8), 2.0), "outside"),
    (torch.rand(3, 4, 40), "at least 8 px"),
    (42, "give a file"),
])
def test_bad_pictures_are_refused(picture, message):
    with pytest.raises(AtelierError, match=message):
        analyze_image(picture)


def test_read_picture_names_what_it_read():
    assert read_picture("chelsea")[1] == "chelsea"
    assert read_picture(Image.new("RGB", (9, 9)), name="mine")[1] == "mine"
