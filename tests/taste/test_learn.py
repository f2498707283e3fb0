"""The taste loop on a toy subject whose works are their own features: a simulated person with a
hidden taste answers questions, and what is generated for them gets better."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from atelier.errors import AtelierError
from atelier.taste import learn
from atelier.taste.profile import Item, TasteProfile
from atelier.taste.subjects import Subject

TRUE_TASTE = np.array([1.5, -1.0, 0.0, 0.0])  # likes feature 0, dislikes feature 1, indifferent to the rest


class Points(Subject):
    """Works that are points in R⁴, drawn from N(0, I); a work's features are its coordinates."""

    outputs = "images"

    @property
    def feature_names(self) -> tuple[str, ...]:
        return ("warmth", "clutter", "noise_a", "noise_b")

    def draw(self, n: int, *, seed: int) -> list[dict[str, Any]]:
        return [{"x": row.round(4).tolist()} for row in np.random.default_rng(seed).normal(size=(n, 4))]

    def measure(self, recipes: Sequence[dict[str, Any]]) -> list[Item]:
        return [Item(dict(r), dict(zip(self.feature_names, r["x"]))) for r in recipes]

    def render(self, items: Sequence[Item]) -> np.ndarray:
        return np.array([item.recipe["x"] for item in items])

    def call(self, recipe):
        return "points", recipe

    def recipe_of(self, command, params):
        return None

    def command(self, item: Item) -> str:
        return "points"


def utility(works: np.ndarray) -> np.ndarray:
    return works @ TRUE_TASTE


@pytest.fixture
def person(tmp_path):
    with TasteProfile.open(tmp_path / "taste.sqlite", "sim") as profile:
        yield profile


def test_answers_steer_generation_toward_the_hidden_taste(person):
    subject = Points(model=None, name="points")  # type: ignore[arg-type]
    rng = np.random.default_rng(0)
    for round_ in range(10):
        question, works = learn.ask(subject, person, k=4, seed=100 + round_)
        assert len(works) == 4 and len({tuple(w) for w in works}) == 4
        noisy = utility(works) + rng.gumbel(size=4) * 0.3  # a person answers with a little noise
        person.answer_question(question.id, int(np.argmax(noisy)))
    mine = learn.for_me(subject, person, n=8, seed=7)
    plain = subject.render(subject.pool(learn.POOL_SIZES["images"], seed=7))
    assert utility(mine.works).mean() > np.percentile(utility(plain), 90)  # the top tenth of the same pool
    assert list(mine.scores) == sorted(mine.scores, reverse=True)
    effects = dict(learn.why(subject, person))
    strongest = sorted(effects, key=lambda k: -abs(effects[k]))[:2]
    assert set(strongest) == {"warmth", "clutter"}, effects  # the two the person cares about, not the noise
    assert effects["warmth"] > 0 > effects["clutter"]


def test_before_any_answer_for_me_is_a_plain_sample_and_why_says_so(person):
    subject = Points(model=None, name="points")  # type: ignore[arg-type]
    mine = learn.for_me(subject, person, n=3, seed=1)
    assert mine.scores == (0.0, 0.0, 0.0)
    with pytest.raises(AtelierError, match="no answers about points yet"):
        learn.why(subject, person)
    with pytest.raises(AtelierError, match="2 to 4 works"):
        learn.ask(subject, person, k=5)


def test_answers_under_another_feature_set_are_left_out(person):
    subject = Points(model=None, name="points")  # type: ignore[arg-type]
    old = [Item({"x": [0, 0, 0, float(i)]}, {"warmth": 1.0}) for i in range(2)]  # measured before 'clutter' existed
    person.record_pick("points", old, picked=0)
    features, choices, ratings = learn.training_set(subject, person.answers("points"))
    assert features.shape == (0, 4) and not choices and not ratings
