"""Recipes round-trip through every file kind Atelier writes, and unreadable ones are one-line errors."""

import json
import wave

import numpy as np
import pytest
from PIL import Image

from atelier.errors import AtelierError
from atelier.imageio import write_image
from atelier.images.grid import write_gif
from atelier.io import write_npz
from atelier.music.audio import Audio, plot_piano_roll, read_wav, write_wav
from atelier.music.events import Melody, Note
from atelier.music.midi import read_midi, read_score, write_midi, write_musicxml
from atelier.provenance import FORMAT, make_recipe, make_sequence, read_recipe

MELODY = Melody((Note(60, 0, 4), Note(67, 4, 8)), num_steps=8)


@pytest.fixture
def recipe(tmp_path):
    primer = tmp_path / "primer.mid"
    primer.write_bytes(b"MThd primer bytes")
    return make_recipe("compose", {"seed": 7, "temperature": 0.9, "primer": str(primer), "name": "ünïcode"},
                       model="essen-melody-rnn", input_params=["primer"])


def test_make_recipe_pins_inputs_by_absolute_path_and_sha256(recipe, tmp_path):
    path = str((tmp_path / "primer.mid").resolve())
    assert recipe["format"] == FORMAT and recipe["command"] == "compose" and recipe["params"]["primer"] == path
    assert list(recipe["inputs"]) == [path] and len(recipe["inputs"][path]) == 64
    assert recipe["model"] == "essen-melody-rnn" and len(recipe["model_sha256"]) == 64


@pytest.mark.parametrize("ext", [".png", ".jpg", ".webp"])
def test_pictures_carry_the_recipe(recipe, tmp_path, ext):
    path = write_image(Image.new("RGB", (8, 8), "red"), tmp_path / f"a{ext}", metadata=recipe)
    assert read_recipe(path) == recipe


def test_midi_carries_the_recipe_and_still_reads_as_the_same_melody(recipe, tmp_path):
    path = write_midi(MELODY, tmp_path / "a.mid", metadata=recipe)
    assert read_recipe(path) == recipe
    assert read_midi(path).notes == MELODY.notes


def test_wav_carries_the_recipe_in_a_list_info_chunk(recipe, tmp_path):
    samples = np.linspace(-1, 1, 101, dtype=np.float32)
    path = write_wav(Audio(samples, 8000, "sine"), tmp_path / "a.wav", metadata=recipe)
    assert read_recipe(path) == recipe
    data = path.read_bytes()
    assert data.index(b"LIST") > data.index(b"data") and int.from_bytes(data[4:8], "little") == len(data) - 8
    with wave.open(str(path)) as f:  # players and Python's reader still see the audio alone
        assert f.getnframes() == 101
    assert np.array_equal(np.round(read_wav(path).samples * 32767), np.round(np.clip(samples, -1, 1) * 32767))


def test_piano_rolls_carry_the_recipe(recipe, tmp_path):
    assert read_recipe(plot_piano_roll(MELODY, tmp_path / "roll.png", metadata=recipe)) == recipe


def test_gifs_carry_the_recipe_with_their_frame_size_and_still_play(recipe, tmp_path):
    import torch

    frames = torch.linspace(-1, 1, 3).view(3, 1, 1, 1).expand(3, 1, 4, 4)  # three different greys
    path = write_gif(frames, tmp_path / "a.gif", scale=2, duration_ms=80, metadata=recipe)
    assert read_recipe(path) == {**recipe, "output": {"scale": 2, "duration_ms": 80}}
    with Image.open(path) as gif:
        assert gif.n_frames == 4 and gif.size == (8, 8)  # 3 forward, 1 back


@pytest.mark.parametrize("ext", [".musicxml", ".mxl"])
def test_musicxml_carries_the_recipe_and_still_reads_as_the_same_melody(recipe, tmp_path, ext):
    path = write_musicxml(MELODY, tmp_path / f"a{ext}", metadata=recipe)
    assert read_recipe(path) == recipe
    assert read_score(path)[0].notes == MELODY.notes


def test_npz_carries_the_recipe_as_a_string_array_that_loads_without_pickles(recipe, tmp_path):
    path = write_npz(tmp_path / "z.npz", mu=np.ones((2, 3), np.float32), metadata=recipe)
    assert read_recipe(path) == recipe
    with np.load(path, allow_pickle=False) as npz:
        assert sorted(npz.files) == ["atelier", "mu"] and npz["mu"].shape == (2, 3)
    plain = write_npz(tmp_path / "plain.npz", mu=np.ones(2))
    with pytest.raises(AtelierError, match="plain.npz: no Atelier recipe inside"):
        read_recipe(plain)


def test_a_sequence_recipe_lists_its_parts_and_gathers_their_inputs(recipe):
    part = {**recipe, "output": {"index": 0}, "studio": {"job": "sample"}}
    sequence = make_sequence([part, part], assemble="grid", nrow=2)
    assert sequence["command"] == "sequence" and sequence["format"] == FORMAT
    assert sequence["params"]["assemble"] == "grid" and sequence["params"]["nrow"] == 2
    assert sequence["inputs"] == recipe["inputs"] and "model" not in sequence
    first = sequence["params"]["parts"][0]
    assert first["model_sha256"] == recipe["model_sha256"] and "studio" not in first and "format" not in first
    with pytest.raises(AtelierError, match="unknown assembly 'collage'; choose one of: grid, crop"):
        make_sequence([part], assemble="collage")


def test_a_file_without_a_recipe_is_one_line(tmp_path):
    Image.new("L", (4, 4)).save(tmp_path / "plain.png")
    with pytest.raises(AtelierError, match=r"plain.png: no Atelier recipe inside"):
        read_recipe(tmp_path / "plain.png")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(AtelierError, match=r"not a file Atelier writes recipes into \(PNG, JPEG, WebP, GIF, MIDI, WAV, "
                                           r"MusicXML, NPZ\)"):
        read_recipe(tmp_path / "notes.txt")
    with pytest.raises(AtelierError, match="no such file"):
        read_recipe(tmp_path / "missing.png")


def test_a_recipe_of_a_newer_format_is_refused(recipe, tmp_path):
    path = write_midi(MELODY, tmp_path / "a.mid", metadata={**recipe, "format": FORMAT + 1})
    with pytest.raises(AtelierError, match=f"recipe format {FORMAT + 1} is newer than this Atelier"):
        read_recipe(path)


def test_metadata_from_before_recipes_is_named_as_such(tmp_path):
    path = write_image(Image.new("L", (4, 4)), tmp_path / "old.png",
                       metadata={"atelier": "0.0.9", "command": "sample", "params": {}})
    with pytest.raises(AtelierError, match="written by Atelier 0.0.9 before recipes"):
        read_recipe(path)
    assert json.loads(Image.open(path).info["atelier"])["command"] == "sample"
