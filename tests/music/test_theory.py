from atelier.music.events import Melody, Note
from atelier.music.theory import SCALES, estimate_key, key_shift, normalize_key


def scale_tune(pitches, *, step=2):
    return Melody(tuple(Note(p, step * i, step * i + step) for i, p in enumerate(pitches)), num_steps=step * len(pitches))


def test_key_estimation_and_normalisation():
    d_major = scale_tune([62, 64, 66, 67, 69, 71, 73, 74, 69, 66, 62])
    assert estimate_key(d_major) == (2, "major")
    assert normalize_key(d_major).pitches[0] == 60
    a_minor_up = scale_tune([69, 71, 72, 74, 76, 77, 80, 81, 76, 72, 69]).transpose(5)  # D minor
    assert estimate_key(a_minor_up) == (2, "minor") and normalize_key(a_minor_up).pitches[0] == 69


def test_key_shift_is_the_smallest_move_to_c_major_or_a_minor():
    c_major = scale_tune([60, 62, 64, 65, 67, 69, 71, 72, 67, 64, 60])
    for semitones in range(-12, 13):
        shift = key_shift(c_major.transpose(semitones))
        assert -6 <= shift <= 5 and (semitones + shift) % 12 == 0
    assert key_shift(Melody((), num_steps=4)) == 0  # no notes: taken as C major


def test_scales_hold_seven_pitch_classes_each():
    assert SCALES.shape == (24, 12) and (SCALES.sum(axis=1) == 7).all()
    assert SCALES[0].nonzero()[0].tolist() == [0, 2, 4, 5, 7, 9, 11]  # C major
    assert SCALES[12 + 9].nonzero()[0].tolist() == [0, 2, 4, 5, 8, 9, 11]  # A harmonic minor (G sharp)
