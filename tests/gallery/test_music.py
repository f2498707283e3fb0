import pytest

from atelier import zoo
from atelier.gallery.music import RNN_MODEL, VAE_MODEL, music_section

pytestmark = pytest.mark.skipif(
    not {RNN_MODEL, VAE_MODEL} <= set(zoo.available_models()), reason="the shipped music models are not installed"
)


def test_music_section_plays_and_shows_everything_it_links(tmp_path):
    section = music_section(tmp_path, quick=True)
    assert section.title.startswith("Music")
    for needle in ("<audio controls", "composed/melody_001.wav", "interpolation/interpolation.wav",
                   "interpolation/interpolation.png", ".mid", "<table>"):
        assert needle in section.html
    import re

    for src in re.findall(r'(?:src|href)="([^"]+)"', section.html):
        assert (tmp_path / src).is_file(), src
