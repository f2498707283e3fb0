"""``reproduce``: regenerate an artefact from the recipe inside it, and say whether it came out the same.

The recipe (:mod:`atelier.provenance`) names the public API call that made the file, every
parameter, the model and the input files with their SHA-256. ``reproduce`` checks that the model and
the inputs are still the ones recorded, makes the same call, writes the result beside the original
(``NAME.reproduced.EXT``) and compares the content, not the bytes: decoded pixels for pictures
(every frame of a GIF), events for MIDI, notes for MusicXML, samples for WAV, arrays for ``.npz``;
the embedded recipe itself is left out of the comparison. A ``"sequence"`` recipe
(:func:`~atelier.provenance.make_sequence`), for a file no single call made, re-runs each of its parts
and assembles the file from their results as the recipe says.
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
from PIL import Image, ImageSequence

from atelier import zoo
from atelier.api.models import interpolate, load, sample
from atelier.api.music import compose
from atelier.api.style import stylize
from atelier.api.translate import translate
from atelier.errors import AtelierError
from atelier.imageio import read_image_batch, write_image
from atelier.images.grid import to_pil, write_gif, write_grid
from atelier.io import NPZ_METADATA_KEY, write_npz
from atelier.music.midi import METADATA_PREFIX, read_score, write_midi
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
    """Re-run the recipe inside ``path`` (a PNG, JPEG, WebP, GIF, MIDI, WAV, MusicXML or ``.npz`` file
    Atelier wrote), write the result to ``out`` (default: ``NAME.reproduced.EXT`` beside it) and compare the two.

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
    for call in [recipe, *recipe["params"].get("parts", [])] if command == "sequence" else [recipe]:
        _check_model(path, call)
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
    a, b = _read_images(p["images"], model) if "images" in p else p["seeds"]
    frames = interpolate(model, a, b, steps=p["steps"], label=p.get("label"))
    output = recipe.get("output", {})
    if out.suffix.lower() == ".gif":  # the GIF beside a strip
        write_gif(frames, out, scale=output.get("scale", 4), duration_ms=output.get("duration_ms", 120),
                  metadata=recipe)
    elif "index" in output:  # one frame (the studio's variations)
        write_image(to_pil(frames[output["index"]]), out, metadata=recipe)
    else:
        write_grid(frames, out, nrow=p["steps"], metadata=recipe)


def _reconstruct(recipe: dict[str, Any], out: Path) -> None:
    p = recipe["params"]
    model = load(recipe["model"])
    cfg = model.config
    if p.get("images"):
        x, y = _read_images(p["images"], model), None
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


def _encode(recipe: dict[str, Any], out: Path) -> None:
    p = recipe["params"]
    model = load(recipe["model"])
    x = _read_images(p["images"], model)
    labels = None if p.get("label") is None else [p["label"]] * len(x)
    with torch.no_grad():
        mu, logvar = model.encode(x, labels)
    write_npz(out, mu=mu.numpy(), logvar=logvar.numpy(), files=np.array(p["images"]), metadata=recipe)


def _read_images(paths: list[str], model: Any) -> torch.Tensor:
    """Image files as the model's batch (N, C, H, W) in [-1, 1], as the CLI reads them."""
    batch = read_image_batch(paths, channels=model.config.channels, size=model.config.image_size)
    return torch.from_numpy(batch).float().div(127.5).sub(1.0)


def _photo(recipe: dict[str, Any], out: Path) -> None:
    """An input photo as the studio shows it beside its stylised version: read and resized."""
    from atelier.data.photos import load_image, to_image

    p = recipe["params"]
    picture = to_image(load_image(p["image"], what="photo")).convert("RGB").resize(tuple(p["size"]))
    write_image(picture, out, metadata=recipe)


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
        melodies, folder, wav=output["file"].endswith(".wav"), musicxml=output["file"].endswith(".musicxml"),
        piano_roll=output["file"].endswith(".png"), renderer=output.get("renderer", "auto"), recipe=base))


def _respond(recipe: dict[str, Any], out: Path) -> None:
    from atelier.api.music import respond
    from atelier.music.compose import write_outputs

    answer = respond(recipe["model"], **recipe["params"])
    _one_file_of_folder(recipe, out, lambda folder, base, output: write_outputs(
        [answer], folder, wav=output["file"].endswith(".wav"), musicxml=output["file"].endswith(".musicxml"),
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


def _sequence(recipe: dict[str, Any], out: Path) -> None:
    """Re-run each part, then assemble the file from their results as the recipe says."""
    p = recipe["params"]
    parts, assemble = p["parts"], p["assemble"]
    if assemble == "grid":  # each part makes one picture; read them back and tile them
        tiles = []
        with tempfile.TemporaryDirectory() as scratch:
            for i, part in enumerate(parts):
                REGENERATORS[part["command"]](part, Path(scratch) / f"part_{i}.png")
                with Image.open(Path(scratch) / f"part_{i}.png") as tile:
                    pixels = np.asarray(tile)  # (H, W) or (H, W, 3) uint8
                tiles.append(torch.from_numpy(pixels.reshape(*pixels.shape[:2], -1).transpose(2, 0, 1).copy()))
        images = torch.stack(tiles).float().div(127.5).sub(1.0)  # (N, C, H, W); to_pil rounds back exactly
        write_grid(images, out, nrow=p["nrow"], metadata=recipe)
    elif assemble == "crop" and len(parts) == 1 and parts[0]["command"] == "compose":
        from atelier.music.compose import continuation

        part = parts[0]
        melodies = compose(part["model"], **part["params"])
        melody = melodies[part.get("output", {}).get("index", 0)]
        write_midi(continuation(melody, p["start_step"]), out, metadata=recipe)
    else:
        raise AtelierError(f"sequence recipe: cannot assemble {assemble!r} from {len(parts)} parts "
                           f"({', '.join(part['command'] for part in parts)})")


REGENERATORS: dict[str, Callable[[dict[str, Any], Path], None]] = {
    "sample": _sample, "interpolate": _interpolate, "reconstruct": _reconstruct, "decode": _decode,
    "stylize": _stylize, "translate": _translate, "compose": _compose, "respond": _respond, "encode": _encode, "photo": _photo,
    "sequence": _sequence,
}


# ---- comparing content, not metadata ----------------------------------------------------------------

def compare_files(a: str | os.PathLike, b: str | os.PathLike) -> list[str]:
    """How the content of two artefacts differs (empty when identical): pixels of pictures (every frame
    of a GIF), events of MIDI files, notes of MusicXML scores, samples of WAV files, arrays of ``.npz``
    files. Embedded recipes are ignored."""
    kind_a, kind_b = file_kind(a), file_kind(b)
    if kind_a != kind_b:
        return [f"a {kind_a} file vs a {kind_b} file"]
    if kind_a == "MIDI":
        return _compare_midi(Path(a), Path(b))
    if kind_a == "WAV":
        return _compare_wav(Path(a), Path(b))
    if kind_a == "GIF":
        return _compare_gif(Path(a), Path(b))
    if kind_a == "MusicXML":
        return _compare_scores(Path(a), Path(b))
    if kind_a == "NPZ":
        return _compare_npz(Path(a), Path(b))
    return _compare_pixels(Path(a), Path(b))


def _compare_pixels(a: Path, b: Path) -> list[str]:
    with Image.open(a) as ia, Image.open(b) as ib:
        if ia.mode != ib.mode:
            return [f"mode {ia.mode} vs {ib.mode}"]
        return _compare_arrays(np.asarray(ia), np.asarray(ib))


def _compare_arrays(xa: np.ndarray, xb: np.ndarray) -> list[str]:
    """How two decoded pictures (H, W) or (H, W, C) of uint8 differ."""
    xa, xb = xa.astype(np.int16), xb.astype(np.int16)
    if xa.shape != xb.shape:
        return [f"shape {xa.shape} vs {xb.shape}"]
    diff = np.abs(xa - xb)
    differing = int((diff.reshape(diff.shape[0], diff.shape[1], -1).max(axis=-1) > 0).sum())
    if not differing:
        return []
    return [f"{differing} of {xa.shape[0] * xa.shape[1]} pixels differ, by at most {int(diff.max())} of 255"]


def _compare_gif(a: Path, b: Path) -> list[str]:
    def frames(path: Path) -> list[tuple[np.ndarray, Any]]:
        with Image.open(path) as img:
            return [(np.asarray(f.convert("RGB")), f.info.get("duration")) for f in ImageSequence.Iterator(img)]

    fa, fb = frames(a), frames(b)
    if len(fa) != len(fb):
        return [f"{len(fa)} vs {len(fb)} frames"]
    differences = []
    for i, ((xa, da), (xb, db)) in enumerate(zip(fa, fb)):
        differences += [f"frame {i + 1}: {d}" for d in _compare_arrays(xa, xb)]
        if da != db:
            differences.append(f"frame {i + 1}: shown {da} vs {db} ms")
    return differences


def _compare_scores(a: Path, b: Path) -> list[str]:
    ma, mb = read_score(a), read_score(b)
    if len(ma) != len(mb):
        return [f"{len(ma)} vs {len(mb)} parts"]
    differences = []
    for i, (x, y) in enumerate(zip(ma, mb)):
        differing = sum(n != m for n, m in zip(x.notes, y.notes)) + abs(len(x.notes) - len(y.notes))
        if differing:
            differences.append(f"part {i + 1}: {differing} of {max(len(x.notes), len(y.notes))} notes differ")
        for what in ("num_steps", "qpm", "time_signature"):
            if getattr(x, what) != getattr(y, what):
                differences.append(f"part {i + 1}: {what} {getattr(x, what)} vs {getattr(y, what)}")
    return differences


def _compare_npz(a: Path, b: Path) -> list[str]:
    with np.load(a, allow_pickle=False) as na, np.load(b, allow_pickle=False) as nb:
        xa = {k: na[k] for k in na.files if k != NPZ_METADATA_KEY}
        xb = {k: nb[k] for k in nb.files if k != NPZ_METADATA_KEY}
    if sorted(xa) != sorted(xb):
        return [f"arrays {', '.join(sorted(xa))} vs {', '.join(sorted(xb))}"]
    differences = []
    for name in sorted(xa):
        x, y = xa[name], xb[name]
        if x.dtype.kind in "US" or y.dtype.kind in "US":
            # `encode`'s file list holds the inputs as typed where it ran; the recipe re-reads them by
            # absolute path, so the names are what can be compared.
            if [Path(str(v)).name for v in x.ravel()] != [Path(str(v)).name for v in y.ravel()]:
                differences.append(f"array {name}: {x.tolist()} vs {y.tolist()}")
        elif x.shape != y.shape or x.dtype != y.dtype:
            differences.append(f"array {name}: {x.dtype}{list(x.shape)} vs {y.dtype}{list(y.shape)}")
        elif not np.array_equal(x, y, equal_nan=True):
            gap = np.abs(x.astype(np.float64) - y.astype(np.float64))
            differences.append(f"array {name}: {int((x != y).sum())} of {x.size} values differ, "
                               f"by at most {float(np.nanmax(gap)):.3g}")
    return differences


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
