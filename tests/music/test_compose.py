import dataclasses
import wave

import re

import pytest

from atelier.api import load
from atelier.api.music import compose as compose_by_name
from atelier.errors import AtelierError
from atelier.music import melody_rnn, music_vae
from atelier.music.compose import (
    compose,
    concatenate,
    interpolate,
    parse_pitches,
    primer_from_pitches,
    read_primer,
    write_interpolation,
    write_outputs,
)
from atelier.music.events import Melody, MelodyEncoding, Note
from atelier.music.midi import read_midi, read_score, write_midi
from tests.music.midifiles import Meta, bad_files, notes, write
from tests.music.tunes import tune


@pytest.fixture(scope="module")
def rnn():
    config = dataclasses.replace(melody_rnn.PRESETS["melody-rnn"], rnn_size=16, num_layers=1)
    return melody_rnn.MelodyRNNModel(config, melody_rnn.build_task(config).network)


@pytest.fixture(scope="module")
def vae():
    config = dataclasses.replace(music_vae.PRESETS["musicvae-2bar"], z_dim=4, encoder_size=8, decoder_size=8)
    return music_vae.MusicVAEModel(config, music_vae.build_task(config).network)


def test_compose_with_a_melody_rnn(rnn):
    primer = primer_from_pitches([60, 62, -1, 64], rnn.config.encoding)
    melodies = compose(rnn, bars=4, n=3, temperature=0.9, primer=primer, seed=2, qpm=96, program=73)
    assert [m.name for m in melodies] == ["melody 1", "melody 2", "melody 3"]
    assert all(m.num_steps == 64 and m.qpm == 96 and m.program == 73 for m in melodies)
    assert all(m.notes[:2] == (Note(60, 0, 4), Note(62, 4, 8)) and m.notes[2].start_step == 12 for m in melodies)
    assert compose(rnn, bars=4, n=3, temperature=0.9, primer=primer, seed=2, qpm=96, program=73) == melodies
    assert compose(rnn, n=1)[0].num_steps == 16 * 16  # 16 bars unless told


def test_compose_with_a_music_vae(vae):
    melodies = compose(vae, n=2, seed=1)
    assert [m.num_steps for m in melodies] == [32, 32]
    with pytest.raises(AtelierError, match="--bars 16: this MusicVAE makes 2-bar melodies; use --bars 2"):
        compose(vae, bars=16)
    with pytest.raises(AtelierError, match="a primer needs a melody RNN"):
        compose(vae, primer=[60])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(bars=0), "bars=0 (--bars): must be a whole number of at least 1"),
        (dict(bars=-3), "bars=-3 (--bars): must be a whole number of at least 1"),
        (dict(n=0), "n=0 (--n): must be a whole number of at least 1"),
        (dict(temperature=0.0), "temperature=0.0 (--temperature): must be greater than 0"),
        (dict(temperature=-0.5), "temperature=-0.5 (--temperature): must be greater than 0"),
        (dict(qpm=1000.0), "qpm=1000 (--qpm): must be in 20..400"),
        (dict(program=128), "program=128 (--program): must be a General MIDI program in 0..127"),
    ],
)
def test_bad_compose_arguments(rnn, kwargs, message):
    with pytest.raises(AtelierError, match=re.escape(message)):
        compose(rnn, **kwargs)


def test_pitch_primers():
    assert parse_pitches("60,62,64") == [60, 62, 64]
    with pytest.raises(AtelierError, match="expected MIDI pitches separated by commas"):
        parse_pitches("60;62")
    with pytest.raises(AtelierError, match=r"primer pitch 90 \(position 2\): outside the model's range 48..83"):
        primer_from_pitches([60, 90], MelodyEncoding())
    with pytest.raises(AtelierError, match="only rests"):
        primer_from_pitches([-1, -1], MelodyEncoding())


def test_bad_primer_files_are_one_line_errors(tmp_path):
    for what, path in bad_files(tmp_path).items():
        with pytest.raises(AtelierError) as error:
            read_primer(path)
        assert str(path) in str(error.value) and "\n" not in str(error.value), what


def test_awkward_primer_files_are_handled(rnn, tmp_path):
    """An extreme tempo map and a 7/8 meter: the notes are read in beats and continued in 4/4;
    pitches outside the model's range move by octaves."""
    tempo_map = [Meta("set_tempo", tempo=60_000_000 // 400, time=0), *notes([(100, 480)]),
                 Meta("set_tempo", tempo=60_000_000 // 20, time=0), *notes([(98, 480), (96, 960)])]
    odd = [Meta("time_signature", numerator=7, denominator=8, time=0), *notes([(60, 240), (62, 240), (64, 720)])]
    for name, track in (("tempo.mid", tempo_map), ("odd.mid", odd)):
        primer = read_primer(write(tmp_path / name, [track]))
        (melody,) = compose(rnn, bars=2, primer=primer)
        assert melody.time_signature == (4, 4) and melody.num_steps == 32
        starts = [n.start_step for n in primer.notes]
        assert [n.start_step for n in melody.notes[:len(starts)]] == starts
        assert [n.pitch % 12 for n in melody.notes[:len(starts) - 1]] == [p % 12 for p in primer.pitches[:-1]]


def test_write_outputs_writes_every_format(tmp_path):
    melodies = [dataclasses.replace(tune(i, bars=2), qpm=90.0, program=73, name=f"melody {i + 1}") for i in range(2)]
    paths = write_outputs(melodies, tmp_path / "songs", wav=True)
    names = sorted(p.name for p in paths)
    assert names == [f"melody_00{i}.{ext}" for i in (1, 2) for ext in ("mid", "musicxml", "png", "wav")]
    back = read_midi(tmp_path / "songs" / "melody_001.mid")
    assert back.notes == melodies[0].notes and (back.qpm, back.program) == (90.0, 73)
    assert read_score(tmp_path / "songs" / "melody_002.musicxml")[0].pitches == melodies[1].pitches
    with wave.open(str(tmp_path / "songs" / "melody_001.wav")) as f:
        assert f.getnframes() / f.getframerate() == pytest.approx(2 * 4 * 60 / 90 + 0.5, abs=0.01)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["songs"]  # no staging folder left behind


def test_a_failed_write_leaves_nothing(tmp_path, monkeypatch):
    def broken(melody, path, **options):
        raise OSError("disk full")

    monkeypatch.setattr("atelier.music.midi.write_musicxml", broken)
    with pytest.raises(OSError, match="disk full"):
        write_outputs([tune(0, bars=2)], tmp_path / "songs")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(AtelierError, match=r"--out .*songs.png: music outputs go into a folder"):
        write_outputs([tune(0, bars=2)], tmp_path / "songs.png")
    with pytest.raises(AtelierError, match="no melodies to write"):
        write_outputs([], tmp_path / "songs")


def test_interpolation_files(vae, tmp_path):
    melodies = interpolate(vae, tune(1, bars=2), tune(2, bars=2), steps=4)
    paths = write_interpolation(melodies, tmp_path / "interp")
    assert sorted(p.name for p in paths) == ["interpolation.mid", "interpolation.png", "interpolation.wav",
                                             "step_01.mid", "step_02.mid", "step_03.mid", "step_04.mid"]
    assert read_midi(tmp_path / "interp" / "interpolation.mid").notes[-1].end_step <= 4 * 32
    assert concatenate(melodies).num_steps == 128


def test_interpolate_needs_a_music_vae(rnn):
    with pytest.raises(AtelierError, match="interpolate needs a MusicVAE .* got a melody_rnn model"):
        interpolate(rnn, tune(1), tune(2))


def _gan_checkpoint(tmp_path):
    from atelier.checkpoint import save_checkpoint
    from atelier.images import gan

    config = dataclasses.replace(gan.PRESETS["mlp-gan"], mlp_hidden=(8,))
    return save_checkpoint(tmp_path / "gan.safetensors", kind="gan", config=dataclasses.asdict(config),
                           modules=gan.build_task(config).modules)


def test_compose_by_name_refuses_other_kinds(tmp_path):
    path = _gan_checkpoint(tmp_path)
    with pytest.raises(AtelierError, match=f"model {path}: a gan model; this needs a music model "
                                           r"\(melody_rnn, melody_transformer or music_vae\)"):
        compose_by_name(path)
    with pytest.raises(AtelierError, match="model: a gan model; compose needs a music model"):
        compose(load(path))


def test_compose_by_path_with_primer_pitches_or_a_midi_primer(rnn, tmp_path):
    from atelier.checkpoint import save_checkpoint

    path = save_checkpoint(tmp_path / "rnn.safetensors", kind=melody_rnn.KIND,
                           config=dataclasses.asdict(rnn.config), modules={"rnn": rnn.network})
    by_path = compose_by_name(path, bars=2, n=2, primer_pitches=[60, 62, -1, 64], seed=3)
    assert by_path == compose(rnn, bars=2, n=2, primer=primer_from_pitches([60, 62, -1, 64], rnn.config.encoding),
                              seed=3)
    midi = write_midi(tune(3, bars=1), tmp_path / "primer.mid")
    (melody,) = compose_by_name(rnn, bars=2, primer=midi, seed=0)
    assert melody.notes[:3] == read_midi(midi).notes[:3]
    with pytest.raises(AtelierError, match="give a primer or primer pitches, not both"):
        compose_by_name(rnn, primer=midi, primer_pitches=[60])
    with pytest.raises(AtelierError, match=r"primer pitch 90 \(position 1\): outside the model's range"):
        compose_by_name(rnn, primer_pitches=[90])


def test_primer_melody_object(rnn):
    primer = Melody((Note(72, 0, 8),), num_steps=8)
    (melody,) = compose(rnn, bars=1, primer=primer, seed=0)
    assert melody.notes[0].pitch == 72 and melody.notes[0].start_step == 0


# ---- call and response ------------------------------------------------------------------------

D_MAJOR_CALL = Melody((Note(62, 0, 8), Note(66, 8, 16), Note(69, 16, 24), Note(74, 24, 28), Note(73, 28, 32)),
                      num_steps=32, qpm=96.0, program=40)


def test_respond_answers_in_the_calls_key_and_ends_on_its_tonic(rnn):
    from atelier.music.compose import respond

    for seed in range(3):
        answer = respond(rnn, D_MAJOR_CALL, bars=2, seed=seed)
        assert answer.num_steps == 32 and answer.name == "answer" and (answer.qpm, answer.program) == (96.0, 40)
        assert {p % 12 for p in answer.pitches} <= {2, 4, 6, 7, 9, 11, 1}  # D major
        assert answer.notes[-1].pitch % 12 == 2 and answer.notes[-1].end_step == 32
    free = respond(rnn, D_MAJOR_CALL, bars=3, seed=0, in_key=False, end_on_tonic=False, top_p=1.0)
    assert free.num_steps == 48
    # a call that ends mid-bar is rounded up to the bar line; the answer starts after it
    assert respond(rnn, tune(1, bars=1), bars=1, seed=0).num_steps == 16


def test_respond_with_a_transformer_keeps_the_calls_meter():
    from atelier.music import melody_transformer
    from atelier.music.compose import respond

    config = dataclasses.replace(melody_transformer.PRESETS["melody-transformer"], d_model=16, num_layers=1,
                                 num_heads=2, d_ff=32, window_steps=48)
    model = melody_transformer.MelodyTransformerModel(config, melody_transformer.build_task(config).network)
    call = Melody((Note(69, 0, 6), Note(72, 6, 12), Note(76, 12, 18)), num_steps=18, time_signature=(6, 8))
    answer = respond(model, call, bars=2, style="irish", seed=0)
    assert answer.time_signature == (6, 8) and answer.num_steps == 24
    assert answer.notes[-1].pitch % 12 == 9  # A minor, found from the call


@pytest.mark.parametrize("make, kwargs, message", [
    ("vae", {}, "respond needs a melody RNN or a melody transformer, got a music_vae model"),
    ("rnn", dict(phrase=Melody((), num_steps=16)), "phrase: no notes to answer"),
    ("rnn", dict(phrase=Melody((Note(60, 0, 12),), num_steps=12, time_signature=(3, 4))), "a melody RNN answers in 4/4"),
    ("rnn", dict(style="irish"), "a melody RNN has no styles"),
    ("rnn", dict(bars=0), "bars=0"),
    ("rnn", dict(top_p=2.0), "top_p=2.0"),
])
def test_respond_refuses_bad_input(rnn, vae, make, kwargs, message):
    from atelier.music.compose import respond

    model = {"rnn": rnn, "vae": vae}[make]
    with pytest.raises(AtelierError, match=re.escape(message)):
        respond(model, **{"phrase": D_MAJOR_CALL, **kwargs})


def test_answers_lie_inside_their_bars_and_call_pitches_name_the_call(rnn):
    from atelier.api.music import respond as respond_by_model
    from atelier.music.compose import respond

    answers = [respond(rnn, D_MAJOR_CALL, bars=1, seed=s, in_key=False, end_on_tonic=False) for s in range(8)]
    assert all(a.notes and all(0 <= n.start_step < n.end_step <= 16 for n in a.notes) for a in answers)
    # a model that holds the call's last note over the bar line: the answer opens with that note
    class Holder(type(rnn)):
        def sample(self, n=1, **options):
            return [Melody((Note(62, 0, 8), Note(64, 24, 40), Note(66, 40, 48)), num_steps=48)]

    held = Holder(rnn.config, rnn.network)
    assert [(n.pitch, n.start_step, n.end_step) for n in respond(held, D_MAJOR_CALL, bars=1).notes] == [
        (64, 0, 8), (66, 8, 16)]
    with pytest.raises(AtelierError, match=re.escape("call pitch 30 (position 3): outside the model's range")):
        respond_by_model(rnn, phrase_pitches=[67, 62, 30])
    with pytest.raises(AtelierError, match="one of them"):
        respond_by_model(rnn)


def test_end_on_tonic_refuses_a_primer_that_reaches_the_last_bar(rnn):
    with pytest.raises(AtelierError, match="reaches into the last bar"):
        compose(rnn, bars=2, primer=[62] + [-2] * 19, end_on_tonic=True)
    assert compose(rnn, bars=3, primer=[62] + [-2] * 19, end_on_tonic=True, seed=0)[0].notes[-1].pitch % 12 == 2


def test_in_key_and_end_on_tonic_together_never_ask_for_a_tonic_outside_the_scale(rnn):
    melodies = compose(rnn, bars=2, n=200, in_key=True, end_on_tonic=True, temperature=1.5, seed=1)
    assert all({p % 12 for p in m.pitches} <= {0, 2, 4, 5, 7, 9, 11} for m in melodies)
