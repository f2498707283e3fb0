"""Errors of the Python API read right from Python: argument names as written in a call, and no
"None" offered as a choice."""

import pytest
import torch

import atelier


def test_preserve_color_lists_its_modes_without_none():
    with pytest.raises(atelier.AtelierError) as info:
        atelier.stylize(torch.rand(1, 3, 32, 32), ["starry_night"], method="adain", preserve_color="rgb")
    assert str(info.value) == "unknown preserve_color 'rgb'; choose one of: histogram, luminance"


def test_counts_are_named_as_python_arguments():
    with pytest.raises(atelier.AtelierError, match=r"^n=-3: the number of samples"):
        atelier.sample("mnist-dcgan", -3)
    with pytest.raises(atelier.AtelierError, match=r"^steps=0: must be a whole number of at least 2"):
        atelier.interpolate("mnist-dcgan", 0, 1, steps=0)
    with pytest.raises(atelier.AtelierError, match=r"^truncation: not a sampling option of a vae model"):
        atelier.sample("mnist-vae", 2, truncation=0.7)


def test_translate_names_its_arguments(tmp_path):
    from PIL import Image

    Image.new("RGB", (32, 32)).save(tmp_path / "p.png")
    with pytest.raises(atelier.AtelierError, match=r"^out .*x\.gif: unsupported extension"):
        atelier.translate("nope", [tmp_path / "p.png"], out=tmp_path / "x.gif")
