"""The taste loop: ask a question, learn from the answers, generate for the person, say why.

Each step re-fits the preference model (:mod:`atelier.taste.preference`) from the stored answers
(a few dozen at most: milliseconds), so the profile file is the only state and nothing can drift.

1. :func:`ask` draws a pool from the model, fits the answers so far, and chooses the 2–4
   candidates whose answer teaches the most (:func:`~atelier.taste.preference.next_question`);
   the question is stored until answered.
2. The person picks the best (:meth:`~atelier.taste.profile.TasteProfile.answer_question`) or
   rates any work 1–5.
3. :func:`for_me` draws a fresh pool and keeps the candidates the person is predicted to like most;
   :func:`why` names the features their answers favour.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from atelier.errors import AtelierError
from atelier.taste.preference import Choice, PreferenceModel, Rating, next_question, recommend
from atelier.taste.profile import MAX_CHOICES, Answer, Item, Question, TasteProfile
from atelier.taste.subjects import Subject

# How many candidates a pool holds, by what the model makes: pictures of a GAN are cheap to make and
# measure (about 5 ms each), a melody costs about 40 ms, a stylised preview about 100 ms.
POOL_SIZES = {"images": 192, "melodies": 48, "pictures": 24}


@dataclass(frozen=True)
class Suggestion:
    """Works chosen for a person: the items, the predicted liking of each, and the works themselves."""

    items: tuple[Item, ...]
    scores: tuple[float, ...]
    works: Any


def _fresh_seed(seed: int | None) -> int:
    return secrets.randbits(31) if seed is None else int(seed)


def training_set(subject: Subject, answers: Sequence[Answer]) -> tuple[np.ndarray, list[Choice], list[Rating]]:
    """The answers as one feature matrix (a row per distinct item) and choices and ratings over its
    rows. Answers about items measured under another feature set are left out."""
    rows: dict[str, int] = {}
    features: list[np.ndarray] = []
    choices, ratings = [], []

    def row(item: Item) -> int | None:
        vector = subject.matrix([item])[0]
        if not np.isfinite(vector).all():
            return None
        key = repr(sorted(item.recipe.items()))
        if key not in rows:
            rows[key] = len(features)
            features.append(vector)
        return rows[key]

    for answer in answers:
        indices = [row(item) for item in answer.items]
        if any(i is None for i in indices):
            continue
        if answer.kind == "pick":
            choices.append(Choice(shown=tuple(indices), picked=indices[answer.picked]))
        else:
            ratings.append(Rating(item=indices[0], stars=int(answer.stars)))
    matrix = np.array(features, dtype=np.float64).reshape(len(features), len(subject.feature_names))
    return matrix, choices, ratings


def learned_taste(subject: Subject, profile: TasteProfile, reference: np.ndarray) -> PreferenceModel | None:
    """The preference model of ``profile``'s answers about ``subject``; None before any answer.
    ``reference`` (a pool's features) fixes the scale each feature is measured on."""
    features, choices, ratings = training_set(subject, profile.answers(subject.name))
    if not choices and not ratings:
        return None
    return PreferenceModel.fit(features, choices, ratings, reference=reference)


def ask(subject: Subject, profile: TasteProfile, *, k: int = MAX_CHOICES, seed: int | None = None) -> tuple[Question, Any]:
    """A new question (stored in ``profile`` until answered) and its ``k`` works, to show the person."""
    if isinstance(k, bool) or not isinstance(k, int) or not 2 <= k <= MAX_CHOICES:
        raise AtelierError(f"k={k!r}: a question shows 2 to {MAX_CHOICES} works")
    seed = _fresh_seed(seed)
    pool = subject.pool(POOL_SIZES[subject.outputs], seed=seed)
    candidates = subject.matrix(pool)
    model = learned_taste(subject, profile, candidates)
    shown = next_question(model, candidates, k=k, rng=np.random.default_rng(seed))
    items = [pool[i] for i in shown]
    question = profile.save_question(subject.name, items, {"seed": seed})
    return question, subject.render(items)


def for_me(subject: Subject, profile: TasteProfile, *, n: int = 1, seed: int | None = None) -> Suggestion:
    """``n`` works the person is predicted to like most, from a fresh pool of the model's own works.
    Before any answer this is a plain sample of the model, which the caller may want to say."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise AtelierError(f"n={n!r}: the number of works must be a whole number of at least 1")
    seed = _fresh_seed(seed)
    size = max(POOL_SIZES[subject.outputs], 4 * n)
    pool = subject.pool(size, seed=seed)
    candidates = subject.matrix(pool)
    model = learned_taste(subject, profile, candidates)
    if model is None:
        chosen, scores = list(range(min(n, len(pool)))), [0.0] * min(n, len(pool))
    else:
        chosen = recommend(model, candidates, n)
        scores = [float(s) for s in model.score(candidates[chosen])]
    items = tuple(pool[i] for i in chosen)
    return Suggestion(items, tuple(scores), subject.render(items))


def why(subject: Subject, profile: TasteProfile, *, seed: int = 0) -> list[tuple[str, float]]:
    """The features the person's answers favour (positive) or disfavour (negative), strongest first."""
    pool = subject.pool(POOL_SIZES[subject.outputs], seed=seed)
    reference = subject.matrix(pool)
    model = learned_taste(subject, profile, reference)
    if model is None:
        raise AtelierError(f"profile {profile.name!r} has no answers about {subject.name} yet; answer a few questions "
                           f"first (atelier taste ask {subject.name})")
    # A feature the model's works never vary in (the colour of a grey digit) says nothing about taste.
    varies = {name for name, std in zip(subject.feature_names, reference.std(axis=0)) if std > 0}
    return [(name, effect) for name, effect in model.explain(subject.feature_names) if name in varies]
