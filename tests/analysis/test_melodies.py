"""Melody analysis on hand-made melodies whose answers are known."""

from __future__ import annotations

import json

import numpy as np
import pytest

from atelier.analysis.melodies import (
    KEY_PROFILES, KeyEstimate, analyze_melody, find_key, keys_over_windows, metrical_weights, self_similarity,
    syncopation,
)
from atelier.analysis.melody_report import write_melody_report
from atelier.errors import AtelierError
from atelier.music.events import Melody, Note


def line(pitches, *, length=4, **fields) -> Melody:
    """Notes of ``length`` steps each, one after another."""
    notes = tuple(Note(p, length * i, length * (i + 1)) for i, p in enumerate(pitches))
    return Melody(notes, num_steps=length * len(notes), **fields)


def bars(*contents, steps=16, **fields) -> Melody:
    """A melody from bars, each a list of (pitch, start, end) within the bar."""
    notes = tuple(Note(p, s + steps * b, e + steps * b) for b, bar in enumerate(contents) for p, s, e in bar)
    return Melody(notes, num_steps=steps * len(contents), **fields)


C_MAJOR_SCALE = [60, 62, 64, 65, 67, 69, 71, 72]


# Not Aarden-Essen: counted from folk songs, where the 6th and 7th degrees are rare, its major profile
# hears a scale of equal notes in A minor.
@pytest.mark.parametrize("profile", ["krumhansl-kessler", "temperley"])
def test_a_c_major_scale_is_in_c_major(profile):
    key = find_key(line(C_MAJOR_SCALE), profile=profile)
    assert (key.tonic, key.mode, key.name) == (0, "major", "C major")
    assert key.confidence > 0


@pytest.mark.parametrize("profile", sorted(KEY_PROFILES))
def test_an_a_harmonic_minor_tune_is_in_a_minor(profile):
    tune = [69, 72, 71, 69, 68, 69, 71, 72, 74, 72, 71, 68, 69, 64, 68, 69]  # G# leading note, ends on A
    assert find_key(line(tune), profile=profile).name == "A minor"


def test_the_final_note_settles_a_melody_that_fits_two_keys():
    tune = [69, 67, 69, 72, 71, 67, 69, 64, 67, 69, 72, 74, 71, 67, 60]  # no F or F#: C major or G major
    assert find_key(line(tune), final_weight=0).name == "G major"  # plain Krumhansl-Schmuckler
    assert find_key(line(tune)).name == "C major"  # the final C decides


def test_key_names_are_spelled_as_musicians_write_them():
    names = [KeyEstimate(t, m, 0.0).name for t, m in [(10, "major"), (6, "major"), (3, "minor"), (8, "minor")]]
    assert names == ["Bb major", "F# major", "Eb minor", "G# minor"]
    assert KeyEstimate(9, "minor", 0.0).scale == {9, 11, 0, 2, 4, 5, 7, 8}


def test_keys_over_windows_show_a_modulation():
    c_major = [60, 64, 67, 65, 64, 62, 60, 60]
    g_major = [67, 71, 74, 72, 71, 66, 67, 67]  # F#: G major
    windows = keys_over_windows(line(c_major + g_major, length=8), bars=4, hop=4)
    assert [(bar, key.name) for bar, key in windows] == [(0, "C major"), (4, "G major")]


def test_a_piece_that_repeats_bar_1_in_bar_5_shows_it():
    distinct = [  # eight different bars; bar 5 (index 4) is bar 1 again
        [(60, 0, 4), (64, 4, 8), (67, 8, 16)],
        [(65, 0, 8), (64, 8, 12), (62, 12, 16)],
        [(60, 0, 2), (62, 2, 4), (64, 4, 6), (65, 6, 8), (67, 8, 16)],
        [(69, 0, 12), (67, 12, 16)],
        [(60, 0, 4), (64, 4, 8), (67, 8, 16)],
        [(72, 0, 6), (71, 6, 8), (69, 8, 10), (67, 10, 16)],
        [(65, 0, 4), (62, 4, 12), (59, 12, 16)],
        [(60, 0, 16)],
    ]
    melody = bars(*distinct, name="repeat")
    s = self_similarity(melody)
    assert s.shape == (8, 8)
    assert s[0, 4] == s[4, 0] == 1.0
    others = s[~np.eye(8, dtype=bool)]
    assert np.sort(others)[-3] < 0.8  # only the pair (1, 5) and (5, 1) are alike
    analysis = analyze_melody(melody)
    assert analysis.bar_form == "ABCDAEFG"
    assert analysis.numbers()["repeated_bar_share"] == pytest.approx(1 / 8)


def test_phrase_form_reads_aaba():
    a = [[(60, 0, 4), (62, 4, 8), (64, 8, 16)], [(65, 0, 8), (64, 8, 16)],
         [(62, 0, 4), (64, 4, 8), (62, 8, 16)], [(60, 0, 16)]]
    b = [[(67, 0, 2), (69, 2, 4), (67, 4, 12), (65, 12, 16)], [(64, 0, 12), (62, 12, 16)],
         [(67, 0, 12), (69, 12, 14), (71, 14, 16)], [(72, 0, 8), (67, 8, 16)]]
    analysis = analyze_melody(bars(*a, *a, *b, *a), phrase_bars=4)
    assert analysis.form == "AABA"


def test_a_transposed_repeat_is_a_repeat():
    motif = [(60, 0, 4), (62, 4, 8), (64, 8, 16)]
    up = [(p + 7, s, e) for p, s, e in motif]
    assert self_similarity(bars(motif, up))[0, 1] == 1.0
    same_rhythm = [(60, 0, 4), (67, 4, 8), (59, 8, 16)]
    assert self_similarity(bars(motif, same_rhythm))[0, 1] == pytest.approx((3 + 1) / 6)  # rhythm alike, contour not


def test_range_and_intervals_of_a_hand_made_melody():
    analysis = analyze_melody(line([60, 62, 67, 65, 65, 72]))
    assert (analysis.lowest, analysis.highest, analysis.range_semitones) == (60, 72, 12)
    assert dict(analysis.interval_counts) == {2: 1, 5: 1, -2: 1, 0: 1, 7: 1}
    numbers = analysis.numbers()
    assert numbers["mean_interval"] == pytest.approx((2 + 5 + 2 + 0 + 7) / 5)
    assert (numbers["repeat_share"], numbers["step_share"], numbers["leap_share"]) == (0.2, 0.4, 0.4)
    assert numbers["largest_interval"] == 7
    assert numbers["note_density"] == pytest.approx(6 / 1.5)  # 6 notes in 24 steps = 1.5 bars of 4/4


def test_scale_consistency_is_the_share_of_time_in_the_key():
    melody = Melody((Note(60, 0, 12), Note(61, 12, 16), Note(60, 16, 32)), num_steps=32)
    analysis = analyze_melody(melody)
    assert analysis.key.name == "C major"
    assert analysis.scale_consistency == pytest.approx(28 / 32)


def test_metrical_weights_follow_the_meter():
    assert metrical_weights((4, 4), 2).tolist() == [0, -3, -2, -3, -1, -3, -2, -3]
    assert metrical_weights((2, 4), 2).tolist() == [0, -2, -1, -2]
    assert metrical_weights((3, 4), 2).tolist() == [0, -2, -1, -2, -1, -2]
    assert metrical_weights((6, 8), 2).tolist() == [0, -2, -2, -1, -2, -2]


def test_an_off_beat_rhythm_is_more_syncopated_than_an_on_beat_one():
    on_beat = Melody(tuple(Note(60, 4 * i, 4 * i + 4) for i in range(8)), num_steps=32)
    off_beat = Melody(tuple(Note(60, 4 * i + 2, 4 * i + 4) for i in range(8)), num_steps=32)
    assert syncopation(on_beat) == 0.0
    assert syncopation(off_beat) > syncopation(on_beat)
    # quarter, half over beat 3, quarter: one syncopation of one level per bar (Longuet-Higgins & Lee)
    charleston = Melody((Note(60, 0, 1), Note(62, 1, 3), Note(64, 3, 4)), num_steps=4, steps_per_quarter=1)
    assert syncopation(charleston) == 1.0


def test_syncopation_honours_the_meter():
    # one rhythm in eighths: a quarter, a dotted quarter, an eighth. In 6/8 the dotted quarter starts
    # on a weak eighth and hides the second beat (syncopated); in 3/4 it starts on beat 2 (not).
    notes = (Note(60, 0, 2), Note(62, 2, 5), Note(64, 5, 6))
    six_eight = Melody(notes, num_steps=6, steps_per_quarter=2, time_signature=(6, 8))
    three_four = Melody(notes, num_steps=6, steps_per_quarter=2, time_signature=(3, 4))
    assert syncopation(six_eight) == 1.0
    assert syncopation(three_four) == 0.0


def test_numbers_and_json_are_plain_and_complete():
    analysis = analyze_melody(line(C_MAJOR_SCALE * 2, name="scale"))
    numbers = analysis.numbers()
    assert all(isinstance(v, float) for v in numbers.values())
    for name in ("key_confidence", "key_scale_consistency", "pitch_range", "note_density", "syncopation",
                 "leap_share", "mean_interval", "repeated_bar_share", "minor_mode"):
        assert name in numbers
    data = json.loads(json.dumps(analysis.to_json(), allow_nan=False))
    assert data["key"]["name"] == "C major"
    assert len(data["self_similarity"]) == analysis.num_bars == 4
    assert data["bar_form"] == analysis.bar_form


def test_a_single_note_melody_is_analysed_without_intervals():
    numbers = analyze_melody(line([67])).numbers()
    assert np.isnan(numbers["leap_share"]) and numbers["pitch_range"] == 0


def test_an_empty_melody_is_a_one_line_error():
    with pytest.raises(AtelierError, match=r"^melody 'silence' has no notes; ") as error:
        analyze_melody(Melody((), num_steps=16, name="silence"))
    assert "\n" not in str(error.value)


def test_an_unknown_profile_lists_the_known_ones():
    with pytest.raises(AtelierError, match="unknown key profile 'bach'; choose one of: aarden-essen"):
        find_key(line(C_MAJOR_SCALE), profile="bach")


def test_the_report_writes_a_png(tmp_path):
    melody = line(C_MAJOR_SCALE * 3, name="scales")
    path = write_melody_report(analyze_melody(melody), melody, tmp_path / "report.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.png"]  # no temporary file left
    with pytest.raises(AtelierError, match="unknown picture format 'jpg'"):
        write_melody_report(analyze_melody(melody), melody, tmp_path / "report.jpg")
