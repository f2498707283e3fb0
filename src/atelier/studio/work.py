"""What each studio job does, through Atelier's public API, and the worker process that runs them.

The worker (:func:`worker_main`) keeps the models it has loaded between jobs, so a call-and-response
turn never reloads the melody model; runs one job at a time; reports progress after every step; and
stops between steps when the server asks (:class:`Cancelled`). A job's files are written into a
staging folder that is renamed into ``items/<id>`` when complete; the server records the item only
after that.

Every file carries its recipe (package version, model and its SHA-256, every parameter, the inputs'
SHA-256; :mod:`atelier.provenance`): a PNG text chunk, a MIDI meta event, a WAV INFO chunk. Where a
file is one public API call's result (a sample, a strip, a stylised photo, a composition, a morph)
that recipe is the call's own, which :func:`atelier.reproduce` re-runs; a file assembled from several
calls (a grid of separate samples or variations, the answer cut from a call and response) holds a
``"sequence"`` recipe of those calls (:func:`atelier.provenance.make_sequence`); ``before.png`` holds
a ``"photo"`` recipe (the input read and resized). Each also holds the studio's job (``"studio"``: kind
and parameters), as does ``recipe.json`` beside them.

The Taste tab's jobs (ask, generate for me, rate, why) live in :mod:`atelier.studio.taste`.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from atelier.errors import AtelierError
from atelier.studio.jobs import new_id, upload_meta, upload_path
from atelier.studio.params import ITEM_KINDS, STEPS_PER_BAR, VARY_FRAMES
from atelier.studio.taste import TASTE_RUNNERS
from atelier.zoo import sha256_file

PREVIEW_PX = 96  # side of the picture a progress event may carry
WORKER_THREADS = 1  # torch threads: on 2 shared cores a second thread thrashed (docs/benchmarks.md)


class Cancelled(Exception):
    """The server asked the running job to stop."""


class Job:
    """One running job: its progress reports, its cancel check, its models, its staging folder."""

    def __init__(self, job_id: str, number: int, kind: str, params: dict[str, Any], *, outbox: Any, cancel: Any,
                 data_dir: Path, models: dict[tuple, Any]) -> None:
        self.id, self.number, self.kind, self.params = job_id, number, kind, params
        self.outbox, self.cancel, self.data_dir, self._models = outbox, cancel, Path(data_dir), models
        self.step, self.total, self.started_reporting = 0, 1, False
        self.started = time.monotonic()
        self.item_id = new_id()
        self.staging = self.data_dir / "items" / f".staging-{self.item_id}"
        self.model_sha256: dict[str, str] = {}
        self.inputs: dict[str, str] = {}

    # progress and cancel
    def begin(self, total: int) -> None:
        """Announce the steps (again when loading the model shows there are more)."""
        if self.started_reporting and total == self.total:
            return
        self.total, self.started_reporting = total, True
        self._report()

    def advance(self, preview: Any = None) -> None:
        """One step done; stop here if the server asked. ``preview``: a PIL picture of what the step
        made, when that is cheap (a sample, a frame), shown small in the queue."""
        self.check()
        self.step += 1
        self._report(preview)

    def check(self) -> None:
        if self.cancel.value == self.number:
            raise Cancelled

    def _report(self, preview: Any = None) -> None:
        elapsed = time.monotonic() - self.started
        eta = None if self.step == 0 else round(elapsed / self.step * (self.total - self.step), 3)
        self.outbox.put(("progress", self.id, self.step, self.total, eta, _thumbnail(preview)))

    # inputs
    def model(self, name: str) -> Any:
        """A shipped model, or an own checkpoint by the file the server mapped the job's model name to
        (``model_file``); loaded once per worker, again when the file changes (a run went on)."""
        import atelier
        from atelier import zoo

        source = self.source(name)
        digest = zoo.model_sha256(source)
        if (source, digest) not in self._models:
            self._models[(source, digest)] = atelier.load(source)
        self.model_sha256[name] = digest
        return self._models[(source, digest)]

    def source(self, name: str) -> str:
        """What atelier.load takes for a model name: the name, or an own model's checkpoint path."""
        return (self.params.get("model_file") or name) if name == self.params.get("model") else name

    def keep(self, key: tuple, make: Callable[[], Any]) -> Any:
        """What ``make`` builds, once per worker: kept beside the models (a taste subject, whose
        latent directions take a moment to find). ``key`` names the model's file and SHA-256 too."""
        if key not in self._models:
            self._models[key] = make()
        return self._models[key]

    def upload(self, upload_id: str) -> Path:
        path = upload_path(self.data_dir, upload_id)
        self.inputs[upload_id] = upload_meta(self.data_dir, upload_id)["sha256"]
        return path

    def item_midi(self, item_id: str) -> Path:
        """The first MIDI file of a gallery item (an input of a morph)."""
        folder = self.data_dir / "items" / item_id
        recipe = json.loads((folder / "recipe.json").read_text())
        name = next((f for f in recipe["files"] if f.endswith(".mid")), None)
        if name is None:
            raise AtelierError(f"item {item_id} has no melody")
        self.inputs[item_id] = sha256_file(folder / name)
        return folder / name

    # output
    def recipe(self) -> dict[str, Any]:
        """The studio's recipe: the job and its parameters, the models and inputs by SHA-256."""
        from atelier.version import __version__

        return {"atelier": __version__, "job": self.kind, "params": self.params, "models": self.model_sha256,
                "inputs": self.inputs}

    def call_recipe(self, command: str, params: dict[str, Any], *, model: str | None, input_params: tuple[str, ...] = (),
                    **output: Any) -> dict[str, Any]:
        """The recipe of the public API call that made a file (what ``atelier reproduce`` re-runs),
        with the studio's own under ``"studio"``."""
        from atelier.provenance import make_recipe

        recipe = make_recipe(command, params, model=None if model is None else self.source(model),
                             input_params=input_params, output=output or None)
        return {**recipe, "studio": self.recipe()}

    def path(self, name: str) -> Path:
        self.staging.mkdir(parents=True, exist_ok=True)
        return self.staging / name

    def finish(self, title: str, result: dict[str, Any] | None = None, *, kind: str | None = None) -> dict[str, Any]:
        """Rename the complete staging folder into place; the outcome the server records. ``kind``:
        the item's kind where the job's own does not decide it (generate for me: what the model makes)."""
        self.check()
        files = sorted(p.name for p in self.staging.iterdir())
        recipe = {**self.recipe(), "files": files}
        (self.staging / "recipe.json").write_text(json.dumps(recipe, indent=1, sort_keys=True))
        os.replace(self.staging, self.data_dir / "items" / self.item_id)
        self.step = self.total
        item = {"id": self.item_id, "kind": kind or ITEM_KINDS[self.kind], "job": self.id, "title": title,
                "recipe": recipe, "files": files + ["recipe.json"]}
        return {"total": self.total, "item": item, "result": result}

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# The job kinds
# ---------------------------------------------------------------------------------------------


def _thumbnail(picture: Any) -> str | None:
    """A picture as a small PNG data URL (at most PREVIEW_PX a side) for a progress event, or None."""
    if picture is None:
        return None
    import base64
    import io

    small = picture.copy()
    small.thumbnail((PREVIEW_PX, PREVIEW_PX))
    buffer = io.BytesIO()
    small.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _write_png(job: Job, name: str, picture: Any, metadata: dict[str, Any] | None = None) -> None:
    from atelier.imageio import write_image

    write_image(picture, job.path(name), metadata=metadata or job.recipe())


def _sequence_recipe(job: Job, parts: list[dict[str, Any]], assemble: str, **options: Any) -> dict[str, Any]:
    """The recipe of a file assembled from several calls' results, with the studio's own."""
    from atelier.provenance import make_sequence

    return {**make_sequence(parts, assemble=assemble, **options), "studio": job.recipe()}


def _label_text(label: Any) -> str:
    return "" if label is None else f" · class {label}"


def run_sample(job: Job, p: dict[str, Any]) -> dict[str, Any]:
    """``n`` pictures, each from its own seed (seed, seed+1, …) so any one can be varied or morphed;
    label "all": a row of ``n`` per class."""
    import torch

    import atelier
    from atelier.images.grid import to_pil, write_grid

    job.begin(p["n"] + 2)
    model = job.model(p["model"])
    classes = model.config.num_classes
    if p["label"] == "all":
        labels = list(range(classes)) if classes else [None]
    else:
        labels = [p["label"]]
    plan = [(p["seed"] + i, label if label is not None or not classes else i % classes)
            for label in labels for i in range(p["n"])]
    job.begin(len(plan) + 2)
    job.advance()
    options = {k: p[k] for k in ("truncation", "temperature") if p.get(k) is not None}
    pictures, described, parts = [], [], []
    for i, (seed, label) in enumerate(plan):
        picture = atelier.sample(model, 1, seed=seed, labels=label, **options)  # (1, C, H, W)
        pictures.append(picture)
        name = f"image_{i + 1:03d}.png"
        call = {"n": 1, "seed": seed, "labels": label, **options}
        parts.append(job.call_recipe("sample", call, model=p["model"], index=0))
        _write_png(job, name, to_pil(picture[0]), parts[-1])
        described.append({"file": name, "seed": seed, "label": label})
        job.advance(preview=to_pil(picture[0]))
    write_grid(torch.cat(pictures), job.path("grid.png"), nrow=p["n"],
               metadata=_sequence_recipe(job, parts, "grid", nrow=p["n"]))
    return job.finish(f"{p['model']} · {len(plan)} pictures · seed {p['seed']}{_label_text(p['label'])}",
                      {"images": described, "grid": "grid.png"})


def vary_seed(seed: int, i: int) -> int:
    """The seed of the i-th direction a variation leans towards (fixed, so a recipe reproduces)."""
    return (seed * 7919 + 104729 * (i + 1)) % 2**31


def run_vary(job: Job, p: dict[str, Any]) -> dict[str, Any]:
    """``n`` pictures near the one of ``seed``: each the point ``strength`` of the way along the path
    towards another seed's picture (a slerp in noise space, so each stays a typical sample)."""
    import torch

    import atelier
    from atelier.images.grid import to_pil, write_grid

    job.begin(p["n"] + 2)
    model = job.model(p["model"])
    job.advance()
    index = round(p["strength"] * (VARY_FRAMES - 1))
    pictures, described, parts = [], [], []
    for i in range(p["n"]):
        towards = vary_seed(p["seed"], i)
        frames = atelier.interpolate(model, p["seed"], towards, steps=VARY_FRAMES, label=p["label"])
        pictures.append(frames[index:index + 1])
        name = f"image_{i + 1:03d}.png"
        call = {"seeds": [p["seed"], towards], "steps": VARY_FRAMES, "label": p["label"]}
        parts.append(job.call_recipe("interpolate", call, model=p["model"], index=index))
        _write_png(job, name, to_pil(frames[index]), parts[-1])
        described.append({"file": name, "towards": towards})
        job.advance(preview=to_pil(frames[index]))
    write_grid(torch.cat(pictures), job.path("grid.png"), nrow=min(p["n"], 8),
               metadata=_sequence_recipe(job, parts, "grid", nrow=min(p["n"], 8)))
    return job.finish(f"{p['model']} · {p['n']} variations of seed {p['seed']}{_label_text(p['label'])}",
                      {"images": described, "grid": "grid.png"})


def run_interpolate(job: Job, p: dict[str, Any]) -> dict[str, Any]:
    """A strip and a GIF along the path from one seed's picture to another's."""
    import atelier
    from atelier.images.grid import write_gif, write_grid

    job.begin(3)
    model = job.model(p["model"])
    job.advance()
    frames = atelier.interpolate(model, p["seed_a"], p["seed_b"], steps=p["steps"], label=p["label"])
    job.advance()
    call = {"seeds": [p["seed_a"], p["seed_b"]], "steps": p["steps"], "label": p["label"]}
    recipe = job.call_recipe("interpolate", call, model=p["model"])
    write_grid(frames, job.path("strip.png"), nrow=p["steps"], metadata=recipe)
    write_gif(frames, job.path("morph.gif"), metadata=recipe)
    return job.finish(f"{p['model']} · seed {p['seed_a']} → {p['seed_b']}{_label_text(p['label'])}",
                      {"strip": "strip.png", "gif": "morph.gif"})


def _gatys_steps(p: dict[str, Any]) -> int:
    """The optimisation steps of a Gatys job: per scale, times the preset's scales."""
    from atelier.style.gatys import GATYS_PRESETS

    preset = GATYS_PRESETS[p["preset"]]
    return (p["num_steps"] or preset.num_steps) * len(preset.scales)


def run_stylize(job: Job, p: dict[str, Any]) -> dict[str, Any]:
    """The photo painted after the chosen paintings; ``before.png`` is the photo at the same size.
    Gatys reports every optimisation step and stops between steps when cancelled."""
    import atelier
    from atelier.data.photos import load_image, to_image

    gatys = p["method"] == "gatys"
    job.begin(3 + (_gatys_steps(p) if gatys else 0))
    model = None if gatys else job.model(p["model"])
    content = job.upload(p["content"]) if upload_meta(job.data_dir, p["content"]) else p["content"]
    styles = [job.upload(s) if upload_meta(job.data_dir, s) else s for s in p["styles"]]
    mask = None if p["mask"] is None else job.upload(p["mask"])
    job.advance()
    call = {"content": content, "styles": styles, "method": p["method"], "weights": p["weights"],
            "strength": p["strength"], "preserve_color": p["preserve_color"], "mask": mask, "size": p["size"]}
    if gatys:
        call.update(preset=p["preset"], num_steps=p["num_steps"])
    # Each Gatys step advances the job, which raises Cancelled out of the optimisation when asked.
    on_step = {"on_step": lambda _step, _total: job.advance()} if gatys else {}
    result = atelier.stylize(**call, model=model, **on_step)
    job.advance()
    recipe = job.call_recipe("stylize", call, model=p.get("model"), input_params=("content", "styles", "mask"))
    _write_png(job, "stylized.png", result.image, {**result.metadata, **recipe})
    before = to_image(load_image(content, what="photo")).convert("RGB").resize(result.image.size)
    _write_png(job, "before.png", before, job.call_recipe("photo", {"image": content, "size": list(before.size)},
                                                          model=None, input_params=("image",)))
    names = [s if isinstance(s, str) else "upload" for s in p["styles"]]
    return job.finish(f"{p['method']} · {', '.join(names)} · strength {p['strength']:g}",
                      {"image": "stylized.png", "before": "before.png"})


def _melody(notes: list[list[int]], *, qpm: float = 120.0) -> Any:
    """A 4/4 melody of whole bars from [[pitch, start_step, end_step], ...]."""
    from atelier.music.events import Melody, Note

    end = max(n[2] for n in notes)
    return Melody(tuple(Note(*n) for n in notes), num_steps=math.ceil(end / STEPS_PER_BAR) * STEPS_PER_BAR, qpm=qpm)


def _steps(notes: list[list[int]]) -> list[int]:
    """Magenta's primer list for whole bars of ``notes``: a pitch starts a note, -2 holds it, -1 is
    silence. A list (not a file) keeps a typed primer inside the recipe, so the call can be re-run."""
    melody = _melody(notes)
    steps = [-1] * melody.num_steps
    for note in melody.notes:
        steps[note.start_step] = note.pitch
        steps[note.start_step + 1:note.end_step] = [-2] * (note.duration - 1)
    return steps


def _notes(melody: Any) -> list[list[int]]:
    return [[n.pitch, n.start_step, n.end_step] for n in melody.notes]


def _describe(melody: Any) -> dict[str, Any]:
    return {"name": melody.name, "notes": _notes(melody), "num_steps": melody.num_steps, "qpm": melody.qpm}


def _write_folder(job: Job, write: Callable[..., Any], melodies: list[Any], **options: Any) -> None:
    """One of atelier.music.compose's folder writers, into the job's staging folder."""
    job.path("recipe.json")  # makes the staging folder
    write(melodies, job.staging, **options)


def run_compose(job: Job, p: dict[str, Any]) -> dict[str, Any]:
    """New melodies, optionally continuing a primer (an uploaded MIDI file or notes played in the page)."""
    import atelier
    from atelier.music.compose import write_outputs

    job.begin(3)
    model = job.model(p["model"])
    primer = None
    if p["primer"] is not None:
        primer = job.upload(p["primer"])
    elif p["primer_notes"] is not None:
        primer = _steps(p["primer_notes"])
    job.advance()
    call = {"bars": None if model.kind == "music_vae" else p["bars"], "n": p["n"], "temperature": p["temperature"],
            "primer": primer, "seed": p["seed"]}
    melodies = atelier.compose(model, **call)
    job.advance()
    recipe = job.call_recipe("compose", call, model=p["model"], input_params=("primer",))
    _write_folder(job, write_outputs, melodies, wav=True, musicxml=True, piano_roll=False, recipe=recipe)
    bars = melodies[0].num_steps // STEPS_PER_BAR
    return job.finish(f"{p['model']} · {p['n']} × {bars} bars · temperature {p['temperature']:g} · seed {p['seed']}",
                      {"melodies": [_describe(m) for m in melodies]})


def run_respond(job: Job, p: dict[str, Any]) -> dict[str, Any]:
    """Call and response through :func:`atelier.respond`: ``bars`` bars answering the call, in its key
    and meter, kept in the key and ending on its tonic. ``melody_001.mid`` (and its WAV) is the answer."""
    import atelier
    from atelier.music.compose import write_outputs

    job.begin(3)
    model = job.model(p["model"])
    phrase = _steps(p["call_notes"])
    job.advance()
    call = {"phrase": phrase, "bars": p["bars"], "temperature": p["temperature"], "seed": p["seed"]}
    answer = atelier.respond(model, **call)
    job.advance()
    _write_folder(job, write_outputs, [answer], wav=True, musicxml=False, piano_roll=False,
                  recipe=job.call_recipe("respond", call, model=p["model"]))
    call_steps = -(-len(phrase) // STEPS_PER_BAR) * STEPS_PER_BAR
    return job.finish(f"{p['model']} · answer to a {call_steps // STEPS_PER_BAR}-bar call · seed {p['seed']}",
                      {"notes": [[n.pitch, n.start_step, n.end_step] for n in answer.notes],
                       "num_steps": answer.num_steps, "call_steps": call_steps, "qpm": answer.qpm})


def run_morph(job: Job, p: dict[str, Any]) -> dict[str, Any]:
    """A MusicVAE's path from one melody to another (gallery items or uploaded MIDI files)."""
    import atelier
    from atelier.music.compose import read_primer, write_interpolation

    job.begin(3)
    model = job.model(p["model"])
    files = [job.upload(v) if upload_meta(job.data_dir, v) else job.item_midi(v) for v in (p["a"], p["b"])]
    job.advance()
    call = {"melodies": files, "steps": p["steps"], "seed": 0}
    melodies = atelier.interpolate(model, *(read_primer(f) for f in files), steps=p["steps"], seed=0)
    job.advance()
    recipe = job.call_recipe("interpolate", call, model=p["model"], input_params=("melodies",))
    _write_folder(job, write_interpolation, melodies, wav=True, recipe=recipe)
    return job.finish(f"{p['model']} · morph in {p['steps']} steps", {"melodies": [_describe(m) for m in melodies]})


def run_reproduce(job: Job, p: dict[str, Any]) -> dict[str, Any]:
    """Re-run the recipe inside each of an item's files that one public API call made
    (:func:`atelier.reproduce`) and say whether every result is bit-identical in content."""
    import tempfile

    import atelier
    from atelier.provenance import read_recipe

    folder = job.data_dir / "items" / p["item"]
    files = json.loads((folder / "recipe.json").read_text())["files"]
    checkable = []
    for name in files:
        try:
            if read_recipe(folder / name).get("command"):
                checkable.append(name)
        except AtelierError:  # a file without a recipe (recipe.json itself)
            continue
    job.begin(len(checkable) + 1)
    differences = []
    with tempfile.TemporaryDirectory() as scratch:
        for name in checkable:
            report = atelier.reproduce(folder / name, out=Path(scratch) / name)
            differences += [f"{name}: {d}" for d in report.differences]
            job.advance()
    if not checkable:
        differences.append("none of this item's files holds the recipe of one call")
    return {"total": job.total, "item": None,
            "result": {"identical": not differences, "differences": differences, "checked": checkable}}


RUNNERS: dict[str, Callable[[Job, dict[str, Any]], dict[str, Any]]] = {
    "sample": run_sample, "vary": run_vary, "interpolate": run_interpolate, "stylize": run_stylize,
    "compose": run_compose, "respond": run_respond, "morph": run_morph, "reproduce": run_reproduce,
    **TASTE_RUNNERS,
}


def worker_main(inbox: Any, outbox: Any, cancel: Any, data_dir: str) -> None:
    """The worker process: run jobs from ``inbox`` one at a time until it sends None."""
    import warnings

    import torch

    torch.set_num_threads(WORKER_THREADS)
    import atelier  # noqa: F401  (imported before "ready", so the first job does not wait for it)

    warnings.simplefilter("ignore")  # a job's result is its files and its message; warnings have no reader here
    models: dict[tuple, Any] = {}  # (name or checkpoint path, SHA-256) -> the loaded model; Job.keep's too
    outbox.put(("ready",))
    while (message := inbox.get()) is not None:
        job_id, number, kind, params = message
        job = Job(job_id, number, kind, params, outbox=outbox, cancel=cancel, data_dir=Path(data_dir), models=models)
        try:
            job.check()
            outbox.put(("done", job_id, RUNNERS[kind](job, params)))
        except Cancelled:
            outbox.put(("cancelled", job_id))
        except AtelierError as error:
            outbox.put(("failed", job_id, str(error)))
        except Exception as error:  # the job fails with one line; the worker lives on for the next
            outbox.put(("failed", job_id, f"{type(error).__name__}: {error}".splitlines()[0]))
        finally:
            job.discard()
