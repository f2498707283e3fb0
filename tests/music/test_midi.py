import numpy as np
import pretty_midi
import pytest

from atelier.errors import AtelierError
from atelier.music.events import Melody, Note
from atelier.music.midi import (
    melody_to_pretty_midi,
    pretty_midi_to_melody,
    read_midi,
    read_score,
    write_midi,
    write_musicxml,
)
from tests.music.midifiles import M, Meta, bad_files, notes, write
from tests.music.test_events import random_melody


@pytest.mark.parametrize("time_signature", [(4, 4), (3, 4), (6, 8), (2, 4)])
def test_midi_file_round_trip_is_lossless(tmp_path, time_signature):
    rng = np.random.default_rng(sum(time_signature))
    line = tuple(random_melody(rng, 25))
    melody = Melody(line, num_steps=line[-1].end_step, time_signature=time_signature, qpm=93.5, program=73)
    path = write_midi(melody, tmp_path / "tune.mid")
    back = read_midi(path)
    assert back.notes == melody.notes  # pitch, timing and velocity
    assert (back.time_signature, back.qpm, back.program, back.num_steps) == (time_signature, 93.5, 73, melody.num_steps)
    assert back.steps_per_bar == melody.steps_per_bar


def test_pretty_midi_round_trip_and_timing():
    melody = Melody((Note(60, 0, 4, 90), Note(64, 6, 8, 70)), num_steps=8, qpm=60)
    pm = melody_to_pretty_midi(melody)
    first = pm.instruments[0].notes[0]
    assert (first.start, first.end, first.velocity) == (0.0, 1.0, 90)  # 4 sixteenths at 60 qpm = 1 s
    assert pretty_midi_to_melody(pm).notes == melody.notes


def test_polyphonic_file_gives_the_skyline_or_the_chosen_instrument_and_ignores_drums(tmp_path):
    path = tmp_path / "band.mid"
    bass = [M("program_change", channel=1, program=33, time=0)] + notes([(40, 960), (43, 960)], channel=1)
    lead = [Meta("track_name", name="Lead", time=0), M("program_change", channel=0, program=73, time=0)]
    lead += notes([(72, 480), (74, 480), (76, 960)])
    drums = notes([(81, 240)] * 8, channel=9)  # higher than the lead, but drums never count
    write(path, [lead, bass, drums])
    assert read_midi(path).pitches == [72, 74, 76]
    assert read_midi(path, instrument=1).pitches == [40, 43]
    assert read_midi(path, instrument="Lead").program == 73
    assert read_midi(path, instrument="Electric Bass (finger)").pitches == [40, 43]
    with pytest.raises(AtelierError, match=r"no instrument 'Banjo'; choose an index or name among: 0: Lead; 1: "):
        read_midi(path, instrument="Banjo")
    with pytest.raises(AtelierError, match="is a drum track; drums are ignored"):
        read_midi(path, instrument=2)


def test_quantises_to_sixteenths_and_merges_collisions(tmp_path):
    path = write(tmp_path / "loose.mid", [[
        M("note_on", note=60, velocity=80, time=10), M("note_off", note=60, time=470),  # ≈ a quarter, late
        M("note_on", note=62, velocity=80, time=0), M("note_off", note=62, time=20),  # shorter than 1/2 step
        M("note_on", note=64, velocity=80, time=0), M("note_off", note=64, time=460),
    ]])  # fmt: skip
    assert [(n.pitch, n.start_step, n.end_step) for n in read_midi(path).notes] == [(60, 0, 4), (64, 4, 8)]


@pytest.mark.parametrize(
    "kind,message",
    [
        ("empty", "empty or truncated"),
        ("corrupt", "cannot be read"),
        ("not midi", "not a MIDI file"),
        ("no notes", "no notes"),
        ("drums only", "drums only"),
        ("type 2", "type 2 .* is not supported"),
    ],
)
def test_bad_midi_files_raise_one_line_errors_naming_the_file(tmp_path, kind, message):
    path = bad_files(tmp_path)[kind]
    with pytest.raises(AtelierError, match=message) as info:
        read_midi(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(AtelierError, match="not found"):
        read_midi(tmp_path / "nope.mid")


def test_extreme_tempo_map_is_quantised_in_beats(tmp_path):
    track = [Meta("set_tempo", tempo=0, time=0)] + notes([(60, 480)])  # tempo 0: "infinitely fast"
    for i in range(500):  # then a tempo change on every tick, from 1 µs to 16.7 s per quarter
        track.append(Meta("set_tempo", tempo=1 + (i * 2654435761) % 16777214, time=0 if i == 0 else 1))
    track += [M("note_on", note=62, velocity=100, time=0), M("note_off", note=62, time=480)]  # from tick 979
    path = write(tmp_path / "tempo.mid", [track])
    melody = read_midi(path)
    assert [(n.pitch, n.start_step, n.end_step) for n in melody.notes] == [(60, 0, 4), (62, 8, 12)]
    assert 20 <= melody.qpm <= 400  # playback tempo clamped to something audible


def test_odd_meter_keeps_bars_by_numerator(tmp_path):
    track = [Meta("time_signature", numerator=7, denominator=8)] + notes([(60, 240)] * 7)
    melody = read_midi(write(tmp_path / "seven.mid", [track]))
    assert melody.time_signature == (7, 8) and melody.steps_per_bar == 14
    track = [Meta("time_signature", numerator=7, denominator=32)] + notes([(60, 240)])
    with pytest.raises(AtelierError, match="7/32 does not fill a whole number of steps"):
        read_midi(write(tmp_path / "seven32.mid", [track]))


def test_a_failed_write_leaves_nothing_behind(tmp_path, monkeypatch):
    melody = Melody((Note(60, 0, 4),), num_steps=4)
    target = write_midi(melody, tmp_path / "keep.mid")
    before = target.read_bytes()

    def broken_write(self, filename):
        with open(filename, "wb") as f:
            f.write(b"MThd half")
        raise OSError("disk full")

    monkeypatch.setattr(pretty_midi.PrettyMIDI, "write", broken_write)
    with pytest.raises(OSError, match="disk full"):
        write_midi(melody.transpose(2), target)
    with pytest.raises(OSError):
        write_midi(melody, tmp_path / "new.mid")
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.mid"]


def test_musicxml_export_reads_back(tmp_path):
    melody = Melody((Note(60, 0, 4), Note(62, 4, 9), Note(67, 12, 16)), num_steps=16, time_signature=(4, 4), qpm=100)
    for name in ("m.musicxml", "m.mxl"):
        back = read_score(write_musicxml(melody, tmp_path / name))[0]
        assert back.notes == melody.notes  # the 5-step note is written as tied notes and read back whole
        assert (back.time_signature, back.qpm) == ((4, 4), 100)
    with pytest.raises(AtelierError, match="unsupported extension '.pdf'"):
        write_musicxml(melody, tmp_path / "m.pdf")


def test_abc_file_with_several_tunes_and_a_pickup(tmp_path):
    path = tmp_path / "tunes.abc"
    path.write_text(
        "X:1\nT:One\nM:3/4\nL:1/4\nK:C\nG | c d e | f2 z |]\n\n"
        "X:2\nT:Two\nM:6/8\nL:1/8\nK:G\nGAB cde | d3 B3 |]\n"
    )
    one, two = read_score(path)
    assert (one.name, one.time_signature, two.time_signature) == ("tunes.abc#1", (3, 4), (6, 8))
    # the pickup G4 is moved to the end of an (empty) first bar: the downbeat C5 lands on step 12
    assert [(n.pitch, n.start_step) for n in one.notes[:2]] == [(67, 8), (72, 12)]
    assert two.pitches[:3] == [67, 69, 71]


def test_unreadable_score(tmp_path):
    path = tmp_path / "bad.musicxml"
    path.write_text("<score-partwise><part id='P1'><measure><note><pitch>")
    with pytest.raises(AtelierError, match="music21 cannot read it"):
        read_score(path)


def test_notes_shorter_than_half_a_step_everywhere(tmp_path):
    path = write(tmp_path / "tiny.mid", [notes([(60, 10), (62, 10)])])
    with pytest.raises(AtelierError, match="shorter than half a step"):
        read_midi(path)
