"""``reproduce``: regenerate an artefact from the recipe inside it, and say whether it came out the same.

The recipe (:mod:`atelier.provenance`) names the public API call that made the file, every
parameter, the model and the input files with their SHA-256. ``reproduce`` checks that the model and
the inputs are still the ones recorded, makes the same call, writes the result beside the original
(``NAME.reproduced.EXT``) and compares the content, not the bytes: decoded pixels for pictures,
events for MIDI, samples for WAV; the embedded recipe itself is left out of the comparison.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from atelier import zoo
from atelier.api.models import interpolate, load, sample
from atelier.api.music import compose
from atelier.api.style import stylize
from atelier.api.translate import translate
from atelier.errors import AtelierError
from atelier.images.grid import to_pil, write_grid
from atelier.imageio import read_image_batch, write_image
from atelier.music.midi import METADATA_PREFIX
from atelier.provenance import file_kind, read_recipe


@dataclass(frozen=True)
class ReproduceReport:
    """What :func:`reproduce` did: the original, the regenerated file, and how they differ (nothing
    when ``identical``)."""

    source: Path
    reproduced: Path
    command: str
    differences: tuple[str, ...]

    @property
    def identical(self) -> bool:
        return not self.differences

    def __str__(self) -> str:
        return "identical" if self.identical else "differs: " + "; ".join(self.differences)


def reproduce(path: str | os.PathLike, *, out: str | os.PathLike | None = None) -> ReproduceReport:
    """Re-run the recipe inside ``path`` (a PNG, JPEG, WebP, MIDI or WAV file Atelier wrote), write the
    result to ``out`` (default: ``NAME.reproduced.EXT`` beside it) and compare the two.

    A file without a recipe, a recipe of a newer format, a model or input file that is missing or
    whose SHA-256 changed: one-line :class:`~atelier.errors.AtelierError`\\ s, before anything runs.

    >>> import os, tempfile, atelier
    >>> from atelier.images.grid import write_grid
    >>> from atelier.provenance import make_recipe
    >>> recipe = make_recipe("sample", {"n": 4, "seed": 3}, model="mnist-dcgan")
    >>> path = write_grid(atelier.sample("mnist-dcgan", 4, seed=3), os.path.join(tempfile.mkdtemp(), "g.png"),
    ...                   metadata=recipe)
    >>> report = reproduce(path)
    >>> str(report), report.reproduced.name
    ('identical', 'g.reproduced.png')
    """
    # 1. The recipe, and the model and inputs it names, unchanged.
    path = Path(path)
    recipe = read_recipe(path)
    command = recipe["command"]
    if command not in REGENERATORS:
        raise AtelierError(f"{path}: reproduce cannot re-run {command!r}; it covers: {', '.join(REGENERATORS)}")
    _check_model(path, recipe)
    _check_inputs(path, recipe)
    # 2. Where the new file goes: the same kind of file as the original.
    out = path.with_name(f"{path.stem}.reproduced{path.suffix}") if out is None else Path(out)
    if out.suffix.lower() != path.suffix.lower():
        raise AtelierError(f"--out {out}: must be a {path.suffix} file like the original, to be compared")
    if out.resolve() == path.resolve():
        raise AtelierError(f"--out {out}: is the original; write the reproduction elsewhere")
    # 3. The same call, then the comparison.
    REGENERATORS[command](recipe, out)
    return ReproduceReport(path, out, command, tuple(compare_files(path, out)))


def _check_model(path: Path, recipe: dict[str, Any]) -> None:
    model, recorded = recipe.get("model"), recipe.get("model_sha256")
    if model is None:
        return
    try:
        found = zoo.model_sha256(model)
    except AtelierError:
        raise AtelierError(f"{path}: its model {model} is missing (no such checkpoint file, nor a shipped model); "
                           f"the recipe needs the one with SHA-256 {str(recorded)[:12]}…") from None
    if recorded and found != recorded:
        raise AtelierError(f"{path}: its model {model} has changed (SHA-256 {found[:12]}…, the recipe says "
                           f"{recorded[:12]}…)")


def _check_inputs(path: Path, recipe: dict[str, Any]) -> None:
    for name, recorded in recipe.get("inputs", {}).items():
        file = Path(name)
        if not file.is_file():
            raise AtelierError(f"{path}: its input {name} is missing; the recipe needs the file with SHA-256 "
                               f"{recorded[:12]}…")
        found = zoo.sha256_file(file)
        if found != recorded:
            raise AtelierError(f"{path}: its input {name} has changed (SHA-256 {found[:12]}…, the recipe says "
                               f"{recorded[:12]}…)")


# ---- one regenerator per public API verb ------------------------------------------------------------

def _sample(recipe: dict[str, Any], out: Path) -> None:
    p, output = recipe["params"], recipe.get("output", {})
    options = {k: p[k] for k in ("labels", "truncation", "temperature") if p.get(k) is not None}
    images = sample(recipe["model"], p["n"], seed=p["seed"], **options)
    if "index" in output:  # one picture of a folder
        write_image(to_pil(images[output["index"]]), out, metadata=recipe)
    else:
        write_grid(images, out, nrow=output.get("nrow"), metadata=recipe)


def _interpolate(recipe: dict[str, Any], out: Path) -> None:
    p = recipe["params"]
    model = load(recipe["model"])
    if "melodies" in p:  # a MusicVAE between two MIDI files: one file of the folder it wrote
        from atelier.music.compose import read_primer, write_interpolation

        a, b = (read_primer(f) for f in p["melodies"])
        melodies = interpolate(model, a, b, steps=p["steps"], seed=p["seed"])
        _one_file_of_folder(recipe, out, lambda folder, base, output: write_interpolation(
            melodies, folder, wav=output["file"].endswith(".wav"), renderer=output.get("renderer", "auto"),
            recipe=base))
        return
    if "images" in p:
        batch = read_image_batch(p["images"], channels=model.config.channels, size=model.config.image_size)
        a, b = torch.from_numpy(batch).float().div(127.5).sub(1.0)
    else:
        a, b = p["seeds"]
    frames = interpolate(model, a, b, steps=p["steps"], label=p.get("label"))
    write_grid(frames, out, nrow=p["steps"], metadata=recipe)


def _reconstruct(recipe: dict[str, Any], out: Path) -> None:
    p = recipe["params"]
    model = load(recipe["model"])
    cfg = model.config
    if p.get("images"):
        batch = read_image_batch(p["images"], channels=cfg.channels, size=cfg.image_size)
        x, y = torch.from_numpy(batch).float().div(127.5).sub(1.0), None
    else:
        from atelier.data.images import load_images

        _, held_out = load_images(p["data"], size=cfg.image_size, channels=cfg.channels).split(seed=0)
        x, y = held_out.get_batch(torch.arange(min(p["n"], len(held_out))))
    with torch.no_grad():
        recon = model.reconstruct(x, y if cfg.num_classes else None)
    pairs = torch.stack([x, recon], dim=1).flatten(0, 1)  # original, reconstruction, … as the CLI draws them
    write_grid(pairs, out, nrow=min(16, pairs.shape[0]), metadata=recipe)


def _decode(recipe: dict[str, Any], out: Path) -> None:
    p = recipe["params"]
    model = load(recipe["model"])
    with np.load(p["latents"], allow_pickle=False) as npz:
        z = torch.from_numpy(npz["z" if "z" in npz.files else "mu"]).float()
    labels = None if p.get("label") is None else [p["label"]] * len(z)
    with torch.no_grad():
        images = model.decode(z, labels)
    write_grid(images, out, metadata=recipe)


def _stylize(recipe: dict[str, Any], out: Path) -> None:
    options = dict(recipe["params"])
    content, styles, method = options.pop("content"), options.pop("styles"), options.pop("method")
    result = stylize(content, styles, method=method, model=recipe.get("model"), **options)
    write_image(result.image, out, metadata={**result.metadata, **recipe})


def _translate(recipe: dict[str, Any], out: Path) -> None:
    p = recipe["params"]
    inputs = p["inputs"]
    # A folder of results records all inputs; this file's own is the one named like it (names are unique).
    source = inputs[0] if len(inputs) == 1 else next(
        (f for f in inputs if Path(f).name == Path(recipe.get("input", "")).name), None)
    if source is None:
        raise AtelierError(f"translate recipe: its input {recipe.get('input')} is not among the recorded inputs")
    meta = {k: v for k, v in recipe.items() if k not in ("input", "direction", "size", "compare")}
    translate(recipe["model"], [source], out=out, direction=p["direction"], size=p["size"], compare=p["compare"],
              metadata=meta, progress=False)


def _compose(recipe: dict[str, Any], out: Path) -> None:
    from atelier.music.compose import write_outputs

    melodies = compose(recipe["model"], **recipe["params"])
    _one_file_of_folder(recipe, out, lambda folder, base, output: write_outputs(
        melodies, folder, wav=output["file"].endswith(".wav"), musicxml=False,
        piano_roll=output["file"].endswith(".png"), renderer=output.get("renderer", "auto"), recipe=base))


def _one_file_of_folder(recipe: dict[str, Any], out: Path, write: Callable[[Path, dict, dict], Any]) -> None:
    """Run a writer of a whole output folder into a scratch folder and keep the file the recipe names."""
    output = recipe.get("output", {})
    if "file" not in output:
        raise AtelierError(f"{recipe['command']} recipe: it does not say which file of its folder this is")
    base = {k: v for k, v in recipe.items() if k != "output"}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "out"
        write(folder, base, output)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(folder / output["file"]), out)


REGENERATORS: dict[str, Callable[[dict[str, Any], Path], None]] = {
    "sample": _sample, "interpolate": _interpolate, "reconstruct": _reconstruct, "decode": _decode,
    "stylize": _stylize, "translate": _translate, "compose": _compose,
}


# ---- comparing content, not metadata ----------------------------------------------------------------

def compare_files(a: str | os.PathLike, b: str | os.PathLike) -> list[str]:
    """How the content of two artefacts differs (empty when identical): pixels of pictures, events of
    MIDI files, samples of WAV files. Embedded recipes are ignored."""
    kind_a, kind_b = file_kind(a), file_kind(b)
    if kind_a != kind_b:
        return [f"a {kind_a} file vs a {kind_b} file"]
    if kind_a == "MIDI":
        return _compare_midi(Path(a), Path(b))
    if kind_a == "WAV":
        return _compare_wav(Path(a), Path(b))
    return _compare_pixels(Path(a), Path(b))


def _compare_pixels(a: Path, b: Path) -> list[str]:
    with Image.open(a) as ia, Image.open(b) as ib:
        if ia.mode != ib.mode:
            return [f"mode {ia.mode} vs {ib.mode}"]
        xa, xb = np.asarray(ia).astype(np.int16), np.asarray(ib).astype(np.int16)
    if xa.shape != xb.shape:
        return [f"shape {xa.shape} vs {xb.shape}"]
    diff = np.abs(xa - xb)
    differing = int((diff.reshape(diff.shape[0], diff.shape[1], -1).max(axis=-1) > 0).sum())
    if not differing:
        return []
    return [f"{differing} of {xa.shape[0] * xa.shape[1]} pixels differ, by at most {int(diff.max())} of 255"]


def _midi_events(path: Path) -> tuple[int, list[str]]:
    import mido

    mid = mido.MidiFile(path)
    events = []
    for index, track in enumerate(mid.tracks):
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "text" and msg.text.startswith(METADATA_PREFIX):
                continue  # the recipe
            events.append(f"track {index} tick {tick}: {msg.copy(time=0)}")
    return mid.ticks_per_beat, events


def _compare_midi(a: Path, b: Path) -> list[str]:
    (tpb_a, ea), (tpb_b, eb) = _midi_events(a), _midi_events(b)
    if tpb_a != tpb_b:
        return [f"{tpb_a} vs {tpb_b} ticks per quarter note"]
    differing = sum(x != y for x, y in zip(ea, eb)) + abs(len(ea) - len(eb))
    notes_a, notes_b = (sum("note_on" in e for e in events) for events in (ea, eb))
    if not differing:
        return []
    return [f"{differing} of {max(len(ea), len(eb))} MIDI events differ ({notes_a} vs {notes_b} note-ons)"]


def _compare_wav(a: Path, b: Path) -> list[str]:
    from atelier.music.audio import read_wav

    wa, wb = read_wav(a), read_wav(b)
    if wa.sample_rate != wb.sample_rate:
        return [f"{wa.sample_rate} vs {wb.sample_rate} Hz"]
    if len(wa.samples) != len(wb.samples):
        return [f"{len(wa.samples)} vs {len(wb.samples)} samples"]
    diff = np.abs(np.round(wa.samples * 32767) - np.round(wb.samples * 32767))
    differing = int((diff > 0).sum())
    if not differing:
        return []
    return [f"{differing} of {len(diff)} samples differ, by at most {int(diff.max())} of 32767"]
