"""The taste profile file: answers kept, questions answered once, export and delete, foreign files refused."""

from __future__ import annotations

import json
import sqlite3

import pytest

from atelier.errors import AtelierError
from atelier.taste.profile import Item, TasteProfile, profile_names


def _items(n: int) -> list[Item]:
    return [Item({"seed": i}, {"ink": i / 10, "slant": -i}) for i in range(n)]


def test_answers_are_kept_per_person_and_subject(tmp_path):
    path = tmp_path / "taste.sqlite"
    with TasteProfile.open(path, "ada") as ada, TasteProfile.open(path, "bob") as bob:
        ada.record_pick("mnist-dcgan", _items(4), picked=3)
        ada.record_rating("essen-melody-rnn", _items(1)[0], stars=5)
        bob.record_pick("mnist-dcgan", _items(2), picked=0)
    with TasteProfile.open(path, "ada") as ada:
        answers = ada.answers("mnist-dcgan")
        assert [(a.kind, a.picked) for a in answers] == [("pick", 3)]
        assert answers[0].items[3] == Item({"seed": 3}, {"ink": 0.3, "slant": -3.0})
        assert ada.subjects() == {"essen-melody-rnn": 1, "mnist-dcgan": 1}
    assert profile_names(path) == ["ada", "bob"]


def test_a_question_is_answered_once(tmp_path):
    with TasteProfile.open(tmp_path / "t.sqlite", "ada") as ada:
        question = ada.save_question("mnist-dcgan", _items(3), {"seed": 9})
        assert ada.question(question.id).items == question.items
        ada.answer_question(question.id, 1)
        assert ada.answers("mnist-dcgan")[0].picked == 1
        with pytest.raises(AtelierError, match="not an open question"):
            ada.answer_question(question.id, 1)


@pytest.mark.parametrize("picked, message", [(4, "choose one of the 4 items"), (-1, "choose one of the 4"),
                                             (True, "choose one")])
def test_a_pick_outside_the_items_is_refused(tmp_path, picked, message):
    with TasteProfile.open(tmp_path / "t.sqlite") as person:
        with pytest.raises(AtelierError, match=message):
            person.record_pick("m", _items(4), picked=picked)
        with pytest.raises(AtelierError, match="2 to 4 items"):
            person.record_pick("m", _items(5), picked=0)
        with pytest.raises(AtelierError, match="whole number from 1 to 5"):
            person.record_rating("m", _items(1)[0], stars=6)
        assert person.subjects() == {}


def test_export_holds_everything_and_delete_forgets_it(tmp_path):
    path = tmp_path / "t.sqlite"
    with TasteProfile.open(path, "ada") as ada, TasteProfile.open(path, "bob") as bob:
        ada.record_pick("m", _items(2), picked=1)
        ada.save_question("m", _items(2))
        bob.record_rating("m", _items(1)[0], stars=2)
        data = ada.export()
        assert json.loads(json.dumps(data)) == data  # JSON-ready
        assert data["profile"] == "ada" and [a["picked"] for a in data["answers"]] == [1]
        assert data["answers"][0]["items"][1]["recipe"] == {"seed": 1}
        assert ada.delete() == 1
        assert ada.subjects() == {} and ada.export()["answers"] == []
        assert bob.subjects() == {"m": 1}  # another person's answers stay
    assert profile_names(path) == ["bob"]


def test_a_file_that_is_not_a_profile_is_refused_and_left_alone(tmp_path):
    text = tmp_path / "notes.sqlite"
    text.write_text("my shopping list")
    with pytest.raises(AtelierError, match=r"notes.sqlite: not an Atelier taste profile \(not an SQLite file\)"):
        TasteProfile.open(text)
    assert text.read_text() == "my shopping list"
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE photos (id INTEGER)")
    with pytest.raises(AtelierError, match="an SQLite file of something else"):
        TasteProfile.open(other)
    with pytest.raises(AtelierError, match="a folder"):
        TasteProfile.open(tmp_path)
    with pytest.raises(AtelierError, match="profile name"):
        TasteProfile.open(tmp_path / "t.sqlite", "no spaces please")
