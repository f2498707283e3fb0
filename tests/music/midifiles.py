"""Small MIDI files built with mido, good and bad, for the reader and loader tests."""

from pathlib import Path

import mido

M, Meta = mido.Message, mido.MetaMessage


def write(path: Path, tracks: list[list], *, type: int = 1, ticks_per_beat: int = 480) -> Path:
    mid = mido.MidiFile(type=type, ticks_per_beat=ticks_per_beat)
    for messages in tracks:
        mid.tracks.append(mido.MidiTrack(messages))
    mid.save(path)
    return path


def notes(pitches_and_lengths: list[tuple[int, int]], *, channel: int = 0, velocity: int = 100) -> list:
    """note_on / note_off messages for consecutive notes; lengths in ticks."""
    out = []
    for pitch, length in pitches_and_lengths:
        out.append(M("note_on", channel=channel, note=pitch, velocity=velocity, time=0))
        out.append(M("note_off", channel=channel, note=pitch, velocity=0, time=length))
    return out


def bad_files(folder: Path) -> dict[str, Path]:
    """One file per kind of bad input, keyed by what is wrong with it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.mid").write_bytes(b"")
    (folder / "corrupt.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0MTrk\xff\xff")
    (folder / "text.mid").write_bytes(b"this is not a MIDI file at all")
    return {
        "empty": folder / "empty.mid",
        "corrupt": folder / "corrupt.mid",
        "not midi": folder / "text.mid",
        "no notes": write(folder / "no_notes.mid", [[Meta("set_tempo", tempo=500000), Meta("end_of_track")]]),
        "drums only": write(folder / "drums.mid", [notes([(36, 240), (38, 240)], channel=9)]),
        "type 2": write(folder / "type2.mid", [notes([(60, 480)]), notes([(64, 480)])], type=2),
    }
