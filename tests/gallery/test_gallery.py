"""The demo gallery: the page around the sections, and the image section's pictures."""

from pathlib import Path

from atelier.gallery import build_gallery
from atelier.gallery.page import Section, figure, table


def fake_section(out: Path, quick: bool) -> Section:
    (out / "images").mkdir(exist_ok=True)
    (out / "images" / "x.png").write_bytes(b"png")
    return Section("Fake <models>", figure("images/x.png", "a & b") + table([{"model": "m", "fd": 1.23456}], ["model", "fd"]))


def test_gallery_page_holds_each_section_escaped(tmp_path):
    index = build_gallery(tmp_path, sections=(fake_section,))
    page = index.read_text()
    assert "<h2>Fake &lt;models&gt;</h2>" in page
    assert 'src="images/x.png"' in page and "a &amp; b" in page and "<td>1.235</td>" in page


def test_image_section_makes_every_picture(tmp_path):
    from atelier.gallery.images import image_generation_section

    section = image_generation_section(tmp_path, quick=True)
    for name in ("mnist-cgan-rows.png", "mnist-dcgan-interpolation.png", "mnist-dcgan-interpolation.gif",
                 "mnist-vae-reconstructions.png"):
        assert (tmp_path / "images" / name).stat().st_size > 0
    assert "mnist-dcgan" in section.html and "not comparable with Inception FID" in section.html
