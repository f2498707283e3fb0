"""`atelier.reproduce` re-runs the recipe inside an artefact: identical when nothing changed, what
differs when something did, one-line errors when the model or an input is gone or changed."""

import pytest
import torch
from PIL import Image

import atelier
from atelier.errors import AtelierError
from atelier.images.grid import write_gif, write_grid
from atelier.music.compose import continuation
from atelier.music.midi import write_midi
from atelier.provenance import make_recipe, make_sequence, read_recipe


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


def _one_seed_grid(tmp_path, seeds, recorded_seeds, name="studio.png"):
    """A grid like the studio's Generate: one picture per seed, each its own `sample` call."""
    pictures = torch.cat([atelier.sample("mnist-cgan", 1, seed=s, labels=3) for s in seeds])
    parts = [make_recipe("sample", {"n": 1, "seed": s, "labels": 3}, model="mnist-cgan", output={"index": 0})
             for s in recorded_seeds]
    return write_grid(pictures, tmp_path / name, nrow=2, metadata=make_sequence(parts, assemble="grid", nrow=2))


def test_a_grid_of_one_seed_samples_reproduces_from_its_sequence_recipe(tmp_path):
    report = atelier.reproduce(_one_seed_grid(tmp_path, [5, 6, 7], [5, 6, 7]))
    assert report.identical and report.command == "sequence"
    assert Image.open(report.reproduced).size == Image.open(report.source).size
    changed = atelier.reproduce(_one_seed_grid(tmp_path, [5, 6, 7], [5, 6, 8], name="other.png"))
    assert not changed.identical and "pixels differ" in str(changed)


def test_a_sequence_checks_each_parts_model(tmp_path):
    path = _one_seed_grid(tmp_path, [1], [1])
    recipe = read_recipe(path)
    recipe["params"]["parts"][0]["model_sha256"] = "0" * 64
    write_grid(atelier.sample("mnist-cgan", 1, seed=1, labels=3), path, metadata=recipe)
    with pytest.raises(AtelierError, match=r"its model mnist-cgan has changed"):
        atelier.reproduce(path)


def test_a_call_and_response_answer_reproduces_from_its_crop_recipe(tmp_path):
    call = {"bars": 3, "n": 1, "temperature": 1.0, "primer": [60, -2, -2, -2, 64] + [-1] * 11, "seed": 4}
    whole = atelier.compose("essen-melody-rnn", **call)[0]
    part = make_recipe("compose", call, model="essen-melody-rnn", output={"index": 0})
    answer = continuation(whole, 16)
    assert answer.notes and all(n.start_step >= 0 for n in answer.notes) and answer.num_steps % 16 == 0
    path = write_midi(answer, tmp_path / "answer.mid", metadata=make_sequence([part], assemble="crop", start_step=16))
    assert str(atelier.reproduce(path)) == "identical"
    other = write_midi(continuation(whole, 20), tmp_path / "other.mid",
                       metadata=make_sequence([part], assemble="crop", start_step=16))
    assert "MIDI events differ" in str(atelier.reproduce(other))


def test_a_gif_that_differs_names_the_frames(tmp_path):
    recipe = make_recipe("interpolate", {"seeds": [0, 5], "steps": 3, "label": None}, model="mnist-dcgan")
    frames = atelier.interpolate("mnist-dcgan", 0, 6, steps=3)
    report = atelier.reproduce(write_gif(frames, tmp_path / "m.gif", scale=2, metadata=recipe))
    assert not report.identical and "frame 1:" not in str(report)  # both start at seed 0's picture
    assert "frame 3: " in str(report) and Image.open(report.reproduced).size == (56, 56)
