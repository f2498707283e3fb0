"""The one-page picture report: written atomically, readable, and refused for a mismatched analysis."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from atelier.analysis.image_report import write_image_report
from atelier.analysis.images import analyze_image
from atelier.errors import AtelierError


def test_the_report_is_a_picture_and_leaves_no_temporary_file(tmp_path):
    picture = torch.rand(3, 60, 90, generator=torch.Generator().manual_seed(0))
    out = write_image_report(analyze_image(picture, name="noise"), picture, tmp_path / "noise.png")
    with Image.open(out) as img:
        assert img.format == "PNG" and img.width >= 1000 and img.height >= 600
    assert [p.name for p in tmp_path.iterdir()] == ["noise.png"]


def test_a_report_of_another_picture_or_format_is_refused(tmp_path):
    analysis = analyze_image(torch.rand(3, 32, 32))
    with pytest.raises(AtelierError, match="not this 40×32"):
        write_image_report(analysis, torch.rand(3, 32, 40), tmp_path / "r.png")
    with pytest.raises(AtelierError, match="picture format"):
        write_image_report(analysis, torch.rand(3, 32, 32), tmp_path / "r.gif")
    assert not list(tmp_path.iterdir())
