"""`atelier.reproduce` re-runs the recipe inside an artefact: identical when nothing changed, what
differs when something did, one-line errors when the model or an input is gone or changed."""

import pytest
from PIL import Image

import atelier
from atelier.errors import AtelierError
from atelier.images.grid import write_grid
from atelier.provenance import make_recipe


def _grid(tmp_path, recipe, seed, name="g.png"):
    return write_grid(atelier.sample("mnist-dcgan", 4, seed=seed), tmp_path / name, metadata=recipe)


def test_a_sampled_grid_reproduces_identically(tmp_path):
    path = _grid(tmp_path, make_recipe("sample", {"n": 4, "seed": 3}, model="mnist-dcgan"), seed=3)
    report = atelier.reproduce(path)
    assert report.identical and str(report) == "identical" and report.command == "sample"
    assert report.reproduced == tmp_path / "g.reproduced.png"
    assert atelier.reproduce(path, out=tmp_path / "elsewhere" / "again.png").identical


def test_what_differs_is_reported(tmp_path):
    path = _grid(tmp_path, make_recipe("sample", {"n": 4, "seed": 3}, model="mnist-dcgan"), seed=4)
    report = atelier.reproduce(path)
    assert not report.identical
    assert str(report).startswith("differs: ") and "pixels differ, by at most" in str(report)


def test_an_input_whose_sha256_changed_is_one_line(tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    Image.new("L", (28, 28), 0).save(a)
    Image.new("L", (28, 28), 255).save(b)
    recipe = make_recipe("interpolate", {"images": [str(a), str(b)], "steps": 3, "label": None},
                         model="mnist-vae", input_params=["images"])
    path = _grid(tmp_path, recipe, seed=0)
    Image.new("L", (28, 28), 9).save(b)
    with pytest.raises(AtelierError, match=r"g.png: its input .*b.png has changed \(SHA-256 \w+…, the recipe says"):
        atelier.reproduce(path)
    b.unlink()
    with pytest.raises(AtelierError, match=r"its input .*b.png is missing; the recipe needs the file with SHA-256"):
        atelier.reproduce(path)
    assert not (tmp_path / "g.reproduced.png").exists()


def test_a_missing_or_changed_model_is_one_line(tmp_path):
    recipe = make_recipe("sample", {"n": 4, "seed": 0}, model="mnist-dcgan")
    path = _grid(tmp_path, {**recipe, "model": str(tmp_path / "gone.safetensors")}, seed=0, name="m.png")
    with pytest.raises(AtelierError, match=r"its model .*gone.safetensors is missing"):
        atelier.reproduce(path)
    path = _grid(tmp_path, {**recipe, "model_sha256": "0" * 64}, seed=0, name="c.png")
    with pytest.raises(AtelierError, match=r"its model mnist-dcgan has changed"):
        atelier.reproduce(path)


def test_out_must_be_the_same_kind_of_file(tmp_path):
    path = _grid(tmp_path, make_recipe("sample", {"n": 4, "seed": 0}, model="mnist-dcgan"), seed=0)
    with pytest.raises(AtelierError, match=r"must be a .png file like the original"):
        atelier.reproduce(path, out=tmp_path / "x.jpg")
    with pytest.raises(AtelierError, match="is the original"):
        atelier.reproduce(path, out=path)
