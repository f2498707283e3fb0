"""Melodies in and out of files: MIDI (read and write), MusicXML / ABC / Humdrum (read, via music21),
MusicXML (write, via music21), and pretty_midi objects.

Reading quantises onsets and offsets to the nearest step (16th note by default) and reduces
polyphony to one line: the highest voice (skyline), or one instrument you choose. Drums are ignored.

How awkward input is handled:

* a missing, empty, truncated or corrupt file, a file with no pitched notes, or drums only: an
  :class:`~atelier.errors.AtelierError` naming the file;
* a type-2 MIDI file (independent sequences, not meant to sound together): refused with an error;
* tempo: quantisation works in beats (MIDI ticks), so any tempo map, however extreme, gives the same
  steps; the melody keeps the first tempo for playback, clamped to 20..400 quarter notes per minute;
* time signature: the first one sets the bar length, ``numerator * 16 / denominator`` sixteenths
  (7/8 → 14 steps; later changes are reported to the corpus loader, which drops such pieces);
  a meter whose bar is not a whole number of steps (e.g. 7/32 at 16ths) raises;
* notes shorter than half a step vanish on the grid; notes that round onto the same onset keep the
  highest.

Writes go to a temporary file that is renamed into place: an interrupted write leaves nothing behind.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import warnings
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from atelier.errors import AtelierError
from atelier.io import atomic_write
from atelier.music.events import DEFAULT_VELOCITY, Melody, Note, extract_monophonic

if TYPE_CHECKING:
    import pretty_midi

MIDI_EXTENSIONS = (".mid", ".midi")
SCORE_EXTENSIONS = (".xml", ".musicxml", ".mxl", ".abc", ".krn")  # read through music21
MUSICXML_WRITE_FORMATS = {".musicxml": "musicxml", ".xml": "musicxml", ".mxl": "mxl"}
DRUM_CHANNEL = 9  # General MIDI channel 10, counted from 0
MIN_QPM, MAX_QPM = 20.0, 400.0
DEFAULT_RESOLUTION = 480  # ticks per quarter when writing: divisible by 2, 3, 4, 5, 6, 8, 16
METADATA_PREFIX = "atelier "  # a text meta event starting so holds the recipe's JSON
MUSICXML_METADATA_FIELD = "atelier"  # the <miscellaneous-field> holding the recipe's JSON


Meter = tuple[int, int]


@dataclass(frozen=True)
class ParsedPart:
    """One monophonic line read from a file, with every meter that occurs in it (for filtering)."""

    melody: Melody
    meters: tuple[Meter, ...]  # distinct time signatures in order of appearance; () if none given
    part: str = ""  # the part's name in a score ("Soprano"); "" for MIDI


# ---------------------------------------------------------------------------------------------
# Quantisation shared by every reader: ticks (or quarter notes) → steps → one monophonic line.


def _quantise(
    starts: np.ndarray, ends: np.ndarray, pitches: np.ndarray, velocities: np.ndarray, *, scale: float
) -> list[Note]:
    """Notes on the step grid; ``scale`` is steps per input unit (ticks or quarter notes)."""
    start_steps = np.floor(np.asarray(starts, dtype=np.float64) * scale + 0.5).astype(np.int64)
    end_steps = np.floor(np.asarray(ends, dtype=np.float64) * scale + 0.5).astype(np.int64)
    keep = end_steps > start_steps  # shorter than half a step: gone on this grid
    notes = [
        Note(int(p), int(s), int(e), int(min(max(v, 1), 127)))
        for p, s, e, v in zip(pitches[keep], start_steps[keep], end_steps[keep], velocities[keep], strict=True)
    ]
    return extract_monophonic(notes)


def _qpm(value: float | None) -> float:
    if value is None or not math.isfinite(value):
        return 120.0
    # MIDI stores whole microseconds per quarter: round so that 90 qpm reads back as 90, not 90.00009
    return round(float(min(max(value, MIN_QPM), MAX_QPM)), 2)


def _meters(raw: Sequence[Meter]) -> tuple[Meter, ...]:
    return tuple(dict.fromkeys(raw))  # distinct, in order of appearance


# ---------------------------------------------------------------------------------------------
# MIDI files, read with mido (pure Python: a corrupt file raises instead of crashing the process).


@dataclass
class _MidiTrack:
    """Notes of one (track, channel, program) group, in ticks, like a pretty_midi Instrument."""

    track: int
    channel: int
    program: int
    name: str
    notes: list[tuple[int, int, int, int]]  # (start_tick, end_tick, pitch, velocity)

    @property
    def is_drum(self) -> bool:
        return self.channel == DRUM_CHANNEL

    def describe(self, index: int) -> str:
        import pretty_midi

        label = self.name or pretty_midi.program_to_instrument_name(self.program)
        return f"{index}: {label}" + (" (drums)" if self.is_drum else "")


def _read_midi_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise AtelierError(f"MIDI file {path}: not found")
    data = path.read_bytes()
    if len(data) < 14:
        raise AtelierError(f"MIDI file {path}: empty or truncated ({len(data)} bytes)")
    if data[:4] != b"MThd":
        raise AtelierError(f"MIDI file {path}: not a MIDI file (no MThd header)")
    if int.from_bytes(data[8:10], "big") == 2:
        raise AtelierError(
            f"MIDI file {path}: type 2 (independent sequences) is not supported; "
            "save it as type 0 or 1"
        )
    return data


def _midi_tracks(path: Path) -> tuple[list[_MidiTrack], int, list[Meter], float | None]:
    """All note groups of a MIDI file, its ticks per quarter, time signatures and first tempo."""
    import mido

    data = _read_midi_bytes(path)
    try:
        mid = mido.MidiFile(file=io.BytesIO(data))
    except Exception as error:  # mido raises OSError, EOFError, ValueError, IndexError, ...
        detail = " ".join(str(error).split()) or type(error).__name__
        raise AtelierError(f"MIDI file {path}: cannot be read ({detail})") from None
    if mid.ticks_per_beat <= 0:
        raise AtelierError(f"MIDI file {path}: SMPTE time division is not supported; use ticks per beat")

    groups: dict[tuple[int, int, int], _MidiTrack] = {}
    meters: list[tuple[int, Meter]] = []
    tempos: list[tuple[int, float]] = []
    for track_index, track in enumerate(mid.tracks):
        tick, name = 0, ""
        programs = defaultdict(int)  # channel → current program
        sounding: dict[tuple[int, int], list[tuple[int, int, int]]] = defaultdict(list)  # (ch, pitch) →
        for msg in track:
            tick += msg.time
            if msg.type == "track_name":
                name = msg.name.strip()
            elif msg.type == "time_signature":
                meters.append((tick, (msg.numerator, msg.denominator)))
            elif msg.type == "set_tempo":
                tempos.append((tick, mido.tempo2bpm(msg.tempo) if msg.tempo > 0 else math.inf))
            elif msg.type == "program_change":
                programs[msg.channel] = msg.program
            elif msg.type == "note_on" and msg.velocity > 0:
                sounding[(msg.channel, msg.note)].append((tick, msg.velocity, programs[msg.channel]))
            elif msg.type in ("note_off", "note_on"):
                starts = sounding.get((msg.channel, msg.note))
                if starts:
                    start, velocity, program = starts.pop(0)  # first in, first out
                    key = (track_index, msg.channel, program)
                    group = groups.get(key)
                    if group is None:
                        group = groups[key] = _MidiTrack(track_index, msg.channel, key[2], name, [])
                    if tick > start:
                        group.notes.append((start, tick, msg.note, velocity))
    meters.sort(key=lambda item: item[0])
    tempos.sort(key=lambda item: item[0])
    tracks = [g for g in groups.values() if g.notes]
    return tracks, mid.ticks_per_beat, [m for _, m in meters], (tempos[0][1] if tempos else None)


def _select_tracks(tracks: list[_MidiTrack], instrument: int | str | None, what: str) -> list[_MidiTrack]:
    if instrument is None:
        return tracks
    labels = [t.describe(i) for i, t in enumerate(tracks)]
    if isinstance(instrument, int):
        chosen = [tracks[instrument]] if 0 <= instrument < len(tracks) else []
    else:
        import pretty_midi

        wanted = instrument.strip().lower()
        chosen = [
            t
            for t in tracks
            if wanted in (t.name.lower(), pretty_midi.program_to_instrument_name(t.program).lower())
        ]
    if not chosen:
        raise AtelierError(
            f"{what}: no instrument {instrument!r}; choose an index or name among: {'; '.join(labels)}"
        )
    if all(t.is_drum for t in chosen):
        raise AtelierError(f"{what}: instrument {instrument!r} is a drum track; drums are ignored")
    return [t for t in chosen if not t.is_drum]


def _part_from_ticks(
    tracks: list[_MidiTrack],
    ticks_per_quarter: int,
    meters: list[Meter],
    qpm: float | None,
    *,
    steps_per_quarter: int,
    name: str,
    what: str,
) -> ParsedPart:
    pitched = [t for t in tracks if not t.is_drum]
    if not pitched:
        raise AtelierError(f"{what}: no pitched notes (drums only); a melody needs a pitched instrument")
    rows = np.array([n for t in pitched for n in t.notes], dtype=np.int64).reshape(-1, 4)
    notes = _quantise(rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3], scale=steps_per_quarter / ticks_per_quarter)
    if not notes:
        raise AtelierError(f"{what}: every note is shorter than half a step; nothing left on the grid")
    melody = Melody(
        tuple(notes),
        num_steps=notes[-1].end_step,
        steps_per_quarter=steps_per_quarter,
        time_signature=meters[0] if meters else (4, 4),
        qpm=_qpm(qpm),
        program=pitched[0].program,
        name=name,
    )
    return ParsedPart(melody, _meters(meters))


def _parse_midi(path: Path, *, steps_per_quarter: int, instrument: int | str | None, name: str) -> ParsedPart:
    tracks, ticks_per_quarter, meters, qpm = _midi_tracks(path)
    if not tracks:
        raise AtelierError(f"MIDI file {path}: no notes")
    return _part_from_ticks(
        _select_tracks(tracks, instrument, f"MIDI file {path}"), ticks_per_quarter, meters, qpm,
        steps_per_quarter=steps_per_quarter, name=name, what=f"MIDI file {path}",
    )  # fmt: skip


def read_midi(
    path: str | os.PathLike, *, steps_per_quarter: int = 4, instrument: int | str | None = None
) -> Melody:
    """Read one monophonic melody from a MIDI file.

    ``instrument``: ``None`` takes the highest voice over all pitched instruments (skyline); an int
    picks the instrument by index, a string by track name or General MIDI name ("Flute").

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "a.mid")
    >>> _ = write_midi(Melody((Note(60, 0, 4), Note(67, 4, 8)), num_steps=8), path)
    >>> read_midi(path).pitches
    [60, 67]
    """
    path = Path(path)
    return _parse_midi(path, steps_per_quarter=steps_per_quarter, instrument=instrument, name=path.name).melody


def melody_to_pretty_midi(
    melody: Melody, *, program: int | None = None, qpm: float | None = None, resolution: int = DEFAULT_RESOLUTION
) -> pretty_midi.PrettyMIDI:
    """A pretty_midi object with one instrument playing ``melody``, with its tempo and meter.

    >>> pm = melody_to_pretty_midi(Melody((Note(60, 0, 4),), num_steps=4), qpm=60)
    >>> pm.instruments[0].notes[0].end
    1.0
    """
    import pretty_midi

    program = melody.program if program is None else program
    qpm = melody.qpm if qpm is None else qpm
    if not 0 <= program <= 127:
        raise AtelierError(f"program {program}: must be a General MIDI program in 0..127")
    if not qpm > 0:
        raise AtelierError(f"qpm {qpm}: must be positive")
    pm = pretty_midi.PrettyMIDI(resolution=resolution, initial_tempo=qpm)
    numerator, denominator = melody.time_signature
    pm.time_signature_changes.append(pretty_midi.TimeSignature(numerator, denominator, 0.0))
    instrument = pretty_midi.Instrument(program=program, name=melody.name[:64])
    seconds = 60.0 / (qpm * melody.steps_per_quarter)
    for note in melody.notes:
        instrument.notes.append(
            pretty_midi.Note(note.velocity, note.pitch, note.start_step * seconds, note.end_step * seconds)
        )
    pm.instruments.append(instrument)
    return pm


def pretty_midi_to_melody(
    pm: pretty_midi.PrettyMIDI,
    *,
    steps_per_quarter: int = 4,
    instrument: int | str | None = None,
    name: str = "",
) -> Melody:
    """Quantise a pretty_midi object to one monophonic melody (skyline, or one ``instrument``).

    >>> pm = melody_to_pretty_midi(Melody((Note(60, 0, 4), Note(64, 6, 8)), num_steps=8))
    >>> pretty_midi_to_melody(pm).notes[1]
    Note(pitch=64, start_step=6, end_step=8, velocity=100)
    """
    tracks = [
        _MidiTrack(
            i, DRUM_CHANNEL if inst.is_drum else 0, inst.program, inst.name,
            [(pm.time_to_tick(n.start), pm.time_to_tick(n.end), n.pitch, n.velocity) for n in inst.notes],
        )  # fmt: skip
        for i, inst in enumerate(pm.instruments)
    ]
    tracks = [t for t in tracks if t.notes]
    what = f"pretty_midi object {name!r}" if name else "pretty_midi object"
    if not tracks:
        raise AtelierError(f"{what}: no notes")
    meters = [(ts.numerator, ts.denominator) for ts in pm.time_signature_changes]
    _, tempi = pm.get_tempo_changes()
    part = _part_from_ticks(
        _select_tracks(tracks, instrument, what), pm.resolution, meters,
        float(tempi[0]) if len(tempi) else None,
        steps_per_quarter=steps_per_quarter, name=name, what=what,
    )  # fmt: skip
    return part.melody


def write_midi(
    melody: Melody,
    path: str | os.PathLike,
    *,
    program: int | None = None,
    qpm: float | None = None,
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Write ``melody`` as a MIDI file (type 1) atomically; ``program`` / ``qpm`` override the melody's.
    ``metadata`` (a recipe) goes into a text meta event at the start of the first track, where
    :func:`read_midi_metadata` finds it; players ignore it.

    >>> import tempfile, os
    >>> p = write_midi(Melody((Note(60, 0, 4),), num_steps=4), os.path.join(tempfile.mkdtemp(), "m.mid"), program=73,
    ...                metadata={"seed": 3})
    >>> p.name, read_midi_metadata(p)
    ('m.mid', {'seed': 3})
    """
    pm = melody_to_pretty_midi(melody, program=program, qpm=qpm)
    if not metadata:
        return atomic_write(path, pm.write)
    import mido

    buffer = io.BytesIO()
    pm.write(buffer)
    mid = mido.MidiFile(file=io.BytesIO(buffer.getvalue()))
    # ASCII JSON (json's default) fits the text event's latin-1 bytes unchanged.
    text = METADATA_PREFIX + json.dumps(metadata, sort_keys=True, default=str)
    mid.tracks[0].insert(0, mido.MetaMessage("text", text=text, time=0))
    return atomic_write(path, mid.save)


def read_midi_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata :func:`write_midi` embedded, or ``{}``; an unreadable file is an error."""
    import mido

    path = Path(path)
    try:
        mid = mido.MidiFile(file=io.BytesIO(_read_midi_bytes(path)))
    except AtelierError:
        raise
    except Exception as error:  # mido raises OSError, EOFError, ValueError, IndexError, ...
        raise AtelierError(f"MIDI file {path}: cannot be read ({' '.join(str(error).split())})") from None
    for track in mid.tracks:
        for msg in track:
            if msg.type == "text" and msg.text.startswith(METADATA_PREFIX):
                return json.loads(msg.text[len(METADATA_PREFIX):])
    return {}


# ---------------------------------------------------------------------------------------------
# MusicXML, ABC and Humdrum through music21.


def _score_parts(
    score: Any, *, steps_per_quarter: int, name: str, parts: Sequence[str | int] | None = None
) -> list[ParsedPart]:
    """One monophonic line per pitched part of a music21 score (skyline within each part)."""
    from music21 import chord, instrument, meter, note, stream, tempo

    marks = list(score.recurse().getElementsByClass(tempo.MetronomeMark))
    qpm = marks[0].getQuarterBPM() if marks else None
    score_parts = list(score.parts) or [score]
    out: list[ParsedPart] = []
    for index, part in enumerate(score_parts):
        label = part.partName or (part.id if isinstance(part.id, str) else "") or f"part{index}"
        if parts is not None and label not in parts and index not in parts:
            continue
        inst = part.getInstrument(returnDefault=True)
        if isinstance(inst, instrument.UnpitchedPercussion):
            continue
        # A pickup bar starts at offset 0 in music21; shift it right so downbeats fall on bar lines.
        first = part.getElementsByClass(stream.Measure).first()
        shift = float(first.paddingLeft) if first is not None else 0.0
        rows = []
        for element in part.stripTies().flatten().notes:
            if isinstance(element, note.Note):
                pitch = element.pitch.midi
            elif isinstance(element, chord.Chord) and element.pitches:
                pitch = max(p.midi for p in element.pitches)
            else:
                continue  # unpitched percussion
            length = float(element.quarterLength)
            if length <= 0:
                continue  # grace notes
            velocity = element.volume.velocity  # None unless the file gives dynamics
            start = float(element.offset) + shift
            rows.append((start, start + length, pitch, velocity or DEFAULT_VELOCITY))
        if not rows:
            continue
        table = np.array(rows, dtype=np.float64)
        notes = _quantise(table[:, 0], table[:, 1], table[:, 2].astype(np.int64), table[:, 3].astype(np.int64), scale=steps_per_quarter)
        if not notes:
            continue
        meters = [
            (ts.numerator, ts.denominator) for ts in part.recurse().getElementsByClass(meter.TimeSignature)
        ]
        total = int(math.ceil((float(part.highestTime) + shift) * steps_per_quarter - 1e-9))
        melody = Melody(
            tuple(notes),
            num_steps=max(total, notes[-1].end_step),
            steps_per_quarter=steps_per_quarter,
            time_signature=meters[0] if meters else (4, 4),
            qpm=_qpm(qpm),
            program=inst.midiProgram or 0,
            name=f"{name}:{label}" if len(score_parts) > 1 else name,
            piece=name,
        )
        out.append(ParsedPart(melody, _meters(meters), label))
    return out


def _abc_tunes(text: str) -> list[tuple[str, str]]:
    """Split an ABC file into ``(X number, tune text)``; the file header is kept on every tune."""
    chunks = re.split(r"(?m)^(?=X:)", text)
    header, tunes = chunks[0], chunks[1:]
    out = []
    for tune in tunes:
        number = tune[2 : tune.find("\n")].strip() if "\n" in tune else tune[2:].strip()
        out.append((number, header + tune))
    return out


def _music21_error(what: str, error: Exception) -> AtelierError:
    detail = " ".join(str(error).split())[:200] or type(error).__name__
    return AtelierError(f"{what}: music21 cannot read it ({detail})")


def _parse_music21(
    path: Path,
    *,
    steps_per_quarter: int,
    parts: Sequence[str | int] | None,
    name: str,
    max_tunes: int | None = None,
    on_tune: Callable[[], object] | None = None,
) -> tuple[list[ParsedPart], list[tuple[str, str]]]:
    """Parse a score file (MusicXML, Humdrum, ABC with one or many tunes) into monophonic parts.

    Returns the parts and, for ABC files, the tunes that failed as ``(name, reason)``: one broken
    tune does not lose the other few hundred in its file. ``on_tune`` is called after each tune of
    an ABC file, read or not (a progress bar's tick: one file can hold a thousand tunes).
    """
    from music21 import converter

    if not path.is_file():
        raise AtelierError(f"score file {path}: not found")
    if path.suffix.lower() != ".abc":
        try:
            score = converter.parse(str(path), forceSource=True)  # forceSource: music21 writes no pickle
            found = _score_parts(score, steps_per_quarter=steps_per_quarter, name=name, parts=parts)
        except AtelierError:
            raise
        except Exception as error:  # music21 raises many kinds on malformed files
            raise _music21_error(f"score file {path}", error) from None
        return found, []
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    tunes = _abc_tunes(text)[:max_tunes]
    if not tunes:
        raise AtelierError(f"ABC file {path}: no tunes (no 'X:' lines)")
    out: list[ParsedPart] = []
    failed: list[tuple[str, str]] = []
    for number, tune in tunes:
        tune_name = f"{name}#{number}"
        try:
            score = converter.parseData(tune, format="abc")
            found = _score_parts(score, steps_per_quarter=steps_per_quarter, name=tune_name, parts=parts)
        except AtelierError as error:
            found, reason = [], str(error)
        except Exception as error:
            found, reason = [], str(_music21_error(f"tune {tune_name}", error))
        else:
            reason = f"tune {tune_name}: no pitched notes"
        if found:
            out += found
        else:
            failed.append((tune_name, reason))
        if on_tune is not None:
            on_tune()
    return out, failed


def count_tunes(path: Path) -> int:
    """How many pieces a file holds: the tunes of an ABC file (its ``X:`` lines), else one."""
    if path.suffix.lower() != ".abc":
        return 1
    try:
        return max(1, len(re.findall(rb"(?m)^X:", path.read_bytes())))
    except OSError:  # the parse will say what is wrong with it
        return 1


def read_score(
    path: str | os.PathLike, *, steps_per_quarter: int = 4, parts: Sequence[str | int] | None = None
) -> list[Melody]:
    """Read a MusicXML, ABC or Humdrum file through music21: one melody per pitched part (per tune).

    ``parts`` keeps only parts with those names or indices (e.g. ``["Soprano"]``). Chords are reduced
    to their top note; a pickup bar is shifted so that bar lines fall on multiples of the bar length.
    In an ABC file with many tunes, tunes music21 cannot read are skipped with a warning.

    >>> from music21 import corpus
    >>> melodies = read_score(corpus.getWork("bach/bwv269", fileExtensions=(".mxl",)), parts=["Soprano"])
    >>> melodies[0].time_signature, melodies[0].pitches[:4]
    ((3, 4), [67, 67, 74, 71])
    """
    path = Path(path)
    found, failed = _parse_music21(path, steps_per_quarter=steps_per_quarter, parts=parts, name=path.name)
    if not found:
        if failed:
            raise AtelierError(failed[0][1])
        raise AtelierError(f"score file {path}: no pitched notes" + (f" in parts {list(parts)}" if parts else ""))
    if failed:
        warnings.warn(f"{path}: skipped {len(failed)} unreadable tunes, e.g. {failed[0][1]}", stacklevel=2)
    return [p.melody for p in found]


def melody_to_music21(melody: Melody) -> Any:
    """A music21 ``Score`` with one part: notes, rests, meter, tempo and instrument.

    >>> s = melody_to_music21(Melody((Note(60, 0, 4), Note(62, 8, 12)), num_steps=16))
    >>> [n.nameWithOctave for n in s.flatten().notes]
    ['C4', 'D4']
    """
    from music21 import instrument, meter, note, stream, tempo

    quarter = 1.0 / melody.steps_per_quarter
    part = stream.Part(id=melody.name or "melody")
    part.insert(0, instrument.instrumentFromMidiProgram(melody.program))
    part.insert(0, meter.TimeSignature(f"{melody.time_signature[0]}/{melody.time_signature[1]}"))
    part.insert(0, tempo.MetronomeMark(number=melody.qpm, referent=1.0))
    position = 0
    for n in melody.notes:
        if n.start_step > position:
            part.append(note.Rest(quarterLength=(n.start_step - position) * quarter))
        element = note.Note(n.pitch, quarterLength=n.duration * quarter)
        element.volume.velocity = n.velocity
        part.append(element)
        position = n.end_step
    if melody.num_steps > position:
        part.append(note.Rest(quarterLength=(melody.num_steps - position) * quarter))
    score = stream.Score([part])
    return score.makeNotation()


def write_musicxml(melody: Melody, path: str | os.PathLike, *, metadata: dict[str, Any] | None = None) -> Path:
    """Write ``melody`` as MusicXML (``.musicxml``/``.xml``, or compressed ``.mxl``) atomically.
    ``metadata`` (a recipe) goes into ``<identification><miscellaneous><miscellaneous-field
    name="atelier">`` as JSON, where :func:`read_musicxml_metadata` finds it; notation programs ignore it.

    >>> import tempfile, os
    >>> p = write_musicxml(Melody((Note(60, 0, 4),), num_steps=16), os.path.join(tempfile.mkdtemp(), "m.musicxml"),
    ...                    metadata={"seed": 3})
    >>> read_score(p)[0].pitches, read_musicxml_metadata(p)
    ([60], {'seed': 3})
    """
    path = Path(path)
    fmt = MUSICXML_WRITE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise AtelierError(
            f"output {path}: unsupported extension {path.suffix or '(none)'!r}; "
            f"choose one of: {', '.join(MUSICXML_WRITE_FORMATS)}"
        )
    score = melody_to_music21(melody)
    if metadata:
        from music21 import metadata as m21_metadata

        score.metadata = score.metadata or m21_metadata.Metadata()
        score.metadata.addCustom(MUSICXML_METADATA_FIELD, json.dumps(metadata, sort_keys=True, default=str))
    return atomic_write(path, lambda tmp: score.write(fmt, fp=tmp))


def read_musicxml_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata :func:`write_musicxml` embedded (in ``.musicxml``, ``.xml`` or ``.mxl``), or ``{}``;
    an unreadable file is an error."""
    import xml.etree.ElementTree as ET
    import zipfile

    path = Path(path)
    try:
        if zipfile.is_zipfile(path):  # .mxl: the score is the first XML file outside META-INF
            with zipfile.ZipFile(path) as archive:
                name = next((n for n in archive.namelist() if n.endswith((".xml", ".musicxml"))
                             and not n.startswith("META-INF/")), None)
                if name is None:
                    raise AtelierError(f"MusicXML file {path}: no score inside the archive")
                root = ET.fromstring(archive.read(name))
        else:
            root = ET.parse(path).getroot()
    except (ET.ParseError, zipfile.BadZipFile, OSError) as error:
        raise AtelierError(f"MusicXML file {path}: cannot be read ({error})") from None
    for field in root.iterfind("identification/miscellaneous/miscellaneous-field"):
        if field.get("name") == MUSICXML_METADATA_FIELD:
            return json.loads(field.text or "{}")
    return {}
