"""The studio's "Taste" tab: a person's taste profile, through :mod:`atelier.api.taste`.

The profile file is ``DATA_DIR/taste.sqlite``, the file ``atelier taste`` uses when the data folder
is the default one, so the studio and the command line learn from the same answers. Nothing leaves
the machine.

In the web server (quick, no model): the answer to a question, the number of answers, the export
and the deletion of a profile, and the files of an open question. In the worker (where the models
are loaded), as jobs:

* ``taste_ask``: a question's 2–4 works, written to ``DATA_DIR/taste/<profile>/<question>/``
  (``work_1.png`` … or ``work_1.mid`` …), outside the history: they are a question, not a result;
* ``taste_for_me``: works chosen for the person, into the history like any result;
* ``taste_rate``: 1–5 stars for a history item's work (the recipe inside its file says what it is);
* ``taste_why``: the features the person's answers favour.

Each work's file holds the recipe of the one library call that makes it again (what ``atelier
reproduce`` re-runs and ``atelier taste rate`` reads), with the studio's job beside it, as
``atelier taste ask`` and ``--taste`` write them (:func:`atelier.cli.taste.write_works`).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atelier.errors import AtelierError
from atelier.studio.jobs import upload_meta
from atelier.taste.profile import PROFILE_FILE, check_name

if TYPE_CHECKING:
    from atelier.studio.work import Job

QUESTION_ID = re.compile(r"^[0-9a-f]{12}$")  # TasteProfile.save_question's ids
QUESTION_FILE = re.compile(r"^work_[1-9]\.(png|mid)$")
KEEP_QUESTIONS = 16  # open questions' folders kept per profile (one asked and left is never answered)
WORK_KINDS = {"images": "image", "pictures": "style", "melodies": "music"}  # what the model makes -> item kind


def profile_path(data_dir: Path) -> Path:
    """The profile file of a studio (the command line's too, for the default data folder)."""
    return Path(data_dir) / PROFILE_FILE


def questions_dir(data_dir: Path, profile: str) -> Path:
    return Path(data_dir) / "taste" / check_name(profile)


# ---------------------------------------------------------------------------------------------
# In the web server
# ---------------------------------------------------------------------------------------------


def answer_counts(data_dir: Path, profile: str, names: dict[str, str]) -> dict[str, int]:
    """How many answers ``profile`` gave about each model, by catalogue name (``names`` maps an own
    model's checkpoint, the name its answers are stored under, to its name in the catalogue)."""
    from atelier.api.taste import profiles

    check_name(profile)
    path = profile_path(data_dir)
    counts = profiles(path).get(profile, {}) if path.exists() else {}
    return {names.get(subject, subject): count for subject, count in counts.items()}


def answer(data_dir: Path, profile: str, question: Any, picked: Any) -> int:
    """Record the person's pick (0-based) of an open question; its works' files go with it."""
    from atelier.api.taste import answer as record

    answer_id = record(question, picked, profile=profile, path=profile_path(data_dir))
    if isinstance(question, str) and QUESTION_ID.match(question):
        shutil.rmtree(questions_dir(data_dir, profile) / question, ignore_errors=True)
    return answer_id


def export(data_dir: Path, profile: str) -> dict[str, Any]:
    from atelier.api.taste import export_profile

    return export_profile(profile, profile_path(data_dir))


def delete(data_dir: Path, profile: str) -> int:
    """Forget ``profile``: its answers, its open questions and their works' files."""
    from atelier.api.taste import delete_profile

    count = delete_profile(profile, profile_path(data_dir))
    shutil.rmtree(questions_dir(data_dir, profile), ignore_errors=True)
    return count


def question_file(data_dir: Path, profile: str, question: str, name: str) -> Path | None:
    """A file of an open question's works; None for anything else."""
    try:
        folder = questions_dir(data_dir, profile)
    except AtelierError:  # a profile name that is not one
        return None
    if not QUESTION_ID.match(question) or not QUESTION_FILE.match(name):
        return None
    path = folder / question / name
    return path if path.is_file() else None


# ---------------------------------------------------------------------------------------------
# In the worker
# ---------------------------------------------------------------------------------------------


def _subject(job: Job, p: dict[str, Any]) -> Any:
    """The taste subject of the job's model (and photo, class, length), kept for the worker's life:
    an image model's principal latent directions are found once."""
    from atelier.api.taste import subject

    source = job.source(p["model"])
    trained = job.model(p["model"])  # the worker's one copy of the model; records its SHA-256
    digest = job.model_sha256[p["model"]]
    photo = p.get("photo")
    if photo is not None and upload_meta(job.data_dir, photo):
        photo = str(job.upload(photo))
    options = {"photo": photo, "label": p.get("label"), "bars": p.get("bars", 4)}
    key = ("taste", source, digest, *options.values())
    return job.keep(key, lambda: subject(trained, name=str(source), **options))


def _work_recipe(job: Job, about: Any, item: Any, model: str, **output: Any) -> dict[str, Any]:
    """The recipe of the one call that makes ``item``'s work again, with the studio's job."""
    command, params = about.call(item.recipe)
    return job.call_recipe(command, params, model=model, input_params=("content",) if command == "stylize" else (),
                           **output)


def _pictures(about: Any, works: Any) -> Any:
    """The works as images (n, C, H, W) in [-1, 1]: a GAN's as they are, stylised photos converted."""
    if about.outputs == "images":
        return works
    import torch

    from atelier.data.photos import to_tensor

    return torch.cat([to_tensor(w) * 2 - 1 for w in works])


def _melody_json(melody: Any) -> dict[str, Any]:
    return {"notes": [[n.pitch, n.start_step, n.end_step] for n in melody.notes], "num_steps": melody.num_steps,
            "qpm": melody.qpm}


def _write_question(job: Job, about: Any, p: dict[str, Any], question: Any, works: Any) -> list[dict[str, Any]]:
    """The question's works, one file each with its own recipe, into its folder (renamed into place
    complete); older open questions' folders beyond KEEP_QUESTIONS go."""
    folder = questions_dir(job.data_dir, p["profile"])
    staging = folder / f".staging-{question.id}"
    staging.mkdir(parents=True, exist_ok=True)
    described = []
    try:
        if about.outputs == "melodies":
            from atelier.music.midi import write_midi

            for i, (item, melody) in enumerate(zip(question.items, works), start=1):
                recipe = _work_recipe(job, about, item, p["model"], index=0)
                write_midi(melody, staging / f"work_{i}.mid", metadata=recipe)
                described.append({"file": f"work_{i}.mid", **_melody_json(melody)})
        else:
            from atelier.images.grid import to_pil
            from atelier.imageio import write_image

            for i, (item, picture) in enumerate(zip(question.items, _pictures(about, works)), start=1):
                write_image(to_pil(picture), staging / f"work_{i}.png",
                            metadata=_work_recipe(job, about, item, p["model"], index=0))
                described.append({"file": f"work_{i}.png"})
        os.replace(staging, folder / question.id)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    older = sorted((d for d in folder.iterdir() if QUESTION_ID.match(d.name)), key=lambda d: d.stat().st_mtime)
    for stale in older[:-KEEP_QUESTIONS]:
        shutil.rmtree(stale, ignore_errors=True)
    return described


def _answers(job: Job, about: Any, profile: str) -> int:
    from atelier.api.taste import profiles

    return profiles(profile_path(job.data_dir)).get(profile, {}).get(about.name, 0)


def run_ask(job: Job, p: dict[str, Any]) -> dict[str, Any]:
    """A question: the 2–4 works whose answer teaches the most, stored in the profile until answered."""
    from atelier.api.taste import ask

    job.begin(3)
    about = _subject(job, p)
    job.advance()
    question, works = ask(about, profile=p["profile"], path=profile_path(job.data_dir), k=p["k"], seed=p["seed"])
    job.advance()
    described = _write_question(job, about, p, question, works)
    return {"total": job.total, "item": None,
            "result": {"question": question.id, "profile": p["profile"], "model": p["model"], "outputs": about.outputs,
                       "works": described, "answers": _answers(job, about, p["profile"])}}


def run_for_me(job: Job, p: dict[str, Any]) -> dict[str, Any]:
    """``n`` works the person is predicted to like most, into the history: each in its own file with
    its own recipe (so each can be rated and reproduced); pictures also as a grid."""
    from atelier.api.taste import for_me

    job.begin(3)
    about = _subject(job, p)
    job.advance()
    mine = for_me(about, p["n"], profile=p["profile"], path=profile_path(job.data_dir), seed=p["seed"])
    job.advance()
    parts = [_work_recipe(job, about, item, p["model"], index=0) for item in mine.items]
    if about.outputs == "melodies":
        from atelier.music.compose import write_outputs

        job.path("recipe.json")  # makes the staging folder
        write_outputs(mine.works, job.staging, wav=True, musicxml=True, piano_roll=False, recipe=parts)
        works = [{"file": f"melody_{i:03d}.mid", **_melody_json(m)} for i, m in enumerate(mine.works, start=1)]
    else:
        from atelier.images.grid import to_pil, write_grid
        from atelier.imageio import write_image
        from atelier.provenance import make_sequence

        pictures = _pictures(about, mine.works)
        works = []
        for i, (picture, recipe) in enumerate(zip(pictures, parts), start=1):
            write_image(to_pil(picture), job.path(f"image_{i:03d}.png"), metadata=recipe)
            works.append({"file": f"image_{i:03d}.png"})
        nrow = min(len(parts), 8)
        write_grid(pictures, job.path("grid.png"), nrow=nrow,
                   metadata={**make_sequence(parts, assemble="grid", nrow=nrow), "studio": job.recipe()})
    for work, score in zip(works, mine.scores):
        work["score"] = round(score, 4)
    answers = _answers(job, about, p["profile"])
    told = f"{answers} answers" if answers else "no answers yet: a plain sample"
    return job.finish(f"{p['model']} · {len(works)} for {p['profile']} ({told})",
                      {"works": works, "outputs": about.outputs, "answers": answers}, kind=WORK_KINDS[about.outputs])


def run_rate(job: Job, p: dict[str, Any]) -> dict[str, Any]:
    """1–5 stars for the work in one file of a history item (its recipe says which model made it how)."""
    from atelier.api.taste import rate
    from atelier.zoo import sha256_file

    job.begin(2)
    path = job.data_dir / "items" / p["item"] / p["file"]
    job.inputs[p["item"]] = sha256_file(path)
    job.advance()
    try:
        answer_id = rate(path, p["stars"], profile=p["profile"], path=profile_path(job.data_dir))
    except AtelierError as error:  # the page names the file, not where the studio keeps it
        raise AtelierError(str(error).replace(str(path), p["file"])) from None
    return {"total": job.total, "item": None,
            "result": {"answer": answer_id, "item": p["item"], "file": p["file"], "stars": p["stars"]}}


def run_why(job: Job, p: dict[str, Any]) -> dict[str, Any]:
    """The features the person's answers favour (+) and disfavour (−), strongest first."""
    from atelier.api.taste import why

    job.begin(2)
    about = _subject(job, p)
    job.advance()
    effects = why(about, profile=p["profile"], path=profile_path(job.data_dir))
    return {"total": job.total, "item": None,
            "result": {"effects": [[name, round(float(effect), 4)] for name, effect in effects],
                       "answers": _answers(job, about, p["profile"])}}


TASTE_RUNNERS: dict[str, Callable[[Job, dict[str, Any]], dict[str, Any]]] = {
    "taste_ask": run_ask, "taste_for_me": run_for_me, "taste_rate": run_rate, "taste_why": run_why,
}
