"""Recipes: how an artefact was made, kept inside the artefact itself.

Every picture, MIDI file and WAV file Atelier writes can carry a *recipe*, a small versioned dict:

=================  ==========================================================================
``format``         the recipe format's version (:data:`FORMAT`); a newer one is refused
``atelier``        the package version that wrote it
``command``        the public API verb that made it: sample, interpolate, stylize, translate,
                   compose, reconstruct, decode
``params``         every parameter of that call (seeds included); input files as absolute paths
``model``          the model by shipped name or absolute checkpoint path, and ``model_sha256``
``inputs``         ``{path: sha256}`` of every input file the call read
``output``         which part of the call's result this file holds (a grid's ``nrow``, a sample's
                   ``index``, a file of a folder), when the call made more than one thing
=================  ==========================================================================

It lives in a PNG ``atelier`` text chunk (JPEG, WebP: EXIF ImageDescription), a GIF comment, a MIDI
text meta event, a WAV ``LIST``/``INFO`` chunk (``ICMT``), a MusicXML ``<miscellaneous-field
name="atelier">`` or an ``.npz`` string array ``atelier``. :func:`read_recipe` reads any of them,
telling the format by the file's content, not its name; ``atelier reproduce`` re-runs the recipe.

A file that no single call made (the studio's grid of pictures each sampled from its own seed, the
answer cut from a call-and-response melody) has a recipe of command ``"sequence"``
(:func:`make_sequence`): the recipes of its ``parts`` and how the file is made from them (``assemble``).

    >>> import os, tempfile
    >>> from PIL import Image
    >>> from atelier.imageio import write_image
    >>> recipe = make_recipe("sample", {"n": 4, "seed": 0})
    >>> path = write_image(Image.new("L", (4, 4)), os.path.join(tempfile.mkdtemp(), "a.png"), metadata=recipe)
    >>> read_recipe(path)["params"]
    {'n': 4, 'seed': 0}
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from atelier import zoo
from atelier.errors import AtelierError
from atelier.imageio import read_metadata
from atelier.images.grid import read_gif_metadata
from atelier.io import read_npz_metadata
from atelier.music.midi import read_midi_metadata, read_musicxml_metadata
from atelier.version import __version__

FORMAT = 1  # raise when a recipe's meaning changes; readers refuse recipes newer than they know
WAV_RECIPE_TAG = b"ICMT"  # the INFO comment field holds the recipe's JSON
WAV_SOFTWARE_TAG = b"ISFT"
KINDS = ("PNG", "JPEG", "WebP", "GIF", "MIDI", "WAV", "MusicXML", "NPZ")
ASSEMBLIES = ("grid", "crop")  # how a "sequence" recipe's file is made from its parts' results


def make_recipe(command: str, params: Mapping[str, Any], *, model: str | os.PathLike | None = None,
                input_params: Iterable[str] = (), output: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A recipe for ``command`` called with ``params``.

    ``model``: a shipped model's name or a checkpoint's path (recorded as an absolute path, with its
    SHA-256). ``input_params``: the names of params whose values are files (a path or a list of
    them); each existing file is recorded by absolute path in ``params`` and with its SHA-256 in
    ``inputs``. A value that is not a file (a bundled picture's name) stays as it is.

    >>> r = make_recipe("compose", {"seed": 1, "primer": None}, input_params=["primer"])
    >>> r["format"], r["command"], r["inputs"]
    (1, 'compose', {})
    """
    params = dict(params)
    inputs: dict[str, str] = {}
    for name in input_params:
        value = params.get(name)
        if isinstance(value, (list, tuple)):
            params[name] = [_pin(v, inputs) for v in value]
        elif value is not None:
            params[name] = _pin(value, inputs)
    recipe: dict[str, Any] = {"format": FORMAT, "atelier": __version__, "command": command, "params": params}
    if model is not None:
        path = Path(model).expanduser()
        recipe["model"] = str(path.resolve()) if path.is_file() else str(model)
        recipe["model_sha256"] = zoo.model_sha256(model)
    recipe["inputs"] = inputs
    if output:
        recipe["output"] = dict(output)
    return recipe


def _pin(value: Any, inputs: dict[str, str]) -> Any:
    """A file's absolute path (its SHA-256 noted in ``inputs``), or ``value`` itself if no file."""
    if not isinstance(value, (str, os.PathLike)) or not Path(value).is_file():
        return value if isinstance(value, (str, int, float, bool)) else str(value)
    path = str(Path(value).resolve())
    inputs[path] = zoo.sha256_file(Path(path))
    return path


def make_sequence(parts: Iterable[Mapping[str, Any]], *, assemble: str, **options: Any) -> dict[str, Any]:
    """The recipe of a file assembled from the results of several calls (``parts``, each a recipe).

    ``assemble``: ``"grid"``: each part makes one picture; they are tiled ``nrow`` a row (as
    :func:`atelier.images.grid.write_grid` does). ``"crop"``: one ``compose`` part; the file is the
    melody ``output.index`` of its result from ``start_step`` on (:func:`atelier.music.compose.continuation`).
    ``inputs`` gathers the parts' inputs; each part keeps its own model.

    >>> part = make_recipe("sample", {"n": 1, "seed": 5}, model="mnist-dcgan", output={"index": 0})
    >>> r = make_sequence([part, part], assemble="grid", nrow=2)
    >>> r["command"], r["params"]["assemble"], r["params"]["nrow"], len(r["params"]["parts"])
    ('sequence', 'grid', 2, 2)
    """
    if assemble not in ASSEMBLIES:
        raise AtelierError(f"unknown assembly {assemble!r}; choose one of: {', '.join(ASSEMBLIES)}")
    parts = [{k: v for k, v in part.items() if k not in ("format", "atelier", "studio")} for part in parts]
    inputs = {path: sha for part in parts for path, sha in part.get("inputs", {}).items()}
    return {"format": FORMAT, "atelier": __version__, "command": "sequence",
            "params": {"parts": parts, "assemble": assemble, **options}, "inputs": inputs}


def with_output(recipe: Mapping[str, Any] | None, **output: Any) -> dict[str, Any] | None:
    """``recipe`` with ``output`` naming which part of the call's result one file holds."""
    if recipe is None:
        return None
    return {**recipe, "output": {**recipe.get("output", {}), **output}}


def file_kind(path: str | os.PathLike) -> str | None:
    """One of :data:`KINDS`, told by the content (first bytes; a zip's member names); None for anything else."""
    with open(path, "rb") as f:
        head = f.read(1024)
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if head.startswith(b"MThd"):
        return "MIDI"
    if head[:4] == b"RIFF" and head[8:12] in (b"WEBP", b"WAVE"):
        return "WebP" if head[8:12] == b"WEBP" else "WAV"
    if b"<score-partwise" in head or b"<score-timewise" in head:
        return "MusicXML"
    if head.startswith(b"PK\x03\x04"):  # a zip: a compressed MusicXML score (.mxl) or NumPy arrays (.npz)
        import zipfile

        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except zipfile.BadZipFile:
            return None
        if "META-INF/container.xml" in names:
            return "MusicXML"
        if names and all(n.endswith(".npy") for n in names):
            return "NPZ"
    return None


def read_recipe(path: str | os.PathLike) -> dict[str, Any]:
    """The recipe inside an artefact Atelier wrote (one of :data:`KINDS`).

    A missing file, another kind of file, a file without a recipe, or a recipe of a newer format
    is a one-line :class:`~atelier.errors.AtelierError`.
    """
    path = Path(path)
    if not path.is_file():
        raise AtelierError(f"{path}: no such file")
    kind = file_kind(path)
    try:
        if kind in ("PNG", "JPEG", "WebP"):
            recipe = read_metadata(path)
        elif kind == "GIF":
            recipe = read_gif_metadata(path)
        elif kind == "MIDI":
            recipe = read_midi_metadata(path)
        elif kind == "MusicXML":
            recipe = read_musicxml_metadata(path)
        elif kind == "NPZ":
            recipe = read_npz_metadata(path)
        elif kind == "WAV":
            text = read_wav_info(path).get(WAV_RECIPE_TAG.decode(), "")
            recipe = json.loads(text) if text else {}
        else:
            raise AtelierError(f"{path}: not a file Atelier writes recipes into ({', '.join(KINDS)})")
    except (ValueError, OSError) as exc:  # json's errors are ValueErrors
        raise AtelierError(f"{path}: its recipe cannot be read ({exc})") from None
    if not isinstance(recipe, dict) or "command" not in recipe:
        raise AtelierError(f"{path}: no Atelier recipe inside; only files Atelier wrote carry one")
    version = recipe.get("format")
    if not isinstance(version, int):
        raise AtelierError(f"{path}: written by Atelier {recipe.get('atelier', '?')} before recipes could be "
                           "reproduced; it has no recipe format")
    if version > FORMAT:
        raise AtelierError(f"{path}: recipe format {version} is newer than this Atelier ({__version__}) reads "
                           f"(up to {FORMAT}); upgrade Atelier")
    return recipe


# ---- WAV: a RIFF LIST/INFO chunk after the audio -------------------------------------------------

def add_wav_info(path: str | os.PathLike, fields: Mapping[str, str]) -> None:
    """Append a ``LIST``/``INFO`` chunk of ``fields`` (four-letter tags → text) to the WAV file at
    ``path`` and update the RIFF size. Players skip chunks they do not know; Python's ``wave`` stops
    reading at the ``data`` chunk, before this one."""
    body = b"INFO"
    for tag, text in fields.items():
        data = text.encode("utf-8") + b"\0"
        body += tag.encode("ascii") + struct.pack("<I", len(data)) + data + b"\0" * (len(data) % 2)
    with open(path, "r+b") as f:
        f.seek(0, os.SEEK_END)
        if f.tell() % 2:  # RIFF chunks start at even offsets
            f.write(b"\0")
        f.write(b"LIST" + struct.pack("<I", len(body)) + body)
        size = f.tell() - 8
        f.seek(4)
        f.write(struct.pack("<I", size))


def wav_recipe_fields(recipe: Mapping[str, Any]) -> dict[str, str]:
    """The INFO fields that carry ``recipe``: its JSON (``ICMT``) and the writing software (``ISFT``)."""
    return {WAV_RECIPE_TAG.decode(): json.dumps(recipe, sort_keys=True, default=str),
            WAV_SOFTWARE_TAG.decode(): f"atelier {__version__}"}


def read_wav_info(path: str | os.PathLike) -> dict[str, str]:
    """The text fields of a WAV file's ``LIST``/``INFO`` chunks (tag → text), or ``{}``."""
    data = Path(path).read_bytes()
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AtelierError(f"{path}: not a WAV file")
    fields: dict[str, str] = {}
    at = 12
    while at + 8 <= len(data):
        tag, size = data[at:at + 4], struct.unpack("<I", data[at + 4:at + 8])[0]
        body = data[at + 8:at + 8 + size]
        if tag == b"LIST" and body[:4] == b"INFO":
            sub = 4
            while sub + 8 <= len(body):
                name, length = body[sub:sub + 4], struct.unpack("<I", body[sub + 4:sub + 8])[0]
                fields[name.decode("ascii", "replace")] = body[sub + 8:sub + 8 + length].rstrip(b"\0").decode(
                    "utf-8", "replace")
                sub += 8 + length + length % 2
        at += 8 + size + size % 2
    return fields
