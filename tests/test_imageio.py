import numpy as np
import pytest
from PIL import Image

from atelier.errors import AtelierError
from atelier.imageio import read_image, read_metadata, write_image


def test_modes_are_converted(tmp_path):
    Image.new("CMYK", (5, 4), (0, 255, 0, 0)).save(tmp_path / "cmyk.jpg")
    Image.new("P", (5, 4)).save(tmp_path / "pal.png")
    Image.fromarray(np.full((4, 5), 65535, dtype=np.uint16)).save(tmp_path / "deep.png")
    assert read_image(tmp_path / "cmyk.jpg").mode == "RGB"
    assert read_image(tmp_path / "pal.png", mode="L").mode == "L"
    deep = read_image(tmp_path / "deep.png", mode="L")
    assert np.asarray(deep).max() == 255  # 16-bit white stays white


def test_alpha_is_flattened_or_kept(tmp_path):
    Image.new("RGBA", (3, 3), (255, 0, 0, 0)).save(tmp_path / "a.png")
    assert read_image(tmp_path / "a.png").getpixel((0, 0)) == (255, 255, 255)
    assert read_image(tmp_path / "a.png", mode="RGBA").getpixel((0, 0))[3] == 0


def test_exif_orientation_is_honoured(tmp_path):
    img = Image.new("RGB", (6, 3))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    img.save(tmp_path / "o.jpg", exif=exif.tobytes())
    assert read_image(tmp_path / "o.jpg").size == (3, 6)


def test_decompression_bomb_guard(tmp_path):
    Image.new("L", (100, 100)).save(tmp_path / "big.png")
    with pytest.raises(AtelierError, match="over the limit of 1,000"):
        read_image(tmp_path / "big.png", max_pixels=1000)


def _png_header(path, width, height):
    """A PNG that declares ``width``×``height`` grey pixels and holds none: a decompression bomb's header."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    return path


def test_a_bomb_pillow_refuses_gets_the_guard_message(tmp_path):
    bomb = _png_header(tmp_path / "bomb.png", 20_000, 20_000)  # 400 M pixels: Pillow stops at open
    with pytest.raises(AtelierError) as info:
        read_image(bomb)
    message = str(info.value)
    assert str(bomb) in message and "400,000,000 pixels" in message and "--max-pixels" in message
    assert "decompression-bomb guard" in message and "DOS attack" not in message
    with pytest.raises(AtelierError, match="Pillow's hard limit"):
        read_image(bomb, max_pixels=10**9)


def test_truncated_and_unsupported_files(tmp_path):
    Image.new("RGB", (64, 64), (9, 9, 9)).save(tmp_path / "t.jpg")
    raw = (tmp_path / "t.jpg").read_bytes()
    (tmp_path / "t.jpg").write_bytes(raw[:100])
    with pytest.raises(AtelierError, match="t.jpg: cannot be read"):
        read_image(tmp_path / "t.jpg")
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(AtelierError, match="unsupported file type '.txt'"):
        read_image(tmp_path / "notes.txt")
    with pytest.raises(AtelierError, match="no such file"):
        read_image(tmp_path / "missing.png")


@pytest.mark.parametrize("ext", [".png", ".jpg", ".webp"])
def test_write_with_metadata(tmp_path, ext):
    path = write_image(Image.new("RGB", (4, 4)), tmp_path / f"o{ext}", metadata={"seed": 3, "model": "x"})
    assert read_metadata(path) == {"seed": 3, "model": "x"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"o{ext}"]  # no temporary left behind


def test_write_unknown_extension(tmp_path):
    with pytest.raises(AtelierError, match="unsupported extension '.tga'"):
        write_image(Image.new("RGB", (4, 4)), tmp_path / "o.tga")
