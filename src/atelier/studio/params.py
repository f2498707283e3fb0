"""A studio job's parameters, checked in the web server when it is submitted.

:func:`check_params` checks types, ranges, model names and kinds, upload and item ids without
touching a model, and returns the parameters complete with their defaults, so the recipe saved with
the result holds every value that made it. The worker (:mod:`atelier.studio.work`) then runs them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from atelier.errors import AtelierError, choose_one
from atelier.music.compose import RESPONDERS
from atelier.taste.profile import DEFAULT_PROFILE, MAX_CHOICES, check_name

# Job kinds, and the page of the studio each belongs to ("use these settings" goes back there).
PAGES = {"sample": "/generate", "vary": "/generate", "interpolate": "/generate", "stylize": "/stylize",
         "compose": "/compose", "respond": "/compose", "morph": "/compose", "reproduce": "/gallery",
         "taste_ask": "/taste", "taste_for_me": "/taste", "taste_rate": "/taste", "taste_why": "/taste"}
ITEM_KINDS = {"sample": "image", "vary": "image", "interpolate": "image", "stylize": "style", "compose": "music",
              "respond": "music", "morph": "music"}
IMAGE_KINDS = ("gan", "vae")
MAX_IMAGES = 256  # one sample job: n per class × classes
MAX_STEPS = 64  # interpolation frames
VARY_FRAMES = 101  # a variation is the point `strength` of the way along a path of this many frames
MAX_BARS = 32
MAX_NOTES = 512
STEPS_PER_BAR = 16  # the studio's melodies are 4/4 in 16th notes, as the shipped melody models
STYLE_METHODS = ("fast", "adain", "gatys")
STYLE_MODEL_KINDS = {"fast": "fast_style", "adain": "adain"}  # gatys optimises the picture: no model
DEFAULT_STYLE_MODELS = {"fast": "fast-paintings", "adain": "adain-decoder"}
GATYS_PRESETS = ("fast", "default")  # "fast": two passes of 30 steps, ~10-30 s at 256 px on 2 cores
GATYS_MAX_SIZE = 512  # each doubling of the side quadruples Gatys's time; larger is the command line's job
GATYS_MAX_STEPS = 300
PRESERVE_COLOR = (None, "luminance", "histogram")
TASTE_MODEL_KINDS = ("gan", "vae", "melody_rnn", "music_vae", "fast_style")  # what a taste can be about
MAX_FOR_ME = 16  # works one "generate for me" job makes
# The files of an item that each hold one work: a sample's pictures, a stylised photo, a composition's
# melodies (a grid, a strip, the photo before, a whole exchange or morph are not one work).
WORK_FILE = re.compile(r"^(image_\d{3}\.png|stylized\.png|melody_\d{3}\.mid)$")


@dataclass(frozen=True)
class Catalog:
    """What the checks look up: model kinds by name, paintings, photos, and the data folder."""

    models: dict[str, str]  # model name (shipped, or an own checkpoint's short path) -> kind
    paintings: tuple[str, ...]
    photos: tuple[str, ...]
    data_dir: Path
    upload_kind: Callable[[str], str | None] = field(default=lambda _id: None)  # upload id -> "image"/"midi"/None
    item_kind: Callable[[str], str | None] = field(default=lambda _id: None)  # item id -> its kind or None
    item_files: Callable[[str], list[str]] = field(default=lambda _id: [])  # item id -> its files
    model_files: dict[str, Path] = field(default_factory=dict)  # own model name -> its checkpoint (server-side)


def _int(params: dict, name: str, default: int | None, low: int, high: int) -> int:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise AtelierError(f"{name}={value!r}: must be a whole number from {low} to {high}")
    return value


def _float(params: dict, name: str, default: float | None, low: float, high: float, *, open_low: bool = False) -> float | None:
    value = params.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            (low < value if open_low else low <= value) and value <= high):
        raise AtelierError(f"{name}={value!r}: must be a number {'above' if open_low else 'from'} {low:g} "
                           f"{'and at most' if open_low else 'to'} {high:g}")
    return float(value)


def _model(params: dict, catalog: Catalog, kinds: tuple[str, ...], *, default: str | None = None) -> str:
    name = params.get("model", default)
    fitting = sorted(n for n, k in catalog.models.items() if k in kinds)
    if name not in fitting:
        raise choose_one("model", name, fitting)
    return name


def _with_file(out: dict[str, Any], catalog: Catalog) -> dict[str, Any]:
    """An own model's checkpoint, mapped here from its catalogue name (a client never names a path)."""
    path = catalog.model_files.get(out.get("model"))
    return out if path is None else {**out, "model_file": str(path)}


def _label(params: dict, name: str, *, allow_all: bool) -> int | str | None:
    value = params.get(name)
    if value is None or (allow_all and value == "all"):
        return value
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1000:
        allowed = 'a class number, "all" or null' if allow_all else "a class number or null"
        raise AtelierError(f"{name}={value!r}: {allowed}")
    return value


def _notes(value: Any, name: str) -> list[list[int]]:
    """[[pitch, start_step, end_step], ...]: checked here so the worker gets a valid melody."""
    if not isinstance(value, list) or not value or len(value) > MAX_NOTES:
        raise AtelierError(f"{name}: a list of 1 to {MAX_NOTES} notes [pitch, start_step, end_step]")
    notes = []
    for note in value:
        if (not isinstance(note, list) or len(note) != 3
                or any(isinstance(v, bool) or not isinstance(v, int) for v in note)):
            raise AtelierError(f"{name}: each note is [pitch, start_step, end_step] in whole numbers, got {note!r}")
        pitch, start, end = note
        if not 0 <= pitch <= 127 or not 0 <= start < end <= MAX_BARS * STEPS_PER_BAR:
            raise AtelierError(f"{name}: note {note!r}: pitch 0..127 and 0 <= start_step < end_step <= "
                               f"{MAX_BARS * STEPS_PER_BAR}")
        notes.append([pitch, start, end])
    notes.sort(key=lambda n: n[1])
    for before, after in itertools.pairwise(notes):
        if after[1] < before[2]:
            raise AtelierError(f"{name}: notes {before} and {after} overlap; a melody plays one note at a time")
    return notes


def _upload(params: dict, name: str, catalog: Catalog, kind: str, *, optional: bool = False) -> str | None:
    value = params.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, str) or catalog.upload_kind(value) != kind:
        raise AtelierError(f"{name}={value!r}: not the id of an uploaded {kind} file")
    return value


def check_params(kind: str, params: Any, catalog: Catalog) -> dict[str, Any]:
    """The job's parameters, checked and completed with their defaults; a one-line error otherwise."""
    if kind not in PAGES:
        raise choose_one("job kind", kind, sorted(PAGES))
    if not isinstance(params, dict):
        raise AtelierError("params: an object of the job's parameters")
    return _with_file(_check(kind, params, catalog), catalog)


def _check(kind: str, p: dict[str, Any], catalog: Catalog) -> dict[str, Any]:
    if kind == "sample":
        out = {"model": _model(p, catalog, IMAGE_KINDS), "n": _int(p, "n", 8, 1, 64), "seed": _int(p, "seed", 0, 0, 2**31),
               "label": _label(p, "label", allow_all=True)}
        if catalog.models[out["model"]] == "gan":
            out["truncation"] = _float(p, "truncation", None, 0, 10, open_low=True)
        else:
            out["temperature"] = _float(p, "temperature", None, 0, 10, open_low=True)
        return out
    if kind == "vary":
        return {"model": _model(p, catalog, IMAGE_KINDS), "seed": _int(p, "seed", 0, 0, 2**31),
                "label": _label(p, "label", allow_all=False), "n": _int(p, "n", 8, 1, 64),
                "strength": _float(p, "strength", 0.2, 0, 1)}
    if kind == "interpolate":
        return {"model": _model(p, catalog, IMAGE_KINDS), "seed_a": _int(p, "seed_a", 0, 0, 2**31),
                "seed_b": _int(p, "seed_b", 1, 0, 2**31), "steps": _int(p, "steps", 8, 2, MAX_STEPS),
                "label": _label(p, "label", allow_all=False)}
    if kind == "stylize":
        return _check_stylize(p, catalog)
    if kind in ("compose", "respond"):
        makers = RESPONDERS if kind == "respond" else (*RESPONDERS, "music_vae")
        out = {"model": _model(p, catalog, makers),
               "temperature": _float(p, "temperature", 1.0, 0, 10, open_low=True), "seed": _int(p, "seed", 0, 0, 2**31)}
        if kind == "respond":
            return {**out, "call_notes": _notes(p.get("call_notes"), "call_notes"), "bars": _int(p, "bars", 2, 1, 8)}
        out.update(bars=_int(p, "bars", 4, 1, MAX_BARS), n=_int(p, "n", 1, 1, 8))
        if p.get("primer") is not None and p.get("primer_notes") is not None:
            raise AtelierError("give a primer (an uploaded MIDI file) or primer_notes, not both")
        out["primer"] = _upload(p, "primer", catalog, "midi", optional=True)
        out["primer_notes"] = None if p.get("primer_notes") is None else _notes(p["primer_notes"], "primer_notes")
        if catalog.models[out["model"]] == "music_vae" and (out["primer"] or out["primer_notes"]):
            raise AtelierError("a primer needs a melody RNN; a MusicVAE samples whole melodies (try morph)")
        return out
    if kind.startswith("taste_"):
        return _check_taste(kind, p, catalog)
    if kind == "reproduce":
        item = p.get("item")
        if catalog.item_kind(item) is None:
            raise AtelierError(f"item={item!r}: not the id of an item in the gallery")
        return {"item": item}
    if kind == "morph":
        out = {"model": _model(p, catalog, ("music_vae",)), "steps": _int(p, "steps", 5, 2, 16)}
        for end in ("a", "b"):
            value = p.get(end)
            if not (isinstance(value, str) and (catalog.item_kind(value) == "music" or catalog.upload_kind(value) == "midi")):
                raise AtelierError(f"{end}={value!r}: the id of a melody in the gallery or of an uploaded MIDI file")
            out[end] = value
        return out
    raise AssertionError(kind)


def _check_stylize(p: dict, catalog: Catalog) -> dict[str, Any]:
    method = p.get("method", "fast")
    if method not in STYLE_METHODS:
        raise choose_one("method", method, STYLE_METHODS)
    if method == "gatys":
        if p.get("model") is not None:
            raise AtelierError("model: gatys optimises the picture itself and takes no model")
        preset = p.get("preset", "fast")
        if preset not in GATYS_PRESETS:
            raise choose_one("gatys preset", preset, GATYS_PRESETS)
        num_steps = None if p.get("num_steps") is None else _int(p, "num_steps", 0, 1, GATYS_MAX_STEPS)
        own = {"preset": preset, "num_steps": num_steps}
        size = _int(p, "size", 256, 16, GATYS_MAX_SIZE)
    else:
        own = {"model": _model(p, catalog, (STYLE_MODEL_KINDS[method],), default=DEFAULT_STYLE_MODELS[method])}
        size = _int(p, "size", 256, 16, 1024)
    content = p.get("content")
    if not (content in catalog.photos or (isinstance(content, str) and catalog.upload_kind(content) == "image")):
        raise AtelierError(f"content={content!r}: an uploaded photo's id or a bundled photo: {', '.join(catalog.photos)}")
    styles = p.get("styles")
    if not isinstance(styles, list) or not 1 <= len(styles) <= 8:
        raise AtelierError("styles: a list of 1 to 8 paintings (bundled names or uploaded ids)")
    for style in styles:
        bundled = style in catalog.paintings
        if method == "fast" and not bundled:
            raise AtelierError(f"style {style!r}: the fast model paints its own styles only: {', '.join(catalog.paintings)}")
        if not bundled and not (isinstance(style, str) and catalog.upload_kind(style) == "image"):
            raise AtelierError(f"style {style!r}: a bundled painting ({', '.join(catalog.paintings)}) or an uploaded image's id")
    weights = p.get("weights")
    if weights is not None and (not isinstance(weights, list) or len(weights) != len(styles)
                                or any(isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0 for w in weights)
                                or not sum(weights) > 0):
        raise AtelierError(f"weights: one number >= 0 per style ({len(styles)}), with a positive sum")
    preserve = p.get("preserve_color")
    if preserve not in PRESERVE_COLOR:
        raise choose_one("preserve_color", preserve, [c for c in PRESERVE_COLOR if c])
    mask = _upload(p, "mask", catalog, "image", optional=True)
    if mask is not None and weights is not None:
        raise AtelierError("give weights (blend styles everywhere) or a mask (one style per region), not both")
    return {"content": content, "styles": list(styles), "weights": weights, "method": method,
            "strength": _float(p, "strength", 1.0, 0, 1), "preserve_color": preserve, "mask": mask,
            "size": size, **own}


def _check_taste(kind: str, p: dict, catalog: Catalog) -> dict[str, Any]:
    """A taste job: whose taste (``profile``), about which model (with its photo, class or length),
    and the job's own options; a rating names the item (and, when it holds several, the file)."""
    profile = check_name(p.get("profile", DEFAULT_PROFILE))
    if kind == "taste_rate":
        item = p.get("item")
        if catalog.item_kind(item) is None:
            raise AtelierError(f"item={item!r}: not the id of an item in the gallery")
        return {"item": item, "file": rating_file(item, catalog.item_files(item), p.get("file")),
                "stars": _int(p, "stars", None, 1, 5), "profile": profile}
    out = {"model": _model(p, catalog, TASTE_MODEL_KINDS), "profile": profile}
    model_kind = catalog.models[out["model"]]
    if model_kind == "fast_style":
        photo = p.get("photo")
        if not (photo in catalog.photos or (isinstance(photo, str) and catalog.upload_kind(photo) == "image")):
            raise AtelierError(f"photo={photo!r}: a style network's taste is about one photo: an uploaded photo's id "
                               f"or a bundled photo: {', '.join(catalog.photos)}")
        out["photo"] = photo
    elif p.get("photo") is not None:
        raise AtelierError(f"photo: applies to fast style networks; {out['model']} is a {model_kind} model")
    if model_kind in IMAGE_KINDS:
        out["label"] = _label(p, "label", allow_all=False)
    elif p.get("label") is not None:
        raise AtelierError(f"label: applies to conditional GANs and VAEs; {out['model']} is a {model_kind} model")
    if model_kind == "melody_rnn":
        out["bars"] = _int(p, "bars", 4, 1, MAX_BARS)
    elif p.get("bars") is not None:
        raise AtelierError(f"bars: applies to melody RNNs; {out['model']} is a {model_kind} model")
    seed = None if p.get("seed") is None else _int(p, "seed", 0, 0, 2**31)
    if kind == "taste_ask":
        out.update(k=_int(p, "k", MAX_CHOICES, 2, MAX_CHOICES), seed=seed)
    elif kind == "taste_for_me":
        out.update(n=_int(p, "n", 4, 1, MAX_FOR_ME), seed=seed)
    return out


def rating_file(item: str, files: list[str], file: Any = None) -> str:
    """The file of ``item`` a rating is about: ``file`` when it is one of the item's works, else the
    item's only work; an item of several works needs ``file``, one of none cannot be rated."""
    works = [name for name in files if WORK_FILE.match(name)]
    if file is not None:
        if file not in works:
            raise AtelierError(f"file={file!r}: not one of the works of item {item}"
                               + (f": {', '.join(works)}" if works else " (it holds none that can be rated)"))
        return file
    if not works:
        raise AtelierError(f"item {item}: holds no single work to rate (a grid, a strip, a morph…)")
    if len(works) > 1:
        raise AtelierError(f"item {item}: holds {len(works)} works ({', '.join(works)}); say which with file")
    return works[0]
