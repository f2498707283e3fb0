"""Monophonic melodies and their Magenta-compatible event encoding.

A melody lives on a grid of steps (16th notes by default: 4 steps per quarter, 16 per 4/4 bar).
Two views of the same melody:

* notes: :class:`Note` ``(pitch, start_step, end_step, velocity)``, sorted and non-overlapping;
* events: one integer per step, as in Magenta's melody RNN and MusicVAE (``OneHotMelodyConverter``)::

      0          NO_EVENT   nothing new: the sounding note (or the rest) continues
      1          NOTE_OFF   the sounding note stops here
      2 + k      NOTE_ON    a note of pitch ``min_pitch + k`` starts here (ending the previous one)

  e.g. with the default range 48..83 (Magenta's ``basic_rnn``), C4 (60) held for a quarter then a
  quarter rest is ``[14, 0, 0, 0, 1, 0, 0, 0]``.

Converting notes to events and back is lossless for pitch and timing; events carry no velocity, so
notes decoded from events get one fixed velocity. A note ends at the next NOTE_ON or NOTE_OFF, or at
the end of the sequence, so a note that lasts to the last step needs no NOTE_OFF.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from atelier.errors import AtelierError

NO_EVENT = 0
NOTE_OFF = 1
FIRST_PITCH_EVENT = 2  # events >= 2 are NOTE_ON

DEFAULT_VELOCITY = 100


@dataclass(frozen=True, slots=True)
class Note:
    """One note on the step grid: sounds from ``start_step`` up to (not including) ``end_step``.

    >>> Note(60, 0, 4).duration
    4
    """

    pitch: int  # MIDI pitch, 0..127 (60 = middle C)
    start_step: int
    end_step: int  # exclusive
    velocity: int = DEFAULT_VELOCITY  # MIDI velocity, 1..127

    def __post_init__(self) -> None:
        if not 0 <= self.pitch <= 127:
            raise AtelierError(f"note pitch {self.pitch}: must be a MIDI pitch in 0..127")
        if not 0 <= self.start_step < self.end_step:
            raise AtelierError(
                f"note {self.pitch} from step {self.start_step} to {self.end_step}: "
                "steps must satisfy 0 <= start_step < end_step"
            )
        if not 1 <= self.velocity <= 127:
            raise AtelierError(f"note velocity {self.velocity}: must be in 1..127")

    @property
    def duration(self) -> int:
        return self.end_step - self.start_step


@dataclass(frozen=True)
class MelodyEncoding:
    """The event vocabulary for pitches ``min_pitch..max_pitch`` (inclusive).

    >>> enc = MelodyEncoding(48, 83)
    >>> enc.num_classes, enc.encode_pitch(60), enc.decode_pitch(14)
    (38, 14, 60)
    """

    min_pitch: int = 48  # C3; Magenta melody_rnn's DEFAULT_MIN_NOTE
    max_pitch: int = 83  # B5; Magenta's DEFAULT_MAX_NOTE is 84, exclusive

    def __post_init__(self) -> None:
        if not 0 <= self.min_pitch <= self.max_pitch <= 127:
            raise AtelierError(
                f"melody encoding range {self.min_pitch}..{self.max_pitch}: "
                "need 0 <= min_pitch <= max_pitch <= 127"
            )

    @property
    def num_pitches(self) -> int:
        return self.max_pitch - self.min_pitch + 1

    @property
    def num_classes(self) -> int:
        """Size of the event vocabulary: NO_EVENT, NOTE_OFF and one NOTE_ON per pitch."""
        return FIRST_PITCH_EVENT + self.num_pitches

    def contains(self, pitch: int) -> bool:
        return self.min_pitch <= pitch <= self.max_pitch

    def encode_pitch(self, pitch: int) -> int:
        """The NOTE_ON event of ``pitch``."""
        if not self.contains(pitch):
            raise AtelierError(
                f"pitch {pitch} is outside the encoding's range "
                f"{self.min_pitch}..{self.max_pitch}; transpose it or widen the encoding"
            )
        return FIRST_PITCH_EVENT + pitch - self.min_pitch

    def decode_pitch(self, event: int) -> int:
        """The pitch of a NOTE_ON event."""
        if not FIRST_PITCH_EVENT <= event < self.num_classes:
            raise AtelierError(
                f"event {event} is not a NOTE_ON; those are {FIRST_PITCH_EVENT}..{self.num_classes - 1}"
            )
        return self.min_pitch + event - FIRST_PITCH_EVENT


# Named encodings, as plain data. Magenta's melody RNN uses 48..83 (36 pitches, 38 classes);
# MusicVAE's melody models use the piano range 21..108 (88 pitches, 90 classes).
ENCODINGS: dict[str, MelodyEncoding] = {
    "melody-rnn": MelodyEncoding(48, 83),
    "music-vae": MelodyEncoding(21, 108),
}


def notes_to_events(
    notes: Iterable[Note], encoding: MelodyEncoding, num_steps: int | None = None
) -> np.ndarray:
    """Encode monophonic notes as one event per step: int64 ``(num_steps,)``.

    ``num_steps`` defaults to the end of the last note. Notes must be sorted and must not overlap
    (a note may start on the step the previous one ends).

    >>> notes_to_events([Note(60, 0, 4), Note(62, 4, 6)], MelodyEncoding(), num_steps=8).tolist()
    [14, 0, 0, 0, 16, 0, 1, 0]
    """
    notes = list(notes)
    end = max((n.end_step for n in notes), default=0)
    if num_steps is None:
        num_steps = end
    if num_steps < end:
        raise AtelierError(f"num_steps {num_steps}: the last note ends at step {end}; pass at least {end}")
    events = np.zeros(num_steps, dtype=np.int64)  # (T,)
    previous_end: int | None = None
    for note in notes:
        if previous_end is not None:
            if note.start_step < previous_end:
                raise AtelierError(
                    f"note {note.pitch} at step {note.start_step} starts before the previous note ends "
                    f"(step {previous_end}); events need a monophonic melody (see extract_monophonic)"
                )
            if note.start_step > previous_end:
                events[previous_end] = NOTE_OFF  # a rest between the two notes
        events[note.start_step] = encoding.encode_pitch(note.pitch)
        previous_end = note.end_step
    if previous_end is not None and previous_end < num_steps:
        events[previous_end] = NOTE_OFF
    return events


def events_to_notes(
    events: Sequence[int] | np.ndarray, encoding: MelodyEncoding, *, velocity: int = DEFAULT_VELOCITY
) -> list[Note]:
    """Decode events back into notes, all with ``velocity``.

    >>> events_to_notes([14, 0, 0, 0, 16, 0, 1, 0], MelodyEncoding())
    [Note(pitch=60, start_step=0, end_step=4, velocity=100), Note(pitch=62, start_step=4, end_step=6, velocity=100)]
    """
    events = np.asarray(events)
    if events.ndim != 1:
        raise AtelierError(f"events of shape {tuple(events.shape)}: need one dimension (T,)")
    bad = (events < 0) | (events >= encoding.num_classes)
    if bad.any():
        raise AtelierError(
            f"event {int(events[bad][0])} at step {int(np.flatnonzero(bad)[0])}: "
            f"events must be in 0..{encoding.num_classes - 1} for this encoding"
        )
    notes: list[Note] = []
    pitch, start = -1, 0
    for step, event in enumerate(events.tolist()):
        if event == NO_EVENT:
            continue
        if pitch >= 0:
            notes.append(Note(pitch, start, step, velocity))
            pitch = -1
        if event >= FIRST_PITCH_EVENT:
            pitch, start = encoding.decode_pitch(event), step
    if pitch >= 0:
        notes.append(Note(pitch, start, len(events), velocity))
    return notes


def primer_events(primer: Sequence[int], encoding: MelodyEncoding) -> np.ndarray:
    """Encode a Magenta-style primer list: a pitch starts a note, -1 is NOTE_OFF, -2 is NO_EVENT.

    >>> primer_events([60, -2, 62, -1], MelodyEncoding()).tolist()
    [14, 0, 16, 1]
    """
    out = np.zeros(len(primer), dtype=np.int64)
    for i, value in enumerate(primer):
        value = int(value)
        if value == -2:
            out[i] = NO_EVENT
        elif value == -1:
            out[i] = NOTE_OFF
        elif encoding.contains(value):
            out[i] = encoding.encode_pitch(value)
        else:
            raise AtelierError(
                f"primer value {value} at position {i}: use a pitch in "
                f"{encoding.min_pitch}..{encoding.max_pitch}, -1 (note off) or -2 (hold)"
            )
    return out


def extract_monophonic(notes: Iterable[Note]) -> list[Note]:
    """Reduce notes to one line by the skyline rule: at each onset the highest pitch wins.

    A note that starts while a higher one sounds is dropped; a higher note that starts while a lower
    one sounds cuts it short (Uitdenbogerd & Zobel 1998, "Manipulation of music for melody matching").

    >>> extract_monophonic([Note(60, 0, 8), Note(64, 0, 4), Note(55, 2, 6), Note(67, 4, 8)])
    [Note(pitch=64, start_step=0, end_step=4, velocity=100), Note(pitch=67, start_step=4, end_step=8, velocity=100)]
    """
    line: list[Note] = []
    for note in sorted(notes, key=lambda n: (n.start_step, -n.pitch, -n.end_step)):
        if line:
            last = line[-1]
            if note.start_step == last.start_step:
                continue  # a lower (or equal) note at the same onset
            if note.start_step < last.end_step:
                if note.pitch <= last.pitch:
                    continue  # hidden under a higher sounding note
                line[-1] = replace(last, end_step=note.start_step)
        line.append(note)
    return line


@dataclass(frozen=True)
class Melody:
    """A monophonic melody on a step grid, with what is needed to play it back and to group it.

    ``notes`` are sorted and non-overlapping; ``num_steps`` is the length (including trailing rests).
    ``piece`` names the source work; train/validation splits group by it, so the four voices of one
    chorale never land on both sides.

    >>> m = Melody((Note(60, 0, 4), Note(64, 4, 8)), num_steps=16)
    >>> m.steps_per_bar, m.to_events(MelodyEncoding()).tolist()[:6]
    (16, [14, 0, 0, 0, 18, 0])
    """

    notes: tuple[Note, ...]
    num_steps: int
    steps_per_quarter: int = 4
    time_signature: tuple[int, int] = (4, 4)  # (numerator, denominator)
    qpm: float = 120.0  # quarter notes per minute, for playback
    program: int = 0  # General MIDI program for playback (0 = Acoustic Grand Piano)
    name: str = ""  # e.g. "bach/bwv269.mxl:Soprano"
    piece: str = field(default="", compare=False)  # e.g. "bach/bwv269.mxl"; defaults to name

    def __post_init__(self) -> None:
        object.__setattr__(self, "notes", tuple(self.notes))
        object.__setattr__(self, "time_signature", tuple(self.time_signature))
        if not self.piece:
            object.__setattr__(self, "piece", self.name)
        if self.steps_per_quarter < 1:
            raise AtelierError(f"steps_per_quarter {self.steps_per_quarter}: must be at least 1")
        steps_per_bar(self.time_signature, self.steps_per_quarter, what=self.name or "melody")
        if not 0 <= self.program <= 127:
            raise AtelierError(f"program {self.program}: must be a General MIDI program in 0..127")
        if not self.qpm > 0:
            raise AtelierError(f"qpm {self.qpm}: must be positive")
        previous_end = 0
        for note in self.notes:
            if note.start_step < previous_end:
                raise AtelierError(
                    f"melody {self.name!r}: note at step {note.start_step} overlaps the previous one; "
                    "a Melody is monophonic (see extract_monophonic)"
                )
            previous_end = note.end_step
        if previous_end > self.num_steps:
            raise AtelierError(
                f"melody {self.name!r}: num_steps {self.num_steps} is shorter than its notes ({previous_end})"
            )

    @property
    def steps_per_bar(self) -> int:
        return steps_per_bar(self.time_signature, self.steps_per_quarter)

    @property
    def seconds_per_step(self) -> float:
        return 60.0 / (self.qpm * self.steps_per_quarter)

    @property
    def duration_seconds(self) -> float:
        return self.num_steps * self.seconds_per_step

    @property
    def pitches(self) -> list[int]:
        return [n.pitch for n in self.notes]

    def to_events(self, encoding: MelodyEncoding) -> np.ndarray:
        """Events, int64 ``(num_steps,)``."""
        return notes_to_events(self.notes, encoding, self.num_steps)

    @classmethod
    def from_events(
        cls,
        events: Sequence[int] | np.ndarray,
        encoding: MelodyEncoding,
        *,
        velocity: int = DEFAULT_VELOCITY,
        **fields: Any,
    ) -> Melody:
        """Build a melody from events; ``fields`` are the other :class:`Melody` fields (qpm, name...).

        >>> Melody.from_events([14, 0, 1, 0], MelodyEncoding(), qpm=90).notes
        (Note(pitch=60, start_step=0, end_step=2, velocity=100),)
        """
        return cls(tuple(events_to_notes(events, encoding, velocity=velocity)), len(events), **fields)

    def transpose(self, semitones: int) -> Melody:
        """The same melody ``semitones`` higher (negative: lower)."""
        if semitones == 0:
            return self
        notes = tuple(Note(n.pitch + semitones, n.start_step, n.end_step, n.velocity) for n in self.notes)
        return replace(self, notes=notes)


def steps_per_bar(time_signature: tuple[int, int], steps_per_quarter: int = 4, *, what: str = "melody") -> int:
    """Steps in one bar: ``numerator * steps_per_quarter * 4 / denominator``.

    Any meter whose bar is a whole number of steps works (7/8 gives 14 sixteenths); others raise.

    >>> steps_per_bar((6, 8)), steps_per_bar((3, 4)), steps_per_bar((7, 8))
    (12, 12, 14)
    """
    numerator, denominator = time_signature
    quarters = 4 * steps_per_quarter * numerator
    if numerator < 1 or denominator < 1 or quarters % denominator:
        raise AtelierError(
            f"{what}: time signature {numerator}/{denominator} does not fill a whole number of "
            f"steps at {steps_per_quarter} per quarter; use a meter like 4/4, 3/4, 6/8 or 2/4"
        )
    return quarters // denominator
