"""Melody corpora, parsed once and cached, cut into fixed-length event windows for training.

``load_melodies(source)`` takes a built-in corpus name or a path and returns a
:class:`MelodyCorpus` of monophonic :class:`~atelier.music.events.Melody` objects;
``MelodyCorpus.split`` (or ``split_melodies``) makes a seeded train/validation split by piece;
:class:`MelodyWindows` turns melodies into a dataset of event windows, ``LongTensor (window_steps,)``::

    corpus = load_melodies("bach-soprano")
    train, val = corpus.split(val_fraction=0.1, seed=0)
    dataset = MelodyWindows(train, window_steps=32, hop_steps=16, transpose=range(-5, 6))

Built-in corpora (music21's bundled corpus, offline):

* ``bach-soprano`` — the soprano line of each Bach chorale (Riemenschneider numbering; 350 files)
* ``bach-all``     — the four voices (S, A, T, B) of the same chorales, each a melody (grouped by
  chorale for splits); instrumental parts some chorales carry (horns, timpani, ...) are left out
* ``essen``        — Essen folk songs, 8,512 tunes in ABC
* ``oneill``       — O'Neill's *Music of Ireland* (1850), 2,003 tunes in ABC

Paths: a MIDI, MusicXML (``.xml .musicxml .mxl``), ABC or Humdrum (``.krn``) file, or a folder
searched recursively for them. MIDI files give one melody each (skyline over pitched instruments, or
the ``instrument`` you name); scores give one per part (or only the part ``instrument`` names).
Unreadable files are skipped and listed in ``MelodyCorpus.skipped``.

Parsing is slow, so the parsed notes are cached as a compressed ``.npz`` (never a pickle) under
``$ATELIER_CACHE/music`` (default ``~/.cache/atelier``), keyed by the parse options and the source:
the music21 version for a built-in corpus, each file's path, size and modification time for a path.
Filters, key normalisation and range fitting run after the cache, so changing them re-parses
nothing. Measured on a shared 2-core machine: the 350 chorales take 35 s of CPU cold and 0.2 s
cached; the 8,512 Essen tunes 274 s cold and 1.5 s cached.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from atelier import cache
from atelier.data import check_val_fraction, fingerprint
from atelier.errors import AtelierError, choose_one
from atelier.io import atomic_write
from atelier.music.events import Melody, MelodyEncoding, Note, steps_per_bar
from atelier.music.midi import (
    MIDI_EXTENSIONS, SCORE_EXTENSIONS, ParsedPart, _parse_midi, _parse_music21, count_tunes,
)
from atelier.music.theory import key_shift

CORPORA = {
    "bach-soprano": "soprano lines of the Bach chorales in music21's corpus (350 files)",
    "bach-all": "the four voices (S, A, T, B) of the Bach chorales, each voice a melody",
    "essen": "Essen folk songs, 8,512 tunes (ABC)",
    "oneill": "O'Neill's Music of Ireland (1850), 2,003 tunes (ABC)",
    "ryan": "Ryan's Mammoth Collection (1883): 1,059 reels, hornpipes, jigs and airs (ABC)",
}
_CORPUS_FILES = {"bach-soprano": "bach", "bach-all": "bach", "essen": "essen", "oneill": "oneill", "ryan": "ryan"}
# Voices to keep, matched on the first word of a part's name ("Soprano Oboe 1 Violin1" is the
# soprano; doubling instruments, horns, trumpets and timpani are left out; of "Soprano 1" and
# "Soprano 2" the first is kept).
_CORPUS_VOICES = {"bach-soprano": ("soprano",), "bach-all": ("soprano", "alto", "tenor", "bass")}

# The meters the models are built for; steps per bar follow from each (16, 12, 12, 8 sixteenths).
DEFAULT_TIME_SIGNATURES: tuple[tuple[int, int], ...] = ((4, 4), (3, 4), (6, 8), (2, 4))
CACHE_VERSION = 1


@dataclass(frozen=True)
class MelodyCorpus(Sequence[Melody]):
    """The melodies of one source, ready for :meth:`split` and :class:`MelodyWindows`.

    ``skipped`` lists the files (or tunes) that could not be read, with the reason; ``dropped`` counts
    melodies removed by each filter.
    """

    melodies: tuple[Melody, ...]
    name: str
    skipped: tuple[str, ...] = field(default=(), compare=False)
    dropped: dict[str, int] = field(default_factory=dict, compare=False)

    def fingerprint(self) -> str:
        """SHA-256 of every melody's notes and timing: the identity of the training data in checkpoints."""
        arrays = []
        for m in self.melodies:
            header = f"{m.name}|{m.num_steps}|{m.steps_per_quarter}|{m.time_signature}|".encode()
            arrays.append(np.frombuffer(header, dtype=np.uint8))
            arrays.append(np.array([(n.pitch, n.start_step, n.end_step) for n in m.notes], dtype=np.int32))
        return fingerprint(*arrays)

    def split(self, *, val_fraction: float = 0.1, seed: int = 0) -> tuple[MelodyCorpus, MelodyCorpus]:
        """A deterministic (seeded) split into train and validation corpora by piece; see
        :func:`split_melodies`."""
        train, val = split_melodies(self.melodies, val_fraction=val_fraction, seed=seed)
        return replace(self, melodies=tuple(train), name=f"{self.name}[train]"), replace(
            self, melodies=tuple(val), name=f"{self.name}[val]"
        )

    def __len__(self) -> int:
        return len(self.melodies)

    def __getitem__(self, index):  # type: ignore[override]
        return self.melodies[index]

    def __iter__(self) -> Iterator[Melody]:
        return iter(self.melodies)


# ---------------------------------------------------------------------------------------------
# 1. Which files a source means.


def _music21_corpus_dir() -> Path:
    from music21 import corpus

    return Path(corpus.__file__).parent


def _bach_chorale_files() -> list[Path]:
    """The chorale files of music21's Riemenschneider list, each once (some numbers share a file)."""
    from music21 import corpus

    base = _music21_corpus_dir()
    found: dict[Path, None] = {}
    for name in corpus.chorales.Iterator(returnType="filename"):
        for ext in (".mxl", ".xml", ".krn"):
            if (base / (name + ext)).is_file():
                found[base / (name + ext)] = None
                break
        else:  # e.g. 'bach/bwv18.5-l' is stored as 'bach/bwv18.5-lz.mxl'
            matches = sorted((base / Path(name).parent).glob(Path(name).name + "*.mxl"))
            if matches:
                found[matches[0]] = None
    return list(found)


def _corpus_files(kind: str) -> tuple[list[Path], Path]:
    base = _music21_corpus_dir()
    if kind == "bach":
        return _bach_chorale_files(), base
    folder = {"essen": "essenFolksong", "oneill": "oneills1850", "ryan": "ryansMammoth"}[kind]
    return sorted((base / folder).glob("*.abc")), base


def _path_files(path: Path) -> tuple[list[Path], Path]:
    extensions = MIDI_EXTENSIONS + SCORE_EXTENSIONS
    if path.is_file():
        if path.suffix.lower() not in extensions:
            raise AtelierError(
                f"music source {path}: unsupported extension {path.suffix!r}; choose one of: "
                f"{', '.join(extensions)}"
            )
        return [path], path.parent
    if path.is_dir():
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and p.suffix.lower() in extensions and not p.name.startswith(".")
        )
        if not files:
            raise AtelierError(f"music source {path}: no files ending in {', '.join(extensions)}")
        return files, path
    raise AtelierError(
        f"music source {str(path)!r}: not a file or folder, nor a corpus; choose one of: {', '.join(CORPORA)}"
    )


# ---------------------------------------------------------------------------------------------
# 2. Parse (slow) and cache.


def _cache_dir(cache_dir: str | os.PathLike | None) -> Path:
    """The parse cache: ``cache_dir/music`` when given, else Atelier's cache folder ``music``."""
    return cache.cache_dir("music", create=False) if cache_dir is None else Path(cache_dir) / "music"


def _parse_file(
    path: Path, *, name: str, steps_per_quarter: int, instrument: int | str | None, max_tunes: int | None,
    on_tune: Callable[[], object] | None = None,
) -> tuple[list[ParsedPart], list[tuple[str, str]]]:  # fmt: skip
    """Parse one file into monophonic parts; the slow step the cache saves."""
    if path.suffix.lower() in MIDI_EXTENSIONS:
        return [_parse_midi(path, steps_per_quarter=steps_per_quarter, instrument=instrument, name=name)], []
    parts = None if instrument is None else [instrument]  # in a score, a part's name or index
    return _parse_music21(path, steps_per_quarter=steps_per_quarter, parts=parts, name=name, max_tunes=max_tunes,
                          on_tune=on_tune)


def _parse_all(
    files: list[Path], base: Path, *, steps_per_quarter: int, instrument: int | str | None,
    limit: int | None, progress: bool | None, label: str,
) -> tuple[list[ParsedPart], list[tuple[str, str]]]:  # fmt: skip
    """Parse every file, counting pieces (an ABC file holds hundreds of tunes) on a progress bar:
    a first parse of a large corpus takes minutes (Essen: 274 s), and silence would look like a hang."""
    from tqdm import tqdm

    parts: list[ParsedPart] = []
    skipped: list[tuple[str, str]] = []
    pieces = 0
    total = sum(count_tunes(path) for path in files)
    with tqdm(total=total if limit is None else min(limit, total), desc=f"parsing {label} (once; cached after)",
              unit="piece", disable=None if progress is None else not progress) as bar:
        for path in files:
            if limit is not None and pieces >= limit:
                break
            name = path.relative_to(base).as_posix()
            tunes = bar.update if path.suffix.lower() == ".abc" else None  # the parser ticks each tune
            try:
                found, failed = _parse_file(
                    path, name=name, steps_per_quarter=steps_per_quarter, instrument=instrument,
                    max_tunes=None if limit is None else limit - pieces, on_tune=tunes,
                )  # fmt: skip
            except Exception as error:  # one bad file must not stop a folder of thousands
                skipped.append((name, " ".join(str(error).split()) or type(error).__name__))
                if tunes is None:
                    bar.update(1)
                continue
            parts += found
            skipped += failed
            done = len({p.melody.piece for p in found}) + len(failed)
            pieces += done
            if tunes is None:
                bar.update(done)
    return parts, skipped


def _save_cache(path: Path, parts: list[ParsedPart], skipped: list[tuple[str, str]]) -> None:
    notes = np.array(
        [(n.pitch, n.start_step, n.end_step, n.velocity) for p in parts for n in p.melody.notes], dtype=np.int32
    ).reshape(-1, 4)
    meta = {
        "melodies": [
            {
                "name": p.melody.name, "piece": p.melody.piece, "part": p.part, "num_steps": p.melody.num_steps,
                "steps_per_quarter": p.melody.steps_per_quarter, "meters": p.meters, "qpm": p.melody.qpm,
                "program": p.melody.program,
            }  # fmt: skip
            for p in parts
        ],
        "skipped": skipped,
    }
    counts = np.array([len(p.melody.notes) for p in parts], dtype=np.int64)
    blob = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, notes=notes, counts=counts, meta=blob)

    atomic_write(path, write)


def _load_cache(path: Path) -> tuple[list[ParsedPart], list[tuple[str, str]]] | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            notes, counts = data["notes"], data["counts"]
            meta = json.loads(data["meta"].tobytes().decode())
    except FileNotFoundError:
        return None
    except Exception:  # a damaged cache file is rebuilt, not trusted
        return None
    parts = []
    ends = np.cumsum(counts)
    for info, end, count in zip(meta["melodies"], ends.tolist(), counts.tolist(), strict=True):
        rows = notes[end - count : end].tolist()
        meters = tuple(tuple(m) for m in info["meters"])
        melody = Melody(
            tuple(Note(*row) for row in rows),
            num_steps=info["num_steps"],
            steps_per_quarter=info["steps_per_quarter"],
            time_signature=meters[0] if meters else (4, 4),
            qpm=info["qpm"],
            program=info["program"],
            name=info["name"],
            piece=info["piece"],
        )
        parts.append(ParsedPart(melody, meters, info["part"]))  # type: ignore[arg-type]
    return parts, [tuple(s) for s in meta["skipped"]]  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------
# 3. Range fitting after the cache (key normalisation is in atelier.music.theory).


def fit_to_range(melody: Melody, encoding: MelodyEncoding, *, shift: int = 0, octaves: bool = True) -> Melody | None:
    """``melody`` moved ``shift`` semitones (a key move) and by whole octaves into the encoding's
    range; ``None`` if it does not fit (it spans more than the range, or with ``octaves=False`` it
    lies outside it).

    The moves are added up before any note is moved, so a key move that would pass below pitch 0
    or above 127 on its way into the range does no harm.

    >>> fit_to_range(Melody((Note(40, 0, 4),), num_steps=4), MelodyEncoding(48, 83)).pitches
    [52]
    >>> fit_to_range(Melody((Note(2, 0, 4),), num_steps=4), MelodyEncoding(48, 83), shift=-4).pitches
    [58]
    """
    if not melody.notes:
        return None
    low, high = min(melody.pitches) + shift, max(melody.pitches) + shift
    if octaves and low < encoding.min_pitch:
        shift += 12 * -(-(encoding.min_pitch - low) // 12)
    elif octaves and high > encoding.max_pitch:
        shift -= 12 * -(-(high - encoding.max_pitch) // 12)
    low, high = min(melody.pitches) + shift, max(melody.pitches) + shift
    if not (encoding.contains(low) and encoding.contains(high)):
        return None
    return melody.transpose(shift)


def describe_range(melody: Melody, encoding: MelodyEncoding) -> str:
    """Why a melody does not fit a model: its pitch span against the model's.

    >>> describe_range(Melody((Note(0, 0, 4), Note(127, 4, 8)), num_steps=8), MelodyEncoding(48, 83))
    'spans pitches 0..127 (127 semitones); the model covers 48..83 (35 semitones)'
    """
    low, high = min(melody.pitches), max(melody.pitches)
    return (f"spans pitches {low}..{high} ({high - low} semitones); the model covers "
            f"{encoding.min_pitch}..{encoding.max_pitch} ({encoding.max_pitch - encoding.min_pitch} semitones)")


# ---------------------------------------------------------------------------------------------
# 4. The public loader.


def load_melodies(
    source: str | os.PathLike,
    *,
    encoding: MelodyEncoding = MelodyEncoding(),
    steps_per_quarter: int = 4,
    instrument: int | str | None = None,
    time_signatures: Iterable[tuple[int, int]] | None = DEFAULT_TIME_SIGNATURES,
    key: str | None = None,
    fit_octaves: bool = True,
    min_notes: int = 8,
    limit: int | None = None,
    cache_dir: str | os.PathLike | None = None,
    progress: bool | None = None,
) -> MelodyCorpus:
    """Load monophonic melodies from a built-in corpus or a path, through the parse cache.

    Steps: parse every file once (or read the cache), keep pieces in one of ``time_signatures``
    (``None``: any meter; a piece whose meter changes is dropped either way unless ``None``),
    optionally normalise the key (``key="C"``: C major / A minor), fit each melody into the
    encoding's pitch range by whole octaves (or drop it if ``fit_octaves=False`` or it spans too
    much; a path's melodies that fit in no octave are named in a warning, like unreadable files),
    and drop melodies with fewer than ``min_notes`` notes. ``limit`` parses only the first
    ``limit`` pieces (files, or tunes of an ABC file), for quick runs. ``progress`` shows a bar
    on stderr while parsing (``None``: only when stderr is a terminal, so a person sees it and
    captured output stays clean).

    >>> import tempfile
    >>> corpus = load_melodies("bach-soprano", limit=3, cache_dir=tempfile.mkdtemp())
    >>> len(corpus), corpus[0].name
    (3, 'bach/bwv269.mxl:Soprano')
    """
    # 1. check inputs
    if steps_per_quarter < 1:
        raise AtelierError(f"steps_per_quarter {steps_per_quarter}: must be at least 1")
    if limit is not None and limit < 1:
        raise AtelierError(f"limit {limit}: must be at least 1 (or None for everything)")
    if key not in (None, "C"):
        raise choose_one("key normalisation", key, ["C"])
    allowed = None if time_signatures is None else {tuple(ts) for ts in time_signatures}
    for ts in allowed or ():
        steps_per_bar(ts, steps_per_quarter, what="time_signatures")  # type: ignore[arg-type]
    text = os.fspath(source)
    key_data: dict[str, object] = {
        "version": CACHE_VERSION, "steps_per_quarter": steps_per_quarter, "instrument": instrument,
        "limit": limit,
    }  # fmt: skip
    files: list[Path] | None = None
    if text in CORPORA:
        # Files inside the installed music21 change only with its version: no need to list or stat
        # them (nor to import music21) when the cache already holds the parse.
        kind, voices = _CORPUS_FILES[text], _CORPUS_VOICES.get(text)
        key_data.update(kind=kind, music21=importlib.metadata.version("music21"))
        label = kind
    elif os.path.exists(text) or os.sep in text or text.endswith(MIDI_EXTENSIONS + SCORE_EXTENSIONS):
        files, base = _path_files(Path(text).expanduser())
        kind, voices = "path", None
        stats = [(p.relative_to(base).as_posix(), *_stat(p)) for p in files]
        key_data.update(kind=kind, base=str(base.resolve()), files=stats, music21=importlib.metadata.version("music21"))
        label = base.name or "files"
    else:
        raise choose_one("music source", text, CORPORA)

    # 2. parse, or read the cache
    digest = hashlib.sha256(json.dumps(key_data, sort_keys=True).encode()).hexdigest()[:20]
    cache_file = _cache_dir(cache_dir) / f"{label}-{digest}.npz"
    cached = _load_cache(cache_file)
    if cached is None:
        if files is None:
            files, base = _corpus_files(kind)
        parsed, skipped = _parse_all(
            files, base, steps_per_quarter=steps_per_quarter, instrument=instrument, limit=limit, progress=progress,
            label=label,
        )
        try:
            _save_cache(cache_file, parsed, skipped)
        except OSError as error:  # a read-only or full disk costs speed next time, not this load
            warnings.warn(f"could not write the music cache {cache_file}: {error}", stacklevel=2)
    else:
        parsed, skipped = cached

    # 3. select parts, filter, normalise
    dropped = {"meter": 0, "range": 0, "too_short": 0}
    melodies: list[Melody] = []
    too_wide: list[str] = []  # melodies of a path that no octave brings into range, with their span
    seen_voices: set[tuple[str, str]] = set()
    for part in parsed:
        if voices is not None:
            voice = (part.part.split() or [""])[0].lower()
            if voice not in voices or (part.melody.piece, voice) in seen_voices:
                continue
            seen_voices.add((part.melody.piece, voice))
        if allowed is not None and (len(part.meters) > 1 or (part.meters or ((4, 4),))[0] not in allowed):
            dropped["meter"] += 1
            continue
        melody = part.melody
        # the key move and the octave fit as one move: in turn, a melody near MIDI's edges would leave 0..127
        shift = key_shift(melody) if key == "C" else 0
        fitted = fit_to_range(melody, encoding, shift=shift, octaves=fit_octaves)
        if fitted is None:
            dropped["range"] += 1
            if kind == "path" and fit_to_range(melody, encoding) is None:  # in no octave, not only moved
                too_wide.append(f"{melody.name}: {describe_range(melody, encoding)}")
            continue
        if len(fitted.notes) < min_notes:
            dropped["too_short"] += 1
            continue
        melodies.append(fitted)
    if skipped:
        warnings.warn(
            f"{text}: skipped {len(skipped)} unreadable files or tunes, e.g. {skipped[0][0]}: {skipped[0][1]}",
            stacklevel=2,
        )
    if not melodies:
        raise AtelierError(
            f"music source {text}: no melodies left after filters (dropped: "
            + ", ".join(f"{k} {v}" for k, v in dropped.items())
            + f"; unreadable: {len(skipped)})"
            + (f"; e.g. {too_wide[0]}" if too_wide else "")
        )
    if too_wide:  # a user's own files: say which, as for unreadable ones (a corpus's are filtered quietly)
        what = "1 melody that does" if len(too_wide) == 1 else f"{len(too_wide)} melodies that do"
        warnings.warn(f"{text}: skipped {what} not fit the model's pitch range, e.g. {too_wide[0]}", stacklevel=2)
    return MelodyCorpus(
        tuple(melodies), name=text, skipped=tuple(f"{n}: {r}" for n, r in skipped), dropped=dropped
    )


def _stat(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_size, info.st_mtime_ns


def available_corpora() -> dict[str, str]:
    """Built-in corpus names with a one-line description.

    >>> sorted(available_corpora())
    ['bach-all', 'bach-soprano', 'essen', 'oneill', 'ryan']
    """
    return dict(CORPORA)


# ---------------------------------------------------------------------------------------------
# 5. Splits and training windows.


def split_melodies(
    melodies: Sequence[Melody], *, val_fraction: float = 0.1, seed: int = 0
) -> tuple[list[Melody], list[Melody]]:
    """Split into ``(train, val)`` by piece, never by window, the same way on every machine.

    Pieces are ordered by a hash of ``(seed, piece)`` and the first ``val_fraction`` of them (at
    least one) go to validation, so all voices of a chorale and all windows of a tune stay on one
    side, and adding pieces to a corpus moves few others. ``val_fraction=0`` keeps every melody
    for training.

    >>> ms = [Melody((Note(60, 0, 4),), num_steps=4, name=f"tune{i}") for i in range(10)]
    >>> train, val = split_melodies(ms, val_fraction=0.2, seed=0)
    >>> len(train), len(val)
    (8, 2)
    >>> [len(side) for side in split_melodies(ms, val_fraction=0)]
    [10, 0]
    """
    check_val_fraction(val_fraction)
    if val_fraction == 0:
        return list(melodies), []
    pieces = sorted({m.piece for m in melodies}, key=lambda p: hashlib.sha256(f"{seed}:{p}".encode()).hexdigest())
    if len(pieces) < 2:
        raise AtelierError(f"{len(pieces)} piece(s): too few to split off a validation set by piece")
    val_pieces = set(pieces[: max(1, round(val_fraction * len(pieces)))])
    train = [m for m in melodies if m.piece not in val_pieces]
    val = [m for m in melodies if m.piece in val_pieces]
    return train, val


class MelodyWindows(torch.utils.data.Dataset):
    """Every ``window_steps``-long stretch of every melody, every ``hop_steps``, at every transposition.

    Item ``i`` is a ``LongTensor (window_steps,)`` of events in ``encoding``. Windows are enumerated
    up front (no randomness inside ``__getitem__``), so a seeded sampler makes training repeatable.

    * transposition augmentation: each window appears once per shift in ``transpose`` that keeps all
      its pitches inside the encoding's range (shifts that would leave it are left out);
    * a note held across a window's start is struck again at step 0, so every window decodes alone;
    * windows with fewer than ``min_notes`` notes (e.g. all rest) are left out, and so are melodies
      shorter than one window.

    >>> m = Melody(tuple(Note(60 + i, 4 * i, 4 * i + 4) for i in range(8)), num_steps=32)
    >>> ds = MelodyWindows([m], window_steps=16, hop_steps=8, transpose=range(-1, 2))
    >>> len(ds), ds[0].shape, ds[0].dtype
    (9, torch.Size([16]), torch.int64)
    """

    def __init__(
        self,
        melodies: Sequence[Melody],
        *,
        encoding: MelodyEncoding = MelodyEncoding(),
        window_steps: int = 32,
        hop_steps: int = 16,
        transpose: Iterable[int] = (0,),
        min_notes: int = 1,
    ) -> None:
        if window_steps < 1 or hop_steps < 1:
            raise AtelierError(f"window_steps {window_steps}, hop_steps {hop_steps}: both must be at least 1")
        shifts = np.array(sorted(set(int(s) for s in transpose)), dtype=np.int64)
        if shifts.size == 0:
            raise AtelierError("transpose: give at least one shift, e.g. (0,) or range(-5, 6)")
        self.encoding = encoding
        self.window_steps = window_steps
        self.hop_steps = hop_steps
        self._onsets: list[np.ndarray] = []  # per melody (T,): pitch at onsets, -1 note-off, -2 nothing
        self._sounding: list[np.ndarray] = []  # per melody (T,): the sounding pitch, -1 in rests
        items: list[np.ndarray] = []  # rows (melody, start, shift)
        for index, melody in enumerate(melodies):
            onsets, sounding = _step_arrays(melody)
            self._onsets.append(onsets)
            self._sounding.append(sounding)
            starts = np.arange(0, melody.num_steps - window_steps + 1, hop_steps)
            if starts.size == 0:
                continue
            windows = np.lib.stride_tricks.sliding_window_view(sounding, window_steps)[starts]  # (W, T)
            window_onsets = np.lib.stride_tricks.sliding_window_view(onsets, window_steps)[starts]  # (W, T)
            playing = windows >= 0
            low = np.where(playing, windows, 999).min(axis=1)
            high = np.where(playing, windows, -1).max(axis=1)
            restruck = (window_onsets[:, 0] < 0) & playing[:, 0]
            num_notes = (window_onsets >= 0).sum(axis=1) + restruck
            keep = num_notes >= max(min_notes, 1)
            ok = (
                (low[:, None] + shifts[None, :] >= encoding.min_pitch)
                & (high[:, None] + shifts[None, :] <= encoding.max_pitch)
                & keep[:, None]
            )  # (W, S)
            w, s = np.nonzero(ok)
            if w.size:
                items.append(np.stack([np.full(w.size, index), starts[w], shifts[s]], axis=1))
        self._items = np.concatenate(items) if items else np.zeros((0, 3), dtype=np.int64)

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int) -> torch.Tensor:
        melody, start, shift = (int(v) for v in self._items[index])
        onsets = self._onsets[melody][start : start + self.window_steps].copy()  # (T,)
        held = int(self._sounding[melody][start])
        if onsets[0] < 0 and held >= 0:
            onsets[0] = held  # re-strike the note held across the window's start
        events = np.where(
            onsets >= 0, onsets + shift - self.encoding.min_pitch + 2, np.where(onsets == -1, 1, 0)
        )
        return torch.from_numpy(events.astype(np.int64))

    def window(self, index: int) -> tuple[int, int, int]:
        """``(melody index, start step, transposition)`` of item ``index``."""
        melody, start, shift = (int(v) for v in self._items[index])
        return melody, start, shift


def _step_arrays(melody: Melody) -> tuple[np.ndarray, np.ndarray]:
    """Per step: pitch at onsets / -1 at note-offs / -2 otherwise, and the sounding pitch / -1."""
    onsets = np.full(melody.num_steps, -2, dtype=np.int16)
    sounding = np.full(melody.num_steps, -1, dtype=np.int16)
    for note in melody.notes:
        if note.end_step < melody.num_steps and onsets[note.end_step] == -2:
            onsets[note.end_step] = -1
        onsets[note.start_step] = note.pitch
        sounding[note.start_step : note.end_step] = note.pitch
    return onsets, sounding
