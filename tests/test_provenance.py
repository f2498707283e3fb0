"""Recipes round-trip through every file kind Atelier writes, and unreadable ones are one-line errors."""

import json
import wave

import numpy as np
import pytest
from PIL import Image

from atelier.errors import AtelierError
from atelier.imageio import write_image
from atelier.music.audio import Audio, plot_piano_roll, read_wav, write_wav
from atelier.music.events import Melody, Note
from atelier.music.midi import read_midi, write_midi
from atelier.provenance import FORMAT, make_recipe, read_recipe

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


def test_a_file_without_a_recipe_is_one_line(tmp_path):
    Image.new("L", (4, 4)).save(tmp_path / "plain.png")
    with pytest.raises(AtelierError, match=r"plain.png: no Atelier recipe inside"):
        read_recipe(tmp_path / "plain.png")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(AtelierError, match=r"not a file Atelier writes recipes into \(PNG, JPEG, WebP, MIDI, WAV\)"):
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
