import json
import math

import numpy as np
import pytest

from atelier.errors import AtelierError
from atelier.metrics.music import FEATURES, compare_melodies, mean_features, melody_features, overlap_area
from atelier.music.events import Melody, Note


def line(pitches, *, step=4, rests=0, num_steps=None, time_signature=(4, 4)):
    """One note per ``step + rests`` steps."""
    stride = step + rests
    notes = tuple(Note(p, stride * i, stride * i + step) for i, p in enumerate(pitches))
    return Melody(notes, num_steps=num_steps or stride * len(pitches), time_signature=time_signature)


def test_features_of_a_major_scale():
    f = melody_features(line([60, 62, 64, 65, 67, 69, 71, 72]))  # two bars of quarters
    p = np.array([2, 1, 1, 1, 1, 1, 1]) / 8  # C twice
    assert f.pitch_class_entropy == pytest.approx(float(-(p * np.log2(p)).sum()))
    assert (f.scale_consistency, f.pitch_range, f.empty_beat_rate) == (1.0, 12.0, 0.0)
    assert (f.note_density, f.groove_consistency) == (4.0, 1.0)
    assert f.mean_interval == pytest.approx(12 / 7)
    assert set(f.to_dict()) == set(FEATURES)


def test_chromatic_line_is_maximally_uncertain_and_off_scale():
    f = melody_features(line(list(range(60, 72)), step=2))
    assert f.pitch_class_entropy == pytest.approx(math.log2(12))
    assert f.scale_consistency == pytest.approx(7 / 12)


def test_empty_beats_density_and_groove():
    # bar 1: four quarter notes; bar 2: silence; 3/4 of the second half is empty too
    m = Melody((Note(60, 0, 4), Note(62, 4, 8), Note(64, 8, 12), Note(65, 12, 16)), num_steps=32)
    f = melody_features(m)
    assert f.empty_beat_rate == 0.5 and f.note_density == 2.0
    assert f.groove_consistency == pytest.approx(1 - 4 / 16)  # 4 onsets differ in 16 steps
    assert math.isnan(melody_features(line([60], num_steps=8)).groove_consistency)  # under two bars
    assert math.isnan(melody_features(line([60])).mean_interval)
    waltz = line([60, 64, 67] * 4, time_signature=(3, 4))
    assert melody_features(waltz).note_density == 3.0


def test_overlap_area():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 400), rng.normal(0, 1, 400)
    assert overlap_area(a, b) > 0.85
    assert overlap_area(a, b + 10) < 0.01
    assert overlap_area([3.0, 3.0, 3.0], [3.0, 3.0]) == pytest.approx(1.0, abs=1e-3)  # constant feature
    assert math.isnan(overlap_area([np.nan], [1.0]))


def test_compare_generated_against_training_distributions():
    rng = np.random.default_rng(0)
    scale = [60, 62, 64, 65, 67, 69, 71, 72]
    training = [line(list(rng.choice(scale, 16)), step=2) for _ in range(40)]
    similar = [line(list(rng.choice(scale, 16)), step=2) for _ in range(40)]
    noise = [line(list(rng.integers(48, 84, 16)), step=2) for _ in range(40)]
    good, bad = compare_melodies(similar, training), compare_melodies(noise, training)
    assert good.mean_overlap > bad.mean_overlap
    for name in ("pitch_range", "scale_consistency", "pitch_class_entropy"):
        assert good.features[name].overlap > bad.features[name].overlap
        assert good.features[name].distance_kl < bad.features[name].distance_kl
    report = good.to_dict()
    assert set(report["features"]) == set(FEATURES) and report["num_generated"] == 40
    json.dumps(report)  # plain data, ready for a results file


def test_mean_features_and_empty_sets():
    means = mean_features([line([60, 64]), line([60, 67])])
    assert means.pitch_range == 5.5
    with pytest.raises(AtelierError, match="the set is empty"):
        compare_melodies([], [line([60])])
