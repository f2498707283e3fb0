import numpy as np
import pytest

from atelier.errors import AtelierError
from atelier.music.events import (
    ENCODINGS,
    NO_EVENT,
    NOTE_OFF,
    Melody,
    MelodyEncoding,
    Note,
    events_to_notes,
    extract_monophonic,
    notes_to_events,
    primer_events,
    steps_per_bar,
)

ENC = MelodyEncoding()  # 48..83, Magenta's melody RNN range


def random_melody(rng: np.random.Generator, num_notes: int = 30) -> list[Note]:
    """Monophonic notes with random rests, lengths and velocities, all inside ENC."""
    notes, step = [], 0
    for _ in range(num_notes):
        step += int(rng.integers(0, 3))  # a rest of 0..2 steps
        length = int(rng.integers(1, 9))
        notes.append(Note(int(rng.integers(48, 84)), step, step + length, int(rng.integers(1, 128))))
        step += length
    return notes


def test_magenta_layout_of_the_vocabulary():
    assert (NO_EVENT, NOTE_OFF) == (0, 1)
    assert ENC.num_classes == 38 and ENCODINGS["melody-rnn"] == ENC
    assert ENCODINGS["music-vae"].num_classes == 90
    # C4 for a quarter, a quarter rest, then D4 to the end: no NOTE_OFF needed at the end
    events = notes_to_events([Note(60, 0, 4), Note(62, 8, 12)], ENC, num_steps=12)
    assert events.tolist() == [14, 0, 0, 0, 1, 0, 0, 0, 16, 0, 0, 0]
    assert events.dtype == np.int64


@pytest.mark.parametrize("seed", range(5))
def test_notes_events_notes_is_lossless_for_pitch_and_timing(seed):
    notes = random_melody(np.random.default_rng(seed))
    events = notes_to_events(notes, ENC, num_steps=notes[-1].end_step + 5)
    back = events_to_notes(events, ENC, velocity=100)
    assert [(n.pitch, n.start_step, n.end_step) for n in back] == [(n.pitch, n.start_step, n.end_step) for n in notes]
    # and events → notes → events is the identity on encoded melodies
    assert np.array_equal(notes_to_events(back, ENC, num_steps=len(events)), events)


def test_melody_round_trip_through_events_keeps_the_melody():
    melody = Melody(tuple(random_melody(np.random.default_rng(7), 12)), num_steps=120, name="m")
    same_velocity = Melody(tuple(Note(n.pitch, n.start_step, n.end_step) for n in melody.notes), 120, name="m")
    assert Melody.from_events(melody.to_events(ENC), ENC, name="m") == same_velocity


def test_out_of_range_pitch_names_the_pitch_and_the_range():
    with pytest.raises(AtelierError, match=r"pitch 40 is outside the encoding's range 48\.\.83"):
        notes_to_events([Note(40, 0, 4)], ENC)


def test_overlapping_notes_are_refused_by_the_encoder():
    with pytest.raises(AtelierError, match="monophonic"):
        notes_to_events([Note(60, 0, 4), Note(64, 2, 6)], ENC)


def test_bad_events_are_refused():
    with pytest.raises(AtelierError, match=r"event 38 at step 1: events must be in 0\.\.37"):
        events_to_notes([14, 38], ENC)
    with pytest.raises(AtelierError, match="one dimension"):
        events_to_notes(np.zeros((2, 3), dtype=np.int64), ENC)


def test_primer_encoding_and_out_of_range_primer():
    assert primer_events([60, -2, -2, -1, 72], ENC).tolist() == [14, 0, 0, 1, 26]
    with pytest.raises(AtelierError, match=r"primer value 30 at position 1: use a pitch in 48\.\.83"):
        primer_events([60, 30], ENC)


def test_skyline_keeps_the_highest_voice():
    chord_then_melody = [Note(48, 0, 16), Note(52, 0, 16), Note(72, 0, 4), Note(74, 4, 8), Note(55, 6, 10)]
    line = extract_monophonic(chord_then_melody)
    assert [(n.pitch, n.start_step, n.end_step) for n in line] == [(72, 0, 4), (74, 4, 8)]
    # a higher note entering over a lower sustained one cuts it
    line = extract_monophonic([Note(60, 0, 8), Note(67, 4, 6)])
    assert [(n.pitch, n.start_step, n.end_step) for n in line] == [(60, 0, 4), (67, 4, 6)]


def test_melody_checks_its_invariants():
    with pytest.raises(AtelierError, match="monophonic"):
        Melody((Note(60, 0, 4), Note(62, 3, 5)), num_steps=8)
    with pytest.raises(AtelierError, match="shorter than its notes"):
        Melody((Note(60, 0, 4),), num_steps=2)
    with pytest.raises(AtelierError, match="0 <= start_step < end_step"):
        Note(60, 4, 4)
    with pytest.raises(AtelierError, match=r"velocity 0: must be in 1\.\.127"):
        Note(60, 0, 1, velocity=0)


def test_steps_per_bar_follows_the_time_signature():
    assert [steps_per_bar(ts) for ts in [(4, 4), (3, 4), (6, 8), (2, 4), (7, 8)]] == [16, 12, 12, 8, 14]
    assert Melody((Note(60, 0, 4),), num_steps=14, time_signature=(7, 8)).steps_per_bar == 14
    with pytest.raises(AtelierError, match="7/32 does not fill a whole number of steps"):
        Melody((Note(60, 0, 4),), num_steps=8, time_signature=(7, 32))


def test_transpose_and_encoding_validation():
    melody = Melody((Note(60, 0, 4),), num_steps=4)
    assert melody.transpose(-5).pitches == [55]
    with pytest.raises(AtelierError, match="need 0 <= min_pitch <= max_pitch <= 127"):
        MelodyEncoding(80, 60)
