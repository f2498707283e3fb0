import warnings

import numpy as np
import pytest
import torch

from atelier.data import music as data_music
from atelier.data.music import (
    DEFAULT_TIME_SIGNATURES,
    MelodyCorpus,
    MelodyWindows,
    fit_to_range,
    load_melodies,
    split_melodies,
)
from atelier.errors import AtelierError
from atelier.music.events import Melody, MelodyEncoding, Note, events_to_notes
from atelier.music.midi import write_midi
from tests.music.midifiles import Meta, bad_files, notes, write

ENC = MelodyEncoding()


def scale_tune(pitches, *, name="t", step=2, time_signature=(4, 4)):
    return Melody(
        tuple(Note(p, step * i, step * i + step) for i, p in enumerate(pitches)),
        num_steps=step * len(pitches), time_signature=time_signature, name=name,
    )  # fmt: skip


def test_bach_soprano_lines_from_the_embedded_corpus(tmp_path):
    corpus = load_melodies("bach-soprano", limit=5, cache_dir=tmp_path)
    assert isinstance(corpus, MelodyCorpus) and len(corpus) == 5
    assert all(m.name.endswith(":Soprano") and m.piece == m.name.split(":")[0] for m in corpus)
    assert all(m.time_signature in DEFAULT_TIME_SIGNATURES for m in corpus)
    assert all(ENC.contains(p) for m in corpus for p in m.pitches)
    first = corpus[0]  # BWV 269 in 3/4 opens with a one-beat pickup on G4
    assert (first.name, first.time_signature, first.steps_per_bar) == ("bach/bwv269.mxl:Soprano", (3, 4), 12)
    assert (first.notes[0].pitch, first.notes[0].start_step) == (67, 8)


def test_the_second_load_reads_the_cache_without_parsing(tmp_path, monkeypatch):
    first = load_melodies("bach-all", limit=3, cache_dir=tmp_path)
    cache_files = list((tmp_path / "music").iterdir())
    assert len(cache_files) == 1 and cache_files[0].suffix == ".npz"
    with np.load(cache_files[0], allow_pickle=False) as data:  # compact arrays, no pickle
        assert data["notes"].dtype == np.int32 and data["notes"].shape[1] == 4

    def no_parsing(*args, **kwargs):
        raise AssertionError("the parser was called on a cached corpus")

    monkeypatch.setattr(data_music, "_parse_file", no_parsing)
    again = load_melodies("bach-all", limit=3, cache_dir=tmp_path)
    assert again == first and len(again) == 12  # four voices of three chorales
    # the soprano corpus reuses the same parse: a subset of it, from the same cache file
    sopranos = load_melodies("bach-soprano", limit=3, cache_dir=tmp_path)
    assert [m.name for m in sopranos] == [m.name for m in first if m.name.endswith("Soprano")]


def test_bach_all_keeps_the_four_voices_and_leaves_instruments_out(tmp_path, monkeypatch):
    base = data_music._music21_corpus_dir()
    # BWV 41.6 doubles voices with instruments and adds trumpets and timpani; BWV 27.6 has two sopranos
    chorales = [base / "bach" / "bwv41.6.mxl", base / "bach" / "bwv27.6.mxl"]
    monkeypatch.setattr(data_music, "_corpus_files", lambda kind: (chorales, base))
    corpus = load_melodies("bach-all", cache_dir=tmp_path, time_signatures=None)
    assert [m.name.split(":")[1] for m in corpus] == [
        "Soprano Oboe 1 Violin1", "Alto Oboe 2 Viloin 2", "Tenor Viola", "Bass Continuo",
        "Soprano 1", "Alto", "Tenor", "Bass",
    ]  # fmt: skip


def test_cache_location_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ATELIER_CACHE", str(tmp_path / "env-cache"))
    load_melodies("bach-soprano", limit=1)
    assert len(list((tmp_path / "env-cache" / "music").glob("bach-*.npz"))) == 1


def test_a_damaged_cache_is_rebuilt(tmp_path):
    first = load_melodies("bach-soprano", limit=2, cache_dir=tmp_path)
    (cache_file,) = (tmp_path / "music").iterdir()
    cache_file.write_bytes(b"garbage")
    assert load_melodies("bach-soprano", limit=2, cache_dir=tmp_path) == first
    assert cache_file.stat().st_size > 100


def test_essen_oneill_and_ryan_abc_corpora(tmp_path):
    essen = load_melodies("essen", limit=12, cache_dir=tmp_path, time_signatures=None)
    assert len(essen) >= 8 and all(m.name.startswith("essenFolksong/") and "#" in m.name for m in essen)
    oneill = load_melodies("oneill", limit=6, cache_dir=tmp_path)
    assert len(oneill) >= 4 and {m.time_signature for m in oneill} <= set(DEFAULT_TIME_SIGNATURES)
    ryan = load_melodies("ryan", limit=6, cache_dir=tmp_path, time_signatures=None)
    assert len(ryan) + ryan.dropped["range"] == 6 and len(ryan) >= 4
    assert all(m.name.startswith("ryansMammoth/") and m.notes for m in ryan)


def test_a_folder_of_midi_files_with_bad_ones_skipped(tmp_path):
    folder = tmp_path / "midi"
    bad = bad_files(folder / "bad")
    for i in range(3):
        write_midi(scale_tune([60 + i, 62, 64, 65, 67, 69, 71, 72], name=f"tune{i}"), folder / f"tune{i}.mid")
    seven = [Meta("time_signature", numerator=7, denominator=8)] + notes([(60, 240)] * 14)
    write(folder / "seven.mid", [seven])
    with pytest.warns(UserWarning, match=f"skipped {len(bad)} unreadable files"):
        corpus = load_melodies(folder, cache_dir=tmp_path / "cache")
    assert sorted(m.name for m in corpus) == ["tune0.mid", "tune1.mid", "tune2.mid"]
    assert corpus.dropped["meter"] == 1  # 7/8 is not one of the default meters
    reasons = "\n".join(corpus.skipped)
    for kind in ("empty or truncated", "cannot be read", "not a MIDI file", "no notes", "drums only", "type 2"):
        assert kind in reasons
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        any_meter = load_melodies(folder, cache_dir=tmp_path / "cache", time_signatures=None)
    assert [m.steps_per_bar for m in any_meter if m.name == "seven.mid"] == [14]


def test_changing_a_file_invalidates_the_cache(tmp_path, monkeypatch):
    folder = tmp_path / "songs"
    write_midi(scale_tune([60, 62, 64, 65, 67, 69, 71, 72]), folder / "a.mid")
    assert load_melodies(folder, cache_dir=tmp_path)[0].pitches[0] == 60
    write_midi(scale_tune([62, 64, 66, 67, 69, 71, 73, 74, 76]), folder / "a.mid")
    assert load_melodies(folder, cache_dir=tmp_path)[0].pitches[0] == 62


def test_single_file_source_and_instrument_choice(tmp_path):
    path = tmp_path / "duo.mid"
    write(path, [notes([(72, 240)] * 8), notes([(60, 240)] * 8, channel=1)])
    assert load_melodies(path, cache_dir=tmp_path)[0].pitches[0] == 72
    assert load_melodies(path, cache_dir=tmp_path, instrument=1)[0].pitches[0] == 60
    score = tmp_path / "chorale.mxl"
    score.write_bytes((data_music._music21_corpus_dir() / "bach" / "bwv269.mxl").read_bytes())
    assert [m.name for m in load_melodies(score, cache_dir=tmp_path, instrument="Alto")] == ["chorale.mxl:Alto"]


def test_bad_sources_and_options(tmp_path):
    with pytest.raises(AtelierError, match="unknown music source 'bach'; choose one of: bach-all, bach-soprano"):
        load_melodies("bach")
    with pytest.raises(AtelierError, match="not a file or folder"):
        load_melodies(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(AtelierError, match="no files ending in .mid"):
        load_melodies(tmp_path / "empty")
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(AtelierError, match="unsupported extension '.txt'"):
        load_melodies(tmp_path / "notes.txt")
    with pytest.raises(AtelierError, match="unknown key normalisation 'D'"):
        load_melodies("bach-soprano", key="D")
    bad = bad_files(tmp_path / "only-bad")
    with pytest.warns(UserWarning), pytest.raises(AtelierError, match=f"no melodies left .*unreadable: {len(bad)}"):
        load_melodies(tmp_path / "only-bad", cache_dir=tmp_path)


def test_key_normalisation_and_range_fitting(tmp_path):
    d_major = scale_tune([62, 64, 66, 67, 69, 71, 73, 74, 69, 66, 62])
    low = scale_tune([36, 38, 40, 41, 43])
    assert fit_to_range(low, ENC).pitches[0] == 48
    assert fit_to_range(scale_tune([40, 90]), ENC) is None  # spans more than the encoding
    folder = tmp_path / "keys"
    write_midi(d_major, folder / "d.mid")
    write_midi(low, folder / "low.mid")
    corpus = load_melodies(folder, key="C", min_notes=1, cache_dir=tmp_path)
    assert [m.pitches[0] for m in corpus] == [60, 48]
    with pytest.raises(AtelierError, match="no melodies left .*range 1, too_short 1"):
        load_melodies(folder, fit_octaves=False, min_notes=12, cache_dir=tmp_path)


def test_a_melody_too_wide_for_the_model_is_skipped_with_a_warning(tmp_path):
    """A file spanning MIDI's whole range (here in D major, so the key move to C is -2) is skipped in a
    folder like an unreadable one, and alone it is refused naming its span and the model's."""
    folder = tmp_path / "songs"
    for i in range(3):
        write_midi(scale_tune([62 + i, 64, 66, 67, 69, 71, 73, 74], name=f"tune{i}"), folder / f"tune{i}.mid")
    write_midi(scale_tune([0, 127] + [62, 64, 66, 67, 69, 71, 73, 74] * 2, name="wide"), folder / "wide.mid")
    expected = ("skipped 1 melody that does not fit the model's pitch range, e.g. wide.mid: spans pitches "
                r"0..127 \(127 semitones\); the model covers 48..83 \(35 semitones\)")
    with pytest.warns(UserWarning, match=expected):
        corpus = load_melodies(folder, key="C", cache_dir=tmp_path)
    assert sorted(m.name for m in corpus) == ["tune0.mid", "tune1.mid", "tune2.mid"]
    assert corpus.dropped["range"] == 1 and corpus[0].pitches[0] == 60  # the others moved to C as before
    with pytest.raises(AtelierError, match=r"wide.mid: no melodies left .*range 1.*; e.g. wide.mid: spans pitches 0..127"):
        load_melodies(folder / "wide.mid", key="C", cache_dir=tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a built-in corpus filters out of range melodies quietly
        load_melodies("bach-all", limit=2, cache_dir=tmp_path, encoding=MelodyEncoding(60, 84))


def test_a_key_move_near_the_edge_of_midi_keeps_the_melody(tmp_path):
    low = scale_tune([4, 6, 8, 9, 11, 13, 15, 16])  # E major at the bottom: 4 down would pass below pitch 0
    assert fit_to_range(low, ENC, shift=-4).pitches == [48, 50, 52, 53, 55, 57, 59, 60]
    assert fit_to_range(low, ENC, shift=-4, octaves=False) is None
    write_midi(low, tmp_path / "low.mid")
    assert load_melodies(tmp_path / "low.mid", key="C", cache_dir=tmp_path)[0].pitches[:2] == [48, 50]


def test_corpus_parsing_shows_a_progress_bar_on_request_and_none_when_captured(tmp_path, capsys):
    folder = tmp_path / "songs"
    for i in range(2):
        write_midi(scale_tune([60 + i, 62, 64, 65, 67, 69, 71, 72], name=f"tune{i}"), folder / f"tune{i}.mid")
    load_melodies(folder, cache_dir=tmp_path / "a")  # the default: a bar only when stderr is a terminal
    assert capsys.readouterr().err == ""
    load_melodies(folder, cache_dir=tmp_path / "b", progress=True)
    bar = capsys.readouterr().err
    assert "parsing songs (once; cached after): 100%" in bar and "2/2" in bar
    load_melodies(folder, cache_dir=tmp_path / "b", progress=True)  # cached: nothing to show
    assert capsys.readouterr().err == ""


def test_split_is_by_piece_and_seeded():
    voices = [scale_tune([60, 62], name=f"c{i}:{v}") for i in range(20) for v in ("S", "A", "T", "B")]
    voices = [Melody(m.notes, m.num_steps, name=m.name, piece=m.name.split(":")[0]) for m in voices]
    train, val = split_melodies(voices, val_fraction=0.2, seed=0)
    assert len(val) == 16 and len(train) == 64  # 4 of 20 chorales, with all their voices
    assert not {m.piece for m in train} & {m.piece for m in val}
    assert split_melodies(voices, val_fraction=0.2, seed=0) == (train, val)
    assert split_melodies(voices, val_fraction=0.2, seed=1)[1] != val
    corpus = MelodyCorpus(tuple(voices), name="toy")
    corpus_train, corpus_val = corpus.split(val_fraction=0.2, seed=0)
    assert list(corpus_val) == val and corpus_val.name == "toy[val]"
    assert corpus_train.fingerprint() != corpus_val.fingerprint() == corpus.split(val_fraction=0.2)[1].fingerprint()
    with pytest.raises(AtelierError, match=r"val_fraction=1.5: must be at least 0 \(no validation\) and below 1"):
        split_melodies(voices, val_fraction=1.5)
    train, val = split_melodies(voices[:4], val_fraction=0)  # one piece is enough: nothing is held out
    assert train == voices[:4] and val == []
    assert [len(side) for side in corpus.split(val_fraction=0)] == [80, 0]


def test_windows_are_fixed_length_event_tensors():
    tune = scale_tune([60, 62, 64, 65, 67, 69, 71, 72] * 4, step=2)  # 64 steps
    ds = MelodyWindows([tune], encoding=ENC, window_steps=32, hop_steps=16)
    assert len(ds) == 3  # starts 0, 16, 32
    x = ds[1]
    assert x.dtype == torch.int64 and tuple(x.shape) == (32,)
    assert x.min() >= 0 and x.max() < ENC.num_classes
    decoded = events_to_notes(x.numpy(), ENC)
    assert [n.pitch for n in decoded] == tune.pitches[8:24]
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=3)))
    assert tuple(batch.shape) == (3, 32)


def test_windows_transpose_within_range_and_restrike_held_notes():
    tune = Melody((Note(60, 0, 12), Note(81, 12, 16), Note(64, 16, 32)), num_steps=32)
    ds = MelodyWindows([tune], window_steps=16, hop_steps=8, transpose=range(-5, 6))
    shifts = {ds.window(i) for i in range(len(ds))}
    # the window from step 0 holds 81 (max 83): only shifts up to +2 keep it in range
    assert {s for m, start, s in shifts if start == 0} == set(range(-5, 3))
    # the window from step 8 starts inside the held C4: it is struck again at step 0
    i = next(i for i in range(len(ds)) if ds.window(i) == (0, 8, 0))
    assert ds[i][:5].tolist() == [ENC.encode_pitch(60), 0, 0, 0, ENC.encode_pitch(81)]
    up = next(i for i in range(len(ds)) if ds.window(i) == (0, 8, 2))
    assert ds[up][0].item() == ENC.encode_pitch(62)


def test_windows_skip_short_melodies_and_silence():
    short = scale_tune([60, 62], step=2)  # 4 steps
    silent_start = Melody((Note(60, 40, 48),), num_steps=48)
    ds = MelodyWindows([short, silent_start], window_steps=16, hop_steps=16)
    assert [ds.window(i)[:2] for i in range(len(ds))] == [(1, 32)]
