"""atelier.api.taste: the whole loop by model name, rating files Atelier wrote, export and delete."""

from __future__ import annotations

import pytest

from atelier.api import taste
from atelier.cli import main
from atelier.errors import AtelierError


@pytest.fixture
def path(tmp_path):
    return tmp_path / "taste.sqlite"


def test_ask_answer_for_me_why(path):
    for round_ in range(3):
        question, works = taste.ask("mnist-dcgan", profile="ada", path=path, k=2, seed=round_)
        assert tuple(works.shape) == (2, 1, 28, 28)
        taste.answer(question.id, 1, profile="ada", path=path)
    mine = taste.for_me("mnist-dcgan", 3, profile="ada", path=path, seed=5)
    assert tuple(mine.works.shape) == (3, 1, 28, 28) and len(set(mine.scores)) > 1
    effects = taste.why("mnist-dcgan", profile="ada", path=path)
    assert {name for name, _ in effects} >= {"direction_1", "brightness"}
    assert taste.profiles(path) == {"ada": {"mnist-dcgan": 3}}


def test_a_single_sample_file_is_rated_and_a_grid_is_refused(path, tmp_path):
    one, grid = tmp_path / "one.png", tmp_path / "grid.png"
    assert main(["sample", "mnist-dcgan", "--n", "1", "--seed", "4", "--out", str(one)]) == 0
    assert main(["sample", "mnist-dcgan", "--n", "4", "--out", str(grid)]) == 0
    taste.rate(one, 5, profile="ada", path=path)
    answer = taste.open_profile("ada", path).answers("mnist-dcgan")[0]
    assert (answer.kind, answer.stars, answer.items[0].recipe) == ("rating", 5, {"seed": 4})
    with pytest.raises(AtelierError, match="grid.png: made by `atelier sample` in a way taste cannot rate"):
        taste.rate(grid, 3, profile="ada", path=path)
    with pytest.raises(AtelierError, match="whole number from 1 to 5"):
        taste.rate(one, 0, profile="ada", path=path)


def test_export_then_delete(path):
    question, _ = taste.ask("mnist-dcgan", profile="bob", path=path, k=2, seed=0)
    taste.answer(question.id, 0, profile="bob", path=path)
    data = taste.export_profile("bob", path)
    assert data["profile"] == "bob" and len(data["answers"]) == 1 and len(data["answers"][0]["items"]) == 2
    assert taste.delete_profile("bob", path) == 1
    assert taste.profiles(path) == {}


def test_wrong_options_are_named():
    with pytest.raises(AtelierError, match="photo: applies to fast style networks; mnist-dcgan is a gan model"):
        taste.subject("mnist-dcgan", photo="astronaut")
    with pytest.raises(AtelierError, match="taste for a style network is about one photo"):
        taste.subject("fast-paintings")
    with pytest.raises(AtelierError, match="label: applies to conditional GANs and VAEs"):
        taste.subject("essen-melody-rnn", label=3)
