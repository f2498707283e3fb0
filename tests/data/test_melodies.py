from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from atelier.data.melodies import (
    MelodyData,
    check_event_batch,
    crop,
    events_to_melodies,
    load_split,
    melody_training_data,
    prepare_melodies,
    prepare_melody,
    training_source,
    window_tensor,
)
from atelier.errors import AtelierError
from atelier.family import DataOptions, TrainData
from atelier.music.events import Melody, MelodyEncoding, Note
from tests.music.tunes import midi_folder, tune

ENC = MelodyEncoding()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return midi_folder(tmp_path_factory.mktemp("tunes") / "tunes", count=10, bars=4)


def test_training_data_is_typed_windows_held_out_windows_and_a_fingerprint(folder, tmp_path, monkeypatch):
    monkeypatch.setenv("ATELIER_CACHE", str(tmp_path))
    config = SimpleNamespace(encoding=ENC, key="C", transpose=(0,))
    data = melody_training_data(folder, config=config, window_steps=32, min_notes=1, max_val_windows=2,
                                options=DataOptions(val_fraction=0.2, split_seed=1))
    assert isinstance(data, MelodyData) and isinstance(data, TrainData)
    assert data.train.dtype == torch.int64 and data.train.shape == (8 * 3, 32)  # 8 tunes, a window every bar
    assert data.val_windows.shape == (2, 32)  # a seeded sample of the held-out windows
    train, val, fingerprint = load_split(folder, encoding=ENC, key="C", seed=1, val_fraction=0.2)
    assert data.fingerprint == fingerprint and (len(train), len(val)) == (8, 2)
    wider = SimpleNamespace(encoding=ENC, key="C", transpose=(-1, 0, 1))
    augmented = melody_training_data(folder, config=wider, window_steps=32, min_notes=1, max_val_windows=2,
                                     options=DataOptions(val_fraction=0.2, split_seed=1))
    assert augmented.train.shape[0] == 3 * data.train.shape[0] and augmented.fingerprint == data.fingerprint
    everything = melody_training_data(folder, config=config, window_steps=32, min_notes=1, max_val_windows=2,
                                      options=DataOptions(val_fraction=0, split_seed=1))
    assert everything.val_windows is None and everything.train.shape == (10 * 3, 32)  # all 10 tunes train
    assert everything.fingerprint == data.fingerprint
    with pytest.raises(AtelierError, match="no melody is 8 bars long or more"):
        melody_training_data(folder, config=config, window_steps=128, min_notes=1, max_val_windows=2,
                             options=DataOptions())


def test_a_melody_moved_into_the_models_key_is_moved_back():
    d_major = Melody(tuple(Note(p, 4 * i, 4 * i + 4) for i, p in enumerate([62, 66, 69, 74, 73, 69, 66, 62])),
                     num_steps=32)
    prepared = prepare_melody(d_major, encoding=ENC, key="C", what="primer")
    assert prepared.shift == -2
    (back,) = events_to_melodies(prepared.events[None], ENC, shift=prepared.shift)
    assert back.notes == d_major.notes
    assert prepare_melody(d_major, encoding=ENC, key="any", what="primer").shift == 0
    high = d_major.transpose(24)  # above the range: moved down by octaves, and back up afterwards
    assert prepare_melody(high, encoding=ENC, key="any", what="primer").shift == -24


def test_a_melody_wider_than_the_model_is_refused_by_its_range_not_a_note_error():
    """Spanning MIDI's 0..127 in D major: the key move (-2) used to make a note of pitch -2 first."""
    pitches = [0, 127] + [62, 64, 66, 67, 69, 71, 73, 74] * 2
    wide = Melody(tuple(Note(p, 2 * i, 2 * i + 2) for i, p in enumerate(pitches)), num_steps=2 * len(pitches))
    expected = r"primer: spans pitches 0..127 \(127 semitones\); the model covers 48..83 \(35 semitones\)"
    with pytest.raises(AtelierError, match=expected):
        prepare_melody(wide, encoding=ENC, key="C", what="primer")
    with pytest.raises(AtelierError, match="melody wide: spans pitches 0..127"):
        prepare_melodies([replace(wide, name="wide")], encoding=ENC, key="C", num_steps=32)
    # at MIDI's edge but narrow: moved into key and range in one step, and back
    low = Melody(tuple(Note(p, 4 * i, 4 * i + 4) for i, p in enumerate([4, 8, 11, 16, 3, 4])), num_steps=24)
    prepared = prepare_melody(low, encoding=ENC, key="C", what="primer")
    (back,) = events_to_melodies(prepared.events[None], ENC, shift=prepared.shift)
    assert prepared.shift % 12 == 8 and back.notes == low.notes


def test_prepare_melodies_crops_pads_and_refuses_empty_input():
    long, short = tune(1, bars=4), crop(tune(2, bars=4), 20)
    events, shifts = prepare_melodies([long, short], encoding=ENC, key="any", num_steps=32)
    assert events.shape == (2, 32) and shifts == [0, 0]
    assert events[1, 20:].tolist() in ([0] * 12, [1] + [0] * 11)  # padded with rest
    with pytest.raises(AtelierError, match="melodies: none given"):
        prepare_melodies([], encoding=ENC, key="any", num_steps=32)
    with pytest.raises(AtelierError, match="melody silent: no notes to encode"):
        prepare_melodies([Melody((), num_steps=8, name="silent")], encoding=ENC, key="any", num_steps=32)


def test_evaluation_reads_the_split_a_model_was_trained_with():
    assert training_source({"data": "essen", "split_seed": 3, "val_fraction": 0.2}, None) == ("essen", 3, 0.2)
    assert training_source({"data": "essen"}, "bach-soprano") == ("bach-soprano", 0, 0.1)
    every_piece = {"data": "essen", "split_seed": 3, "val_fraction": 0.0}  # trained with no validation
    with pytest.raises(AtelierError, match="trained on every piece of essen .val_fraction=0., so none is held out"):
        training_source(every_piece, None)
    with pytest.raises(AtelierError, match="trained on every piece of essen"):
        training_source(every_piece, "essen")
    assert training_source(every_piece, "oneill") == ("oneill", 3, 0.1)  # other data: the default split
    with pytest.raises(AtelierError, match="does not record its training data; give the data to evaluate on"):
        training_source({}, None)


def test_event_batches_are_checked():
    assert check_event_batch(torch.zeros(2, 4, dtype=torch.int64), 38, what="t").shape == (2, 4)
    with pytest.raises(AtelierError, match=r"t: a batch is LongTensor \(B, T\) of melody events, got \(4,\)"):
        check_event_batch(torch.zeros(4, dtype=torch.int64), 38, what="t")
    with pytest.raises(AtelierError, match=r"t: events must be in 0..37, got 0..40"):
        check_event_batch(torch.tensor([[0, 40]]), 38, what="t")


def test_window_tensor_keeps_a_seeded_subset():
    melodies = [tune(i, bars=4) for i in range(3)]
    all_windows = window_tensor(melodies, encoding=ENC, window_steps=16)
    some = window_tensor(melodies, encoding=ENC, window_steps=16, max_windows=5, seed=2)
    assert all_windows.shape == (12, 16) and some.shape == (5, 16)
    assert torch.equal(some, window_tensor(melodies, encoding=ENC, window_steps=16, max_windows=5, seed=2))
    rows = {tuple(r) for r in all_windows.tolist()}
    assert all(tuple(r) in rows for r in some.tolist())
    assert np.array_equal(events_to_melodies(all_windows[:1], ENC)[0].to_events(ENC), all_windows[0].numpy())


# ---- conditioned tunes (the melody transformer's data) ----------------------------------------

def _waltz(num_bars: int = 4) -> Melody:
    """3/4, one dotted half (12 steps) per bar, C4 D4 E4 … (the last note held into the next bar's start)."""
    return Melody(tuple(Note(60 + 2 * i, 12 * i, 12 * i + 12) for i in range(num_bars)), num_steps=12 * num_bars,
                  time_signature=(3, 4))


def test_tune_windows_pad_short_tunes_and_reach_every_tune_end():
    from atelier.data.melodies import PAD, Tune, TuneWindows

    short = Tune(_waltz(2), style=1, meter=1, key=0)  # 24 steps, shorter than a window
    long = Tune(_waltz(5), style=0, meter=1, key=0)  # 60 steps
    windows = TuneWindows([short, long], encoding=MelodyEncoding(), window_steps=32)
    starts = sorted(windows.window(i)[1] for i in range(len(windows)) if windows.window(i)[0] == 1)
    assert starts == [0, 12, 24, 36]  # every bar line, and the last (36) reaches the end (36 + 32 ≥ 60)
    row = windows.get_batch([0])[0]
    assert row[:3].tolist() == [1, 1, 0] and (row[3 + 24:] == PAD).all() and (row[3:3 + 24] != PAD).all()


def test_tune_windows_transpose_notes_and_key_and_restrike_held_notes():
    from atelier.data.melodies import Tune, TuneWindows

    held = Melody((Note(60, 0, 20), Note(64, 20, 24)), num_steps=24, time_signature=(3, 4))  # C held over bar 2
    windows = TuneWindows([Tune(held, 0, 1, key=21)], encoding=MelodyEncoding(48, 83), window_steps=12,
                          transpose=(0, 3))
    by_shift = {windows.window(i)[2]: windows.get_batch([i])[0] for i in range(len(windows)) if windows.window(i)[1] == 12}
    assert by_shift[0][:4].tolist() == [0, 1, 21, 60 - 48 + 2]  # A minor; C struck again at the bar line
    assert by_shift[3][:4].tolist() == [0, 1, 12, 63 - 48 + 2]  # moved up 3: C minor, E-flat
    assert by_shift[3][3 + 8].item() == 64 + 3 - 48 + 2  # the later note moves too; holds (0) stay


def test_tune_windows_leave_out_shifts_that_leave_the_range():
    from atelier.data.melodies import Tune, TuneWindows

    high = Melody((Note(82, 0, 12),), num_steps=12, time_signature=(3, 4))
    windows = TuneWindows([Tune(high, 0, 1, 0)], encoding=MelodyEncoding(48, 83), window_steps=12, transpose=range(-2, 3))
    assert sorted(windows.window(i)[2] for i in range(len(windows))) == [-2, -1, 0, 1]
