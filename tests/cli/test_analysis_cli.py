"""`atelier analyze` and `atelier compare` as a person types them, and their one-line errors."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from atelier.cli import main
from atelier.music.events import Melody, Note
from atelier.music.midi import write_midi


def _picture(path, colour, size=(64, 48)):
    Image.new("RGB", size, colour).save(path)
    return str(path)


def _tune(path, pitches, step=4):
    notes = tuple(Note(p, step * i, step * i + step) for i, p in enumerate(pitches))
    write_midi(Melody(notes, num_steps=step * len(pitches)), path)
    return str(path)


def test_analyze_a_picture_and_a_melody_with_reports_and_json(tmp_path, capsys):
    red = _picture(tmp_path / "red.png", (255, 0, 0))
    scale = _tune(tmp_path / "scale.mid", [60, 62, 64, 65, 67, 69, 71, 72] * 2)
    out = tmp_path / "all.json"
    assert main(["analyze", red, scale, "--report", str(tmp_path / "reports"), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "#ff0000 100%" in text and "C major" in text
    records = json.loads(out.read_text())
    assert [r["kind"] for r in records] == ["image", "melody"]
    assert records[0]["palette"][0]["hex"] == "#ff0000" and records[1]["key"]["tonic"] == 0
    style = records[0]["style"]  # every bundled painting, most likely first
    assert sorted(s["painting"] for s in style) == ["shipwreck", "starry_night", "the_scream"]
    assert [s["score"] for s in style] == sorted((s["score"] for s in style), reverse=True)
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["red-report.png", "scale-report.png"]


def test_json_to_stdout_is_only_json(tmp_path, capsys):
    scale = _tune(tmp_path / "scale.mid", [60, 64, 67, 72])
    assert main(["analyze", scale, "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["key"]["name"] == "C major"


def test_compare_two_pictures_against_a_gallery(tmp_path, capsys):
    gallery = tmp_path / "gallery"
    gallery.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        Image.fromarray((rng.random((48, 64, 3)) * 80 + 60).astype(np.uint8)).save(gallery / f"g{i}.png")
    bright, dark = _picture(tmp_path / "bright.png", (250, 250, 240)), _picture(tmp_path / "dark.png", (10, 10, 20))
    report = tmp_path / "compare.png"
    assert main(["compare", bright, dark, "--reference", str(gallery), "--report", str(report)]) == 0
    text = capsys.readouterr().out
    assert "Against your 4 pictures:" in text and "bright.png is brighter than dark.png: brightness" in text
    assert report.is_file()


def test_bad_inputs_are_one_line(tmp_path, capsys):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture")
    empty = tmp_path / "empty.mid"
    write_midi(Melody((), num_steps=16), empty)
    cases = [(["analyze", str(broken)], "broken.png"), (["analyze", str(tmp_path / "missing.png")], "missing.png"),
             (["analyze", str(tmp_path / "notes.txt")], "notes.txt"),
             (["compare", str(broken), str(empty)], "two pictures or two melodies"),
             (["analyze", str(empty)], "empty.mid")]
    (tmp_path / "notes.txt").write_text("hello")
    for argv, named in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("atelier: error:") and named in err and err.count("\n") == 1, err
