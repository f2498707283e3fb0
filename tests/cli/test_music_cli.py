"""The music commands end to end through `atelier.cli.main`, on tiny models trained here on a folder
of made-up MIDI tunes (no corpus is parsed)."""

import dataclasses
import json

import pytest

from atelier.cli import main
from atelier.music.midi import read_midi
from tests.music.midifiles import bad_files
from tests.music.tunes import midi_folder, tune

LOOP = ["--batch-size", "8", "--no-progress", "--no-tensorboard", "--sample-every", "0", "--eval-every", "0",
        "--log-every", "1"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("music")
    data = midi_folder(root / "tunes", count=12, bars=8)
    assert main(["train", "melody-rnn-lookback", "--data", str(data), "--num-steps", "6", "--set", "rnn_size=16",
                 "--set", "num_layers=1", "--set", "window_bars=2", "--out", str(root / "rnn"), *LOOP]) == 0
    assert main(["train", "musicvae-2bar", "--data", str(data), "--num-steps", "6", "--set", "z_dim=4",
                 "--set", "encoder_size=8", "--set", "decoder_size=8", "--out", str(root / "vae"), *LOOP]) == 0
    a, b = root / "a.mid", root / "b.mid"
    from atelier.music.midi import write_midi

    write_midi(tune(20, bars=2), a)
    write_midi(tune(21, bars=2), b)
    return {"rnn": str(root / "rnn" / "checkpoint.safetensors"), "vae": str(root / "vae" / "checkpoint.safetensors"),
            "a": str(a), "b": str(b), "root": root}


def _err(capsys):
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err and err.startswith("atelier: error: ")
    return err


def test_train_prints_validation_and_checkpoint(models, capsys):
    out = models["root"] / "again"
    assert main(["train", "melody-rnn", "--data", str(models["root"] / "tunes"), "--num-steps", "3",
                 "--set", "rnn_size=8", "--set", "window_bars=2", "--out", str(out), *LOOP[:-1], "1",
                 "--eval-every", "3"]) == 0
    printed = capsys.readouterr().out
    assert "trained melody-rnn to step 3" in printed and "validation: loss" in printed
    assert (out / "checkpoint.safetensors").exists()


def test_compose_writes_midi_png_musicxml_and_wav(models, tmp_path, capsys):
    out = tmp_path / "songs"
    assert main(["compose", models["rnn"], "--bars", "4", "--n", "3", "--temperature", "0.9",
                 "--primer-pitches", "60,62,64", "--seed", "1", "--qpm", "100", "--program", "73", "--wav",
                 "--out", str(out)]) == 0
    assert "wrote 3 melodies of 4 bars at 100 qpm (12 files)" in capsys.readouterr().out
    assert sorted(p.suffix for p in out.iterdir()) == [".mid"] * 3 + [".musicxml"] * 3 + [".png"] * 3 + [".wav"] * 3
    melody = read_midi(out / "melody_002.mid")
    assert melody.pitches[:3] == [60, 62, 64] and (melody.qpm, melody.program, melody.num_steps) == (100.0, 73, 64)


def test_compose_same_seed_same_midi(models, tmp_path):
    for name in ("a", "b"):
        assert main(["compose", models["rnn"], "--bars", "2", "--n", "2", "--seed", "3", "--no-musicxml",
                     "--no-piano-roll", "--out", str(tmp_path / name)]) == 0
    assert (tmp_path / "a" / "melody_002.mid").read_bytes() == (tmp_path / "b" / "melody_002.mid").read_bytes()


def test_compose_with_a_midi_primer_and_with_a_music_vae(models, tmp_path):
    assert main(["compose", models["rnn"], "--bars", "3", "--primer", models["a"], "--out", str(tmp_path / "p")]) == 0
    primed = read_midi(tmp_path / "p" / "melody_001.mid")
    assert primed.notes[:4] == read_midi(models["a"]).notes[:4]
    assert main(["compose", models["vae"], "--n", "2", "--no-musicxml", "--out", str(tmp_path / "v")]) == 0
    assert read_midi(tmp_path / "v" / "melody_001.mid").num_steps <= 32


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--bars", "0"], "bars=0 (--bars): must be a whole number of at least 1"),
        (["--bars", "-2"], "bars=-2 (--bars): must be a whole number of at least 1"),
        (["--n", "0"], "n=0 (--n): must be a whole number of at least 1"),
        (["--temperature", "0"], "temperature=0.0 (--temperature): must be greater than 0"),
        (["--temperature", "-1"], "temperature=-1.0 (--temperature): must be greater than 0"),
        (["--primer-pitches", "60,130"], "primer pitch 130 (position 2): outside the model's range 48..83"),
        (["--primer-pitches", "sixty"], "expected MIDI pitches separated by commas"),
        (["--primer", "MISSING"], "MIDI file MISSING: not found"),
        (["--style", "irish"], "style: a melody RNN writes 4/4 tunes without styles or keys"),
        (["--top-p", "0"], "top_p=0.0"),
    ],
)
def test_compose_bad_arguments_exit_2_and_write_nothing(models, tmp_path, capsys, extra, message):
    out = tmp_path / "songs"
    assert main(["compose", models["rnn"], "--out", str(out), *extra]) == 2
    assert message in _err(capsys)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_compose_bad_primer_files_exit_2(models, tmp_path, capsys):
    for what, path in bad_files(tmp_path / "bad").items():
        assert main(["compose", models["rnn"], "--primer", str(path), "--out", str(tmp_path / "songs")]) == 2, what
        assert str(path) in _err(capsys)
        assert not (tmp_path / "songs").exists()


def test_compose_refuses_image_models_and_vae_lengths(models, tmp_path, capsys):
    gan = _gan_checkpoint(tmp_path)
    assert main(["compose", str(gan), "--out", str(tmp_path / "s")]) == 2
    assert "a gan model; this needs a music model" in _err(capsys)
    assert main(["compose", models["vae"], "--bars", "16", "--out", str(tmp_path / "s")]) == 2
    assert "this MusicVAE makes 2-bar melodies" in _err(capsys)
    assert not (tmp_path / "s").exists()


def test_interpolate_two_midi_files(models, tmp_path, capsys):
    out = tmp_path / "interp"
    assert main(["interpolate", models["vae"], models["a"], models["b"], "--steps", "4", "--out", str(out)]) == 0
    assert "wrote 4 steps from a.mid to b.mid" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["interpolation.mid", "interpolation.png", "interpolation.wav",
                                                     "step_01.mid", "step_02.mid", "step_03.mid", "step_04.mid"]


@pytest.mark.parametrize("model, inputs, message", [
    ("rnn", ["a", "b"], "interpolate needs a MusicVAE (music_vae) model, got a melody_rnn model"),
    ("vae", ["a"], "interpolate with a music model takes two MIDI files, got 1"),
    ("vae", ["a", "empty"], "empty or truncated"),
    ("gan", ["a", "b"], "encode/decode/reconstruct need a VAE, this is a GAN"),
])
def test_interpolate_bad_inputs_exit_2(models, tmp_path, capsys, model, inputs, message):
    paths = {"a": models["a"], "b": models["b"], "empty": str(bad_files(tmp_path / "bad")["empty"])}
    checkpoint = str(_gan_checkpoint(tmp_path)) if model == "gan" else models[model]
    out = tmp_path / "interp"
    assert main(["interpolate", checkpoint, *(paths[i] for i in inputs), "--out", str(out)]) == 2
    assert message in _err(capsys)
    assert not out.exists()


def test_evaluate_music_models(models, tmp_path, capsys):
    report = tmp_path / "r.json"
    assert main(["evaluate", models["rnn"], "--num-samples", "8", "--json", str(report)]) == 0
    metrics = json.loads(report.read_text())["metrics"]
    assert {"held_out_loss", "held_out_perplexity", "held_out_accuracy", "held_out_event_accuracy",
            "held_out_no_event_accuracy", "feature_overlap_mean"} <= set(metrics)
    assert main(["evaluate", models["vae"], "--num-samples", "8"]) == 0
    printed = capsys.readouterr().out
    assert "held_out_teacher_forced_accuracy" in printed and "held_out_sampled_accuracy" in printed


def _gan_checkpoint(tmp_path):
    from atelier.checkpoint import save_checkpoint
    from atelier.images import gan

    config = dataclasses.replace(gan.PRESETS["mlp-gan"], mlp_hidden=(8,))
    return save_checkpoint(tmp_path / "gan.safetensors", kind="gan", config=dataclasses.asdict(config),
                           modules=gan.build_task(config).modules)


def test_respond_writes_the_answer_and_reproduces_it(models, tmp_path, capsys):
    out = tmp_path / "answer"
    assert main(["respond", models["rnn"], models["a"], "--bars", "2", "--seed", "4", "--out", str(out)]) == 0
    assert "wrote a 2-bar answer of" in capsys.readouterr().out
    answer = read_midi(out / "melody_001.mid")
    assert answer.num_steps == 32 and answer.notes
    assert main(["reproduce", str(out / "melody_001.mid")]) == 0
    assert "identical" in capsys.readouterr().out
    assert main(["respond", models["rnn"], "--call-pitches", "67,64,62", "--no-in-key", "--no-end-on-tonic",
                 "--top-p", "1", "--out", str(tmp_path / "pitches")]) == 0


@pytest.mark.parametrize("extra, message", [
    ([], "give the call as a MIDI file (CALL.mid) or as --call-pitches, one of them"),
    (["CALL.mid", "--call-pitches", "60,64"], "give the call as a MIDI file"),
    (["--call-pitches", "60,64", "--bars", "0"], "bars=0"),
    (["--call-pitches", "60,64", "--style", "irish"], "a melody RNN has no styles"),
    (["--call-pitches", "60,64", "--top-p", "0"], "top_p=0.0"),
])
def test_respond_bad_arguments_exit_2_and_write_nothing(models, tmp_path, capsys, extra, message):
    out = tmp_path / "answer"
    assert main(["respond", models["rnn"], *extra, "--out", str(out)]) == 2
    assert message in _err(capsys)
    assert not out.exists()


def test_a_melody_transformer_trains_on_a_folder_and_is_evaluated(models, tmp_path, capsys):
    out = tmp_path / "transformer"
    assert main(["train", "melody-transformer-small", "--data", str(models["root"] / "tunes"), "--num-steps", "4",
                 "--set", "d_model=16", "--set", "num_heads=2", "--set", "num_layers=1", "--set", "d_ff=16",
                 "--set", "window_steps=32", "--val-fraction", "0.25", "--out", str(out), *LOOP]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(out / "checkpoint.safetensors"), "--num-samples", "4", "--json",
                 str(tmp_path / "report.json")]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    metrics = report["metrics"]
    assert metrics["held_out_perplexity"] > 1 and metrics["ngram4_perplexity"] > 1
    assert metrics["essen_ends_on_tonic_constrained"] == 1.0 and 0 <= metrics["essen_in_key"] <= 1
    assert main(["compose", str(out / "checkpoint.safetensors"), "--bars", "2", "--n", "2", "--no-musicxml",
                 "--meter", "6/8", "--key", "D major", "--in-key", "--end-on-tonic", "--top-p", "0.9",
                 "--out", str(tmp_path / "songs")]) == 0
    tune = read_midi(tmp_path / "songs" / "melody_002.mid")
    assert tune.time_signature == (6, 8) and tune.num_steps == 24
    assert {p % 12 for p in tune.pitches} <= {2, 4, 6, 7, 9, 11, 1} and tune.notes[-1].pitch % 12 == 2
