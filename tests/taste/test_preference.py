"""The preference model: it learns known tastes from simulated answers, asks sensible questions,
and refuses bad answers with one-line errors."""

import numpy as np
import pytest
from scipy.stats import kendalltau

from atelier.errors import AtelierError
from atelier.taste.preference import (
    Choice,
    PreferenceConfig,
    PreferenceModel,
    Rating,
    next_question,
    recommend,
)


def _pick(utility: np.ndarray, shown: list[int], rng: np.random.Generator, temperature: float) -> int:
    """A simulated person: Plackett–Luce's first pick, P(i) ∝ exp(u_i / T)."""
    u = utility[shown] / temperature
    p = np.exp(u - u.max())
    return shown[int(rng.choice(len(shown), p=p / p.sum()))]


def _random_choices(utility, rng, *, n_answers, k=3, temperature=0.3):
    choices = []
    for _ in range(n_answers):
        shown = [int(i) for i in rng.choice(len(utility), k, replace=False)]
        choices.append(Choice(tuple(shown), _pick(utility, shown, rng, temperature)))
    return choices


def test_a_known_linear_taste_is_recovered():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4)) * [1.0, 5.0, 0.2, 1.0] + [0.0, 10.0, 0.0, -3.0]  # unequal raw scales
    x = (X - X.mean(axis=0)) / X.std(axis=0)
    utility = 2 * x[:, 0] - x[:, 2]  # likes feature a, dislikes c, indifferent to b and d
    choices = _random_choices(utility, rng, n_answers=40)
    model = PreferenceModel.fit(X, choices)
    tau = kendalltau(model.score(X), utility).statistic
    assert tau > 0.8, tau
    explained = model.explain(["a", "b", "c", "d"])
    assert [name for name, _ in explained[:2]] == ["a", "c"]
    assert explained[0][1] > 0 > explained[1][1]
    assert abs(explained[2][1]) < 0.3 * abs(explained[0][1])


def test_a_preferred_region_is_found_with_its_own_questions():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 3))
    centre = np.array([1.0, -0.5])
    utility = -((X[:, :2] - centre) ** 2).sum(axis=1)  # a bowl in features 0 and 1; feature 2 irrelevant
    choices: list[Choice] = []
    model = None
    for _ in range(20):
        shown = next_question(model, X, k=4, rng=rng)
        choices.append(Choice(tuple(shown), _pick(utility, shown, rng, temperature=0.2)))
        model = PreferenceModel.fit(X, choices)
    best = recommend(model, X, 3)
    assert np.linalg.norm(X[best[0], :2] - centre) < 0.5, X[best[0]]
    assert utility[best].mean() > np.quantile(utility, 0.95)
    # the irrelevant feature ends up the least relevant
    assert np.argmin(model.relevance()) == 2


def test_ratings_alone_and_with_choices_learn_a_taste():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 3))
    utility = X[:, 1] - 0.5 * X[:, 0]
    items = rng.choice(200, 40, replace=False)
    # stars by the quintile of the utility, with some noise
    noisy = utility[items] + rng.normal(scale=0.3, size=len(items))
    stars = 1 + np.searchsorted(np.quantile(noisy, [0.2, 0.4, 0.6, 0.8]), noisy)
    ratings = [Rating(int(i), int(s)) for i, s in zip(items, stars)]
    by_ratings = PreferenceModel.fit(X, [], ratings)
    assert kendalltau(by_ratings.score(X), utility).statistic > 0.6
    assert by_ratings.explain(["a", "b", "c"])[0][0] == "b"
    both = PreferenceModel.fit(X, _random_choices(utility, rng, n_answers=15), ratings)
    assert kendalltau(both.score(X), utility).statistic > 0.6


def test_draws_scatter_around_the_posterior_mean():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 2))
    model = PreferenceModel.fit(X, _random_choices(X[:, 0], rng, n_answers=10))
    draws = model.draw(X[:20], np.random.default_rng(0), size=2000)  # (2000, 20)
    assert draws.shape == (2000, 20) and model.draw(X[:20], rng).shape == (20,)
    assert np.abs(draws.mean(axis=0) - model.score(X[:20])).max() < 0.15 * model.std(X[:20]).max() + 0.05
    assert draws.std(axis=0) == pytest.approx(model.std(X[:20]), rel=0.1, abs=0.02)


def test_without_answers_the_model_is_the_prior():
    X = np.random.default_rng(4).normal(size=(30, 2))
    model = PreferenceModel.fit(X, [])
    assert np.all(model.score(X) == 0)
    assert all(effect == 0 for _, effect in model.explain(["a", "b"]))
    assert np.all(model.std(X) > 0)


@pytest.mark.parametrize("k", [2, 3, 4])
def test_next_question_returns_k_distinct_valid_indices(k):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(80, 3))
    first = next_question(None, X, k=k, rng=np.random.default_rng(0))
    assert len(first) == k == len(set(first)) and all(0 <= i < 80 for i in first)
    assert first == next_question(None, X, k=k, rng=np.random.default_rng(0))  # the same seed, the same question
    model = PreferenceModel.fit(X, _random_choices(X[:, 0], rng, n_answers=5),
                                config=PreferenceConfig(fit_hyperparameters=False))
    later = next_question(model, X, k=k, rng=rng)
    assert len(later) == k == len(set(later)) and all(isinstance(i, int) and 0 <= i < 80 for i in later)


def test_a_sure_model_still_asks_k_distinct_works():
    X = np.array([[0.0], [1.0], [2.0], [3.0], [4.0]])
    choices = [Choice((0, 4), 4), Choice((3, 4), 4), Choice((2, 4), 4)] * 10
    model = PreferenceModel.fit(X, choices)
    assert recommend(model, X, 1) == [4]
    assert len(set(next_question(model, X, k=4, rng=np.random.default_rng(0)))) == 4


def test_bad_inputs_get_one_line_errors():
    X = np.zeros((5, 2))
    X[:, 0] = np.arange(5)
    cases = [
        (lambda: PreferenceModel.fit(X, [Choice((0, 7), 0)]), "outside the 5 rows"),
        (lambda: PreferenceModel.fit(X, [Choice((0, 1), 2)]), "not among the works shown"),
        (lambda: PreferenceModel.fit(X, [Choice((1, 1), 1)]), "2 or more distinct"),
        (lambda: PreferenceModel.fit(X, [Choice((1,), 1)]), "2 or more distinct"),
        (lambda: PreferenceModel.fit(X, [], [Rating(0, 6)]), "stars=6"),
        (lambda: PreferenceModel.fit(X, [], [Rating(0, 0)]), "stars=0"),
        (lambda: PreferenceModel.fit(X, [], [Rating(0, 2.5)]), "stars=2.5"),
        (lambda: PreferenceModel.fit(X, [], [Rating(9, 3)]), "item 9 is outside"),
        (lambda: PreferenceModel.fit(X, [(0, 1)]), "expected Choice"),
        (lambda: PreferenceModel.fit(X, [], reference=np.zeros((4, 3))), "3 features per row"),
        (lambda: PreferenceModel.fit(np.array([[np.nan, 0.0]]), []), "NaN"),
        (lambda: PreferenceModel.fit(np.zeros(5), []), "expected a matrix"),
    ]
    for call, message in cases:
        with pytest.raises(AtelierError, match=message) as info:
            call()
        assert "\n" not in str(info.value)
    model = PreferenceModel.fit(X, [Choice((0, 1), 1)])
    with pytest.raises(AtelierError, match="3 features per row; the model was fitted on 2"):
        model.score(np.zeros((2, 3)))
    with pytest.raises(AtelierError, match="3 features per row"):
        next_question(model, np.zeros((6, 3)), k=2)
    with pytest.raises(AtelierError, match="k=5"):
        next_question(model, np.zeros((4, 2)), k=5)
    with pytest.raises(AtelierError, match="k=1"):
        next_question(None, X, k=1)
    with pytest.raises(AtelierError, match="n=0"):
        recommend(model, X, 0)
    with pytest.raises(AtelierError, match="3 feature names for 2"):
        model.explain(["a", "b", "c"])
