"""The data both melody models train on: the corpus's held-out split, fixed-length windows as
tensors or melodies, and primers and input melodies moved into a model's key and range.

Both models work on a grid of 16th notes with 16-step bars, so they keep the 4/4 and 2/4 melodies of
a corpus (a 2/4 bar is half a model bar; windows start on bar lines, so bar positions line up).
With ``key="C"`` every melody is moved to C major or A minor before training, as Magenta's melody
RNN does (``transpose_to_key=0``): with a few thousand tunes a model then learns one scale instead
of twelve. A primer or an input melody is moved the same way, and the result moved back.

    train, val, fingerprint = load_split("essen", encoding=MelodyEncoding(48, 83), key="C")
    windows = window_tensor(train, encoding=..., window_steps=64)   # LongTensor (N, 64)
    data = melody_training_data("essen", config=..., window_steps=64, ...)   # MelodyData for a task
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from atelier.data.music import MelodyCorpus, MelodyWindows, describe_range, fit_to_range, load_melodies
from atelier.errors import AtelierError, choose_one
from atelier.family import DataOptions, TrainData
from atelier.music.events import Melody, MelodyEncoding, events_to_notes, primer_events
from atelier.music.theory import key_shift

STEPS_PER_QUARTER = 4
STEPS_PER_BAR = 16  # one 4/4 bar of 16th notes: the models' unit of length
METERS: tuple[tuple[int, int], ...] = ((4, 4), (2, 4))
KEYS = ("C", "any")  # "C": C major / A minor (Krumhansl-Schmuckler estimate); "any": as written
DEFAULT_SPLIT_SEED = DataOptions.split_seed  # the split `atelier train` makes unless told otherwise
DEFAULT_VAL_FRACTION = DataOptions.val_fraction


def check_key(key: str) -> None:
    if key not in KEYS:
        raise choose_one("key", key, KEYS)


def check_shared_fields(config: Any) -> None:
    """The config fields both melody models share: pitch range, key, augmentation, optimiser."""
    object.__setattr__(config, "transpose", tuple(config.transpose))  # JSON and --set give lists
    MelodyEncoding(config.min_pitch, config.max_pitch)
    check_key(config.key)
    if not config.transpose:
        raise AtelierError("transpose=(); give at least one shift, e.g. 0")
    if config.lr <= 0 or config.clip_grad_norm <= 0:
        raise AtelierError(f"lr={config.lr}, clip_grad_norm={config.clip_grad_norm}; both must be positive")


class PitchRange:
    """What a melody model's config with ``min_pitch`` and ``max_pitch`` derives from them."""

    min_pitch: int
    max_pitch: int

    @property
    def encoding(self) -> MelodyEncoding:
        return MelodyEncoding(self.min_pitch, self.max_pitch)

    @property
    def num_classes(self) -> int:
        return self.encoding.num_classes


def load_split(
    data: str | os.PathLike,
    *,
    encoding: MelodyEncoding,
    key: str,
    seed: int = DEFAULT_SPLIT_SEED,
    val_fraction: float = DEFAULT_VAL_FRACTION,
    limit: int | None = None,
) -> tuple[MelodyCorpus, MelodyCorpus, str]:
    """The 4/4 and 2/4 melodies of ``data`` in the model's range (and key), split by piece:
    ``(train, held_out, fingerprint of the whole corpus)``.

    >>> train, val, fp = load_split("bach-soprano", encoding=MelodyEncoding(), key="C")  # doctest: +SKIP
    >>> len(train), len(val), len(fp)  # doctest: +SKIP
    (306, 34, 64)
    """
    check_key(key)
    corpus = load_melodies(data, encoding=encoding, steps_per_quarter=STEPS_PER_QUARTER,
                           time_signatures=METERS, key="C" if key == "C" else None, limit=limit)
    train, val = corpus.split(val_fraction=val_fraction, seed=seed)
    return train, val, corpus.fingerprint()


def window_tensor(
    melodies: Sequence[Melody],
    *,
    encoding: MelodyEncoding,
    window_steps: int,
    hop_steps: int | None = None,
    transpose: Sequence[int] = (0,),
    max_windows: int | None = None,
    min_notes: int = 1,
    seed: int = 0,
) -> torch.Tensor:
    """Every bar-aligned window of ``window_steps`` events: LongTensor ``(N, window_steps)``.

    ``hop_steps`` defaults to the window (no overlap); ``max_windows`` keeps a seeded subset;
    windows with fewer than ``min_notes`` notes are left out.

    >>> from atelier.music.events import Note
    >>> m = Melody(tuple(Note(60 + i % 5, 4 * i, 4 * i + 4) for i in range(16)), num_steps=64)
    >>> window_tensor([m], encoding=MelodyEncoding(), window_steps=32).shape
    torch.Size([2, 32])
    """
    windows = MelodyWindows(melodies, encoding=encoding, window_steps=window_steps,
                            hop_steps=hop_steps or window_steps, transpose=transpose, min_notes=min_notes)
    if len(windows) == 0:
        raise AtelierError(f"no melody is {window_steps // STEPS_PER_BAR} bars long or more; "
                           "give longer melodies or a model with shorter windows")
    index = np.arange(len(windows))
    if max_windows is not None and len(windows) > max_windows:
        index = np.sort(np.random.default_rng(seed).choice(len(windows), max_windows, replace=False))
    return torch.stack([windows[int(i)] for i in index])


@dataclass(frozen=True)
class MelodyData(TrainData):
    """What a melody model trains on: windows of events, LongTensor ``(N, T)`` (``train``), and a
    sample of held-out windows scored during training (``val_windows``, None for none)."""

    val_windows: torch.Tensor | None = None


def melody_training_data(
    data: str | os.PathLike,
    *,
    config: Any,
    window_steps: int,
    min_notes: int,
    max_val_windows: int,
    options: DataOptions,
) -> MelodyData:
    """What :func:`atelier.train` needs for either melody model: every bar-aligned window of the
    training pieces at each of ``config.transpose``, a seeded sample of non-overlapping held-out
    windows (for validation during training; None with ``options.val_fraction=0``), and the
    corpus fingerprint."""
    train, val, fingerprint = load_split(data, encoding=config.encoding, key=config.key, seed=options.split_seed,
                                         val_fraction=options.val_fraction, limit=options.limit)
    windows = window_tensor(train, encoding=config.encoding, window_steps=window_steps, hop_steps=STEPS_PER_BAR,
                            transpose=config.transpose, min_notes=min_notes)
    val_windows = None
    if len(val):
        val_windows = window_tensor(val, encoding=config.encoding, window_steps=window_steps,
                                    max_windows=max_val_windows, min_notes=min_notes, seed=options.split_seed)
    return MelodyData(train=windows, fingerprint=fingerprint, val_windows=val_windows)


def events_to_melodies(
    events: torch.Tensor | np.ndarray,
    encoding: MelodyEncoding,
    *,
    qpm: float = 120.0,
    program: int = 0,
    shift: int = 0,
    name: str = "sample",
) -> list[Melody]:
    """Rows of events ``(N, T)`` → N melodies in 4/4, moved ``-shift`` semitones (undoing a key move).

    >>> [m.pitches for m in events_to_melodies(torch.tensor([[14, 0, 16, 1]]), MelodyEncoding())]
    [[60, 62]]
    """
    rows = events.cpu().numpy() if torch.is_tensor(events) else np.asarray(events)
    out = []
    for i, row in enumerate(rows):
        notes = tuple(events_to_notes(row, encoding))
        melody = Melody(notes, num_steps=len(row), steps_per_quarter=STEPS_PER_QUARTER, time_signature=(4, 4),
                        qpm=float(qpm), program=program, name=f"{name} {i + 1}" if len(rows) > 1 else name)
        out.append(melody.transpose(-shift))
    return out


def crop(melody: Melody, num_steps: int) -> Melody:
    """The first ``num_steps`` of a melody (a note sounding at the end is cut), padded with rest if shorter.

    >>> from atelier.music.events import Note
    >>> crop(Melody((Note(60, 0, 4), Note(62, 4, 12)), num_steps=12), 8).notes[-1]
    Note(pitch=62, start_step=4, end_step=8, velocity=100)
    """
    notes = tuple(replace(n, end_step=min(n.end_step, num_steps)) for n in melody.notes if n.start_step < num_steps)
    return replace(melody, notes=notes, num_steps=num_steps)


@dataclass(frozen=True)
class PreparedMelody:
    """A melody as the model sees it: events in its encoding, and the semitones it was moved by."""

    events: np.ndarray  # int64 (T,)
    shift: int  # semitones added (key move + octave fit); subtract from the model's output


def prepare_melody(melody: Melody, *, encoding: MelodyEncoding, key: str, what: str) -> PreparedMelody:
    """Move ``melody`` into the model's key (if it was trained in C) and by whole octaves into its range.

    A melody so wide that the key move would leave the range keeps its key.

    >>> from atelier.music.events import Note
    >>> p = prepare_melody(Melody((Note(74, 0, 4), Note(78, 4, 8), Note(81, 8, 16)), num_steps=16),
    ...                    encoding=MelodyEncoding(48, 83), key="C", what="primer")
    >>> p.shift, p.events[:5].tolist()
    (-2, [26, 0, 0, 0, 30])
    """
    if melody.steps_per_quarter != STEPS_PER_QUARTER:
        raise AtelierError(f"{what}: {melody.steps_per_quarter} steps per quarter; the models use {STEPS_PER_QUARTER}")
    if not melody.notes:
        return PreparedMelody(melody.to_events(encoding), 0)
    # The key move and the octave fit are added up before a note moves: moved one after the other,
    # a melody near MIDI's edges (pitch 0 or 127) would pass out of 0..127 on the way.
    shift = key_shift(melody) if key == "C" else 0
    fitted = fit_to_range(melody, encoding, shift=shift)
    if fitted is None and shift:  # the key move pushed a wide melody out of range: keep its key
        fitted = fit_to_range(melody, encoding)
    if fitted is None:
        raise AtelierError(f"{what}: {describe_range(melody, encoding)}")
    return PreparedMelody(fitted.to_events(encoding), fitted.notes[0].pitch - melody.notes[0].pitch)


def prepare_melodies(
    melodies: Melody | Sequence[Melody], *, encoding: MelodyEncoding, key: str, num_steps: int
) -> tuple[torch.Tensor, list[int]]:
    """:func:`prepare_melody` for a batch: each melody's first ``num_steps`` steps (padded with
    rest) in the model's key and range, as events LongTensor ``(N, num_steps)``, and the semitones
    each was moved by.

    >>> from atelier.music.events import Note
    >>> events, shifts = prepare_melodies([Melody((Note(62, 0, 4), Note(66, 4, 8)), num_steps=8)],
    ...                                   encoding=MelodyEncoding(), key="any", num_steps=16)
    >>> events.shape, shifts
    (torch.Size([1, 16]), [0])
    """
    if isinstance(melodies, Melody):
        melodies = [melodies]
    if not melodies:
        raise AtelierError("melodies: none given; pass at least one")
    rows, shifts = [], []
    for i, melody in enumerate(melodies):
        what = f"melody {melody.name or i + 1}"
        if not melody.notes:
            raise AtelierError(f"{what}: no notes to encode")
        prepared = prepare_melody(crop(melody, num_steps), encoding=encoding, key=key, what=what)
        rows.append(torch.from_numpy(prepared.events))
        shifts.append(prepared.shift)
    return torch.stack(rows), shifts


def primer_melody(primer: Melody | Sequence[int], encoding: MelodyEncoding) -> Melody:
    """A primer given as a Melody, or as Magenta's list of one value per 16th-note step (a pitch
    starts a note, -2 holds it, -1 stops it) checked against the model's pitch range.

    >>> primer_melody([60, -2, -2, -2, 62, -1], MelodyEncoding()).notes[0]
    Note(pitch=60, start_step=0, end_step=4, velocity=100)
    """
    if isinstance(primer, Melody):
        return primer
    values = list(primer)
    if not values:
        raise AtelierError("primer: empty; give at least one pitch")
    events = primer_events(values, encoding)
    return Melody(tuple(events_to_notes(events, encoding)), num_steps=len(events), name="primer")


def training_source(provenance: dict[str, Any], data: str | os.PathLike | None) -> tuple[str, int, float]:
    """``(data, split seed, validation fraction)`` to evaluate on: ``data`` if given, else the corpus
    and split the model was trained with (from its checkpoint's provenance).

    A model trained on every piece (``val_fraction=0``) has no held-out pieces of its own corpus,
    which is refused then; other data is split as by default (``DEFAULT_VAL_FRACTION``).

    >>> training_source({"data": "essen", "split_seed": 0, "val_fraction": 0.0}, "oneill")
    ('oneill', 0, 0.1)
    """
    source = data if data is not None else provenance.get("data")
    if not source:
        raise AtelierError("this checkpoint does not record its training data; give the data to evaluate on "
                           "(data=…, --data)")
    source = os.fspath(source)
    split_seed = int(provenance.get("split_seed", DEFAULT_SPLIT_SEED))
    val_fraction = float(provenance.get("val_fraction", DEFAULT_VAL_FRACTION))
    if val_fraction == 0:
        trained_on = os.fspath(provenance.get("data") or "")
        if source == trained_on or (os.path.exists(source) and os.path.exists(trained_on)
                                    and os.path.samefile(source, trained_on)):
            raise AtelierError(f"this model was trained on every piece of {source} (val_fraction=0), so none is "
                               "held out to score it on; give other melodies to evaluate on (data=…, --data)")
        val_fraction = DEFAULT_VAL_FRACTION
    return source, split_seed, val_fraction


def check_event_batch(batch: Any, num_classes: int, *, what: str) -> torch.Tensor:
    """A training batch must be LongTensor ``(B, T)`` of events in ``0..num_classes-1``."""
    if not torch.is_tensor(batch) or batch.ndim != 2 or batch.dtype != torch.int64:
        shape = tuple(batch.shape) if torch.is_tensor(batch) else type(batch).__name__
        raise AtelierError(f"{what}: a batch is LongTensor (B, T) of melody events, got {shape}")
    if batch.numel() and (int(batch.min()) < 0 or int(batch.max()) >= num_classes):
        raise AtelierError(f"{what}: events must be in 0..{num_classes - 1}, got {int(batch.min())}..{int(batch.max())}")
    return batch


# ---------------------------------------------------------------------------------------------
# Tunes with their style, meter and key: the data of the conditioned melody transformer.
#
# Unlike the two models above, the transformer keeps every meter of the corpora (4/4, 3/4, 6/8,
# 2/4; bars of 16, 12, 12 and 8 steps), keeps each tune in its written key and learns keys from
# transposition, and is told each window's style (the corpus), meter and key.

STYLES: dict[str, str] = {"essen": "essen", "irish": "oneill", "bach": "bach-soprano"}  # style → built-in corpus
TUNE_METERS: tuple[tuple[int, int], ...] = ((4, 4), (3, 4), (6, 8), (2, 4))
PAD = -100  # a step after a tune's end: no target (cross-entropy's ignore_index)
NUM_KEYS = 24  # tonic + 12 for minor: 0..11 C..B major, 12..23 C..B minor


@dataclass(frozen=True)
class Tune:
    """A melody with what a conditioned model is told about it."""

    melody: Melody
    style: int  # index into the model's styles
    meter: int  # index into TUNE_METERS
    key: int  # 0..23, as NUM_KEYS


def check_styles(styles: Sequence[str]) -> None:
    """Style names: one or more, distinct, each a word (those of :data:`STYLES` name a built-in corpus)."""
    if not styles or len(set(styles)) != len(styles) or not all(isinstance(s, str) and s.isidentifier() for s in styles):
        raise AtelierError(f"styles={tuple(styles)}; give one or more distinct names, e.g. {', '.join(STYLES)}")


def load_tunes(
    sources: Sequence[tuple[int, str | os.PathLike]],
    *,
    encoding: MelodyEncoding,
    key_of: Any,
    seed: int = DEFAULT_SPLIT_SEED,
    val_fraction: float = DEFAULT_VAL_FRACTION,
    limit: int | None = None,
    progress: bool | None = None,
) -> tuple[list[Tune], list[Tune], str]:
    """The tunes of each ``(style index, source)`` in one of :data:`TUNE_METERS`, in their written
    keys, moved by whole octaves into the encoding's range, and split by piece within each source
    (the same seeded split as :func:`load_split`): ``(train, held_out, fingerprint)``. A source is a
    built-in corpus name or a path (:func:`atelier.data.music.load_melodies`).

    ``key_of(melody) -> int`` gives a tune's key (0..23); it is passed in because key finding lives
    above the data layer (:func:`atelier.analysis.melodies.find_key`).
    """
    train: list[Tune] = []
    val: list[Tune] = []
    prints = []
    for style, source in sources:
        corpus = load_melodies(source, encoding=encoding, steps_per_quarter=STEPS_PER_QUARTER,
                               time_signatures=TUNE_METERS, limit=limit, progress=progress)
        prints.append(corpus.fingerprint())
        side_train, side_val = corpus.split(val_fraction=val_fraction, seed=seed)
        for side, out in ((side_train, train), (side_val, val)):
            out += [Tune(m, style, TUNE_METERS.index(m.time_signature), int(key_of(m))) for m in side]
    from atelier.data import fingerprint

    return train, val, fingerprint(np.frombuffer("|".join(prints).encode(), dtype=np.uint8))


def shift_key(key: int, shift: int) -> int:
    """The key ``key`` (0..23) moved ``shift`` semitones, mode kept.

    >>> shift_key(2, -3), shift_key(21, 5)  # D major → B major; A minor → D minor
    (11, 14)
    """
    return (key % 12 + shift) % 12 + 12 * (key // 12)


class TuneWindows:
    """Windows of ``window_steps`` events of every tune, starting on its bar lines, at every shift of
    ``transpose`` that keeps the tune in the encoding's range.

    ``get_batch(indices)`` (what the training loop calls) gives LongTensor ``(B, 3 + T)``: style,
    meter and key (moved with the tune) in the first three columns, then the events; steps after a
    tune's end are :data:`PAD`. Every tune yields at least one window, however short, and the last
    window of a tune reaches its end, so endings are learned. A note held across a window's start
    is struck again at step 0. Tunes without notes, or that fit the range at no shift, give none.

    ``hop_bars`` = bars between window starts. None: every step is in exactly one window (for
    scoring): windows start every whole number of bars that fits in ``window_steps``, and the steps
    of a window past the next window's start are PAD.

    >>> from atelier.music.events import Note
    >>> waltz = Melody(tuple(Note(60 + i, 6 * i, 6 * i + 6) for i in range(8)), num_steps=48, time_signature=(3, 4))
    >>> windows = TuneWindows([Tune(waltz, 0, 1, 0)], encoding=MelodyEncoding(), window_steps=32, transpose=(0, 2))
    >>> len(windows), windows.get_batch([0, 5]).shape
    (6, torch.Size([2, 35]))
    >>> windows.get_batch([5])[0, :4].tolist()  # style 0, 3/4, D major (C moved +2), then E4 moved to F#4
    [0, 1, 2, 20]
    """

    def __init__(self, tunes: Sequence[Tune], *, encoding: MelodyEncoding, window_steps: int,
                 transpose: Sequence[int] = (0,), hop_bars: int | None = 1) -> None:
        if window_steps < 1:
            raise AtelierError(f"window_steps {window_steps}: must be at least 1")
        self.encoding, self.window_steps = encoding, window_steps
        self._events: list[np.ndarray] = []  # per tune (N + window_steps,) events, PAD after the end
        self._conditions = np.array([(t.style, t.meter, t.key) for t in tunes], dtype=np.int64).reshape(-1, 3)
        items = []
        for index, tune in enumerate(tunes):
            melody = tune.melody
            events = np.full(melody.num_steps + window_steps, PAD, dtype=np.int64)
            events[:melody.num_steps] = melody.to_events(encoding)
            sounding = np.full(melody.num_steps, -1, dtype=np.int64)
            for note in melody.notes:
                sounding[note.start_step:note.end_step] = encoding.encode_pitch(note.pitch)
            self._events.append(np.stack([events, np.pad(sounding, (0, window_steps), constant_values=-1)]))
            bar = melody.steps_per_bar
            if hop_bars:
                hop = bar * hop_bars
                last = max(0, -(-(melody.num_steps - window_steps) // bar) * bar)  # the first bar line whose window reaches the end
                starts = sorted(set(range(0, last + 1, hop)) | {last})
            else:  # one window per stretch of whole bars; the rest of each window is PAD
                hop = max(bar, window_steps // bar * bar)
                starts = list(range(0, melody.num_steps, hop))
            if not melody.notes:
                continue
            low, high = min(melody.pitches), max(melody.pitches)
            for shift in sorted(set(int(s) for s in transpose)):
                if encoding.contains(low + shift) and encoding.contains(high + shift):
                    items += [(index, start, shift, hop if not hop_bars else window_steps) for start in starts]
        self._items = np.array(items, dtype=np.int64).reshape(-1, 4)

    def __len__(self) -> int:
        return len(self._items)

    def get_batch(self, indices: Any) -> torch.Tensor:
        rows = []
        for i in indices:
            tune, start, shift, scored = (int(v) for v in self._items[int(i)])
            events, sounding = self._events[tune][:, start:start + self.window_steps]
            events = events.copy()
            events[scored:] = PAD  # (non-overlapping windows) the next window scores these
            if events[0] == 0 and sounding[0] >= 0:
                events[0] = sounding[0]  # re-strike the note held across the window's start
            events = np.where(events >= 2, events + shift, events)  # note-ons move; hold, off and PAD stay
            style, meter, key = self._conditions[tune]
            rows.append(np.concatenate([[style, meter, shift_key(int(key), shift)], events]))
        return torch.from_numpy(np.stack(rows))

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.get_batch([index])[0]

    def window(self, index: int) -> tuple[int, int, int]:
        """``(tune index, start step, transposition)`` of item ``index``."""
        tune, start, shift, _ = (int(v) for v in self._items[index])
        return tune, start, shift
