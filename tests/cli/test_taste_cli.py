"""`atelier taste …` and `--taste` on sample and compose, as a person types them."""

from __future__ import annotations

import json
import re

from atelier.cli import main


def _profile(tmp_path):
    return ["--profile", "ada", "--profile-file", str(tmp_path / "taste.sqlite")]


def test_ask_answer_then_sample_for_me_and_reproduce(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)  # as under a script: the question stays open
    out = tmp_path / "questions"
    assert main(["taste", "ask", "mnist-dcgan", "--k", "3", "--seed", "1", "--out", str(out), *_profile(tmp_path)]) == 0
    printed = capsys.readouterr().out
    question = re.search(r"question (\w+):", printed).group(1)
    assert (out / f"question-{question}.png").is_file()
    assert main(["taste", "answer", question, "2", *_profile(tmp_path)]) == 0
    grid = tmp_path / "for-me.png"
    assert main(["sample", "mnist-dcgan", "--taste", "ada", "--profile-file", str(tmp_path / "taste.sqlite"),
                 "--n", "4", "--seed", "3", "--out", str(grid)]) == 0
    assert "chosen for ada" in capsys.readouterr().out
    assert main(["reproduce", str(grid), "--out", str(tmp_path / "again.png")]) == 0
    assert "identical" in capsys.readouterr().out


def test_why_export_delete(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    main(["taste", "ask", "mnist-dcgan", "--k", "2", "--seed", "0", "--out", str(tmp_path / "q"), *_profile(tmp_path)])
    question = re.search(r"question (\w+):", capsys.readouterr().out).group(1)
    main(["taste", "answer", question, "1", *_profile(tmp_path)])
    assert main(["taste", "why", "mnist-dcgan", *_profile(tmp_path)]) == 0
    why = capsys.readouterr().out
    assert "favour" in why and re.search(r"^  \S.* [+-]\d+\.\d\d$", why, re.M)  # at least one feature's effect
    assert main(["taste", "export", "--out", str(tmp_path / "me.json"), *_profile(tmp_path)]) == 0
    assert len(json.loads((tmp_path / "me.json").read_text())["answers"]) == 1
    capsys.readouterr()
    assert main(["taste", "delete", *_profile(tmp_path)]) == 2
    assert "add --yes" in capsys.readouterr().err
    assert main(["taste", "delete", "--yes", *_profile(tmp_path)]) == 0
    assert main(["taste", "profiles", "--profile-file", str(tmp_path / "taste.sqlite")]) == 0
    assert "no profiles yet" in capsys.readouterr().out


def test_bad_taste_input_is_one_line(tmp_path, capsys):
    bogus = tmp_path / "bogus.sqlite"
    bogus.write_text("not a database")
    assert main(["taste", "why", "mnist-dcgan", "--profile-file", str(bogus)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("atelier: error: taste profile") and "not an Atelier taste profile" in err
    assert err.count("\n") == 1
    assert main(["taste", "answer", "nope", "1", *_profile(tmp_path)]) == 2
    assert "not an open question" in capsys.readouterr().err
    assert main(["sample", "mnist-dcgan", "--taste", "ada", "--truncation", "0.5", "--out", str(tmp_path / "x.png")]) == 2
    assert "--taste chooses among the model's plain samples" in capsys.readouterr().err


def test_compose_for_me_writes_tunes_that_reproduce(tmp_path, capsys):
    out = tmp_path / "tunes"
    assert main(["compose", "essen-melody-rnn", "--taste", "ada", "--profile-file", str(tmp_path / "taste.sqlite"),
                 "--n", "2", "--bars", "2", "--seed", "1", "--out", str(out), "--no-musicxml"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["melody_001.mid", "melody_001.png", "melody_002.mid",
                                                      "melody_002.png"]
    capsys.readouterr()
    assert main(["reproduce", str(out / "melody_002.mid"), "--out", str(tmp_path / "again.mid")]) == 0
    assert "identical" in capsys.readouterr().out
