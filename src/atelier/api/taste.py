"""A person's taste, by model name: ask, answer, rate, generate for them, say why, export, delete.

Answers live in one local SQLite file (:mod:`atelier.taste.profile`; by default in the studio's data
folder, which the studio and the command line share). Nothing leaves the machine.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "taste.sqlite"
>>> question, works = ask("mnist-dcgan", profile="ada", path=path, k=3, seed=1)
>>> tuple(works.shape)
(3, 1, 28, 28)
>>> answer(question.id, 2, profile="ada", path=path)
1
>>> mine = for_me("mnist-dcgan", 2, profile="ada", path=path, seed=2)
>>> len(mine.items), tuple(mine.works.shape)
(2, (2, 1, 28, 28))
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from atelier.api.models import ModelRef, loaded
from atelier.data.photos import is_builtin, load_image
from atelier.errors import AtelierError
from atelier.family import TrainedModel
from atelier.provenance import read_recipe
from atelier.taste import learn
from atelier.taste.profile import DEFAULT_PROFILE, MAX_CHOICES, Question, TasteProfile, profile_names
from atelier.taste.subjects import Subject, subject_for

PathLike = str | os.PathLike


def subject(model: ModelRef, *, photo: Any = None, label: int | None = None, bars: int = 4,
            name: str | None = None) -> Subject:
    """What a taste about ``model`` is over: its candidates and their features. A fast style
    network's taste is about one ``photo`` (a file or a bundled photo's name); ``label`` fixes a
    conditional model's class; ``bars`` is a melody RNN's length. Answers are kept under ``name``
    (default: the model's name or path); a loaded model needs one."""
    if name is None:
        if isinstance(model, TrainedModel):
            raise AtelierError("a loaded model needs name=…: the profile keeps answers under the model's name")
        name = str(model)
    trained = loaded(model)
    if trained.kind == "fast_style":
        if photo is None:
            raise AtelierError(f"model {name}: taste for a style network is about one photo; give photo=… "
                               "(a file or a bundled photo's name)")
        photo_name = photo if is_builtin(photo) else str(Path(photo).resolve())
        return subject_for(trained, name, photo=load_image(photo, what="photo"), photo_name=photo_name)
    if photo is not None:
        raise AtelierError(f"photo: applies to fast style networks; {name} is a {trained.kind} model")
    options: dict[str, Any] = {}
    if trained.kind in ("gan", "vae"):
        options["label"] = label
    elif label is not None:
        raise AtelierError(f"label: applies to conditional GANs and VAEs; {name} is a {trained.kind} model")
    if trained.outputs == "melodies":
        options["bars"] = bars
    return subject_for(trained, name, **options)


def open_profile(profile: str = DEFAULT_PROFILE, path: PathLike | None = None) -> TasteProfile:
    """The person ``profile`` in the profile file ``path`` (default: the studio's ``taste.sqlite``)."""
    return TasteProfile.open(path, profile)


def ask(model: ModelRef | Subject, *, profile: str = DEFAULT_PROFILE, path: PathLike | None = None,
        k: int = MAX_CHOICES, seed: int | None = None, **subject_options: Any) -> tuple[Question, Any]:
    """A question for the person: ``k`` works of ``model`` chosen so their answer teaches the most.
    Returns the stored question (answer it with :func:`answer`) and the works to show."""
    about = model if isinstance(model, Subject) else subject(model, **subject_options)
    with open_profile(profile, path) as person:
        return learn.ask(about, person, k=k, seed=seed)


def answer(question_id: str, picked: int, *, profile: str = DEFAULT_PROFILE, path: PathLike | None = None) -> int:
    """Record that of the question's works the person liked number ``picked`` best (0-based)."""
    with open_profile(profile, path) as person:
        return person.answer_question(question_id, picked)


def rate(work: PathLike, stars: int, *, profile: str = DEFAULT_PROFILE, path: PathLike | None = None,
         model: ModelRef | Subject | None = None, **subject_options: Any) -> int:
    """Record a 1–5 rating of a file Atelier made (its recipe, inside it, says what it is).

    The file must hold one work its model can make again on its own: a picture of ``atelier sample
    --n 1``, a tune of ``atelier compose --n 1``, a fast stylisation, or one of the works a question
    or "generate for me" wrote. ``model`` (a name or an already built :func:`subject`, which saves
    loading the model again) overrides the model the recipe names."""
    if isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5:
        raise AtelierError(f"stars={stars!r}: a rating is a whole number from 1 to 5")
    recipe = read_recipe(work)
    command, params = recipe.get("command"), dict(recipe.get("params", {}))
    if command == "sequence" and len(params.get("parts", [])) == 1:  # a single work assembled from one part
        recipe = params["parts"][0]
        command, params = recipe.get("command"), dict(recipe.get("params", {}))
    name = recipe.get("model") if model is None else model
    if name is None:
        raise AtelierError(f"{work}: its recipe names no model; a rating is about one model's work")
    if command == "stylize" and "photo" not in subject_options:
        subject_options["photo"] = params.get("content")
    if command == "compose" and "bars" not in subject_options and params.get("bars"):
        subject_options["bars"] = int(params["bars"])  # the tune's own length
    about = name if isinstance(name, Subject) else subject(name, **subject_options)
    candidate = about.recipe_of(str(command), params)
    if candidate is None:
        raise AtelierError(f"{work}: made by `atelier {command}` in a way taste cannot rate (several works in one "
                           "file, a primer, truncation…); rate a single work: sample --n 1, compose --n 1, a question's "
                           "or a for-me work")
    item = about.measure([candidate])
    if not item:
        raise AtelierError(f"{work}: the work has no notes to measure")
    with open_profile(profile, path) as person:
        return person.record_rating(about.name, item[0], stars)


def for_me(model: ModelRef | Subject, n: int = 1, *, profile: str = DEFAULT_PROFILE, path: PathLike | None = None,
           seed: int | None = None, **subject_options: Any) -> learn.Suggestion:
    """``n`` works of ``model`` the person is predicted to like most (a plain sample before any answer)."""
    about = model if isinstance(model, Subject) else subject(model, **subject_options)
    with open_profile(profile, path) as person:
        return learn.for_me(about, person, n=n, seed=seed)


def why(model: ModelRef | Subject, *, profile: str = DEFAULT_PROFILE, path: PathLike | None = None,
        **subject_options: Any) -> list[tuple[str, float]]:
    """The features the person's answers about ``model`` favour (+) or disfavour (−), strongest first."""
    about = model if isinstance(model, Subject) else subject(model, **subject_options)
    with open_profile(profile, path) as person:
        return learn.why(about, person)


def profiles(path: PathLike | None = None) -> dict[str, dict[str, int]]:
    """Each profile in the file, with its number of answers per model."""
    out = {}
    for name in profile_names(path):
        with open_profile(name, path) as person:
            out[name] = person.subjects()
    return out


def export_profile(profile: str = DEFAULT_PROFILE, path: PathLike | None = None) -> dict[str, Any]:
    """Everything stored about ``profile``, as JSON-ready data."""
    with open_profile(profile, path) as person:
        return person.export()


def delete_profile(profile: str = DEFAULT_PROFILE, path: PathLike | None = None) -> int:
    """Forget ``profile``: its answers and open questions. Returns how many answers were deleted."""
    with open_profile(profile, path) as person:
        return person.delete()


__all__: Sequence[str] = ("subject", "open_profile", "ask", "answer", "rate", "for_me", "why", "profiles",
                          "export_profile", "delete_profile")
