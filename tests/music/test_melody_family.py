"""Both melody families through the family contract alone: data, task, checkpoint, model, evaluation."""

import dataclasses

import pytest

from atelier.checkpoint import load_checkpoint
from atelier.data.melodies import MelodyData
from atelier.errors import AtelierError
from atelier.family import DataOptions, EvalOptions, EvaluationReport, TrainedModel, get_family
from atelier.music import melody_rnn, music_vae
from atelier.training import TrainConfig, fit
from tests.music.tunes import midi_folder

TINY = {
    "melody_rnn": dict(rnn_size=8, num_layers=1, window_bars=2),
    "music_vae": dict(z_dim=4, encoder_size=8, decoder_size=8),
}


@pytest.fixture(scope="module")
def tunes(tmp_path_factory):
    return midi_folder(tmp_path_factory.mktemp("melodies") / "tunes", count=10, bars=8)


def test_the_family_objects_are_the_modules():
    assert get_family("melody_rnn") is melody_rnn.FAMILY and get_family("music_vae") is music_vae.FAMILY
    for family in (melody_rnn.FAMILY, music_vae.FAMILY):
        assert family.default_data == "essen" and family.model_type.outputs == "melodies"
    assert melody_rnn.FAMILY.presets is melody_rnn.PRESETS and music_vae.FAMILY.presets is music_vae.PRESETS


@pytest.mark.parametrize("kind, preset", [("melody_rnn", "melody-rnn-lookback"), ("music_vae", "musicvae-2bar")])
def test_a_melody_family_trains_loads_samples_and_evaluates(kind, preset, tunes, tmp_path):
    family = get_family(kind)
    config = dataclasses.replace(family.presets[preset], **TINY[kind])
    # 1. data: typed windows, held-out windows and the fingerprint
    data = family.prepare_data(config, tunes, DataOptions(val_fraction=0.2, split_seed=0))
    assert isinstance(data, MelodyData) and data.train.shape[1] == data.val_windows.shape[1] == 32
    # 2. the task validates on the held-out windows
    task = family.build_task(config, data, seed=0)
    loop = TrainConfig(num_steps=4, batch_size=8, log_every=1, sample_every=0, eval_every=4, checkpoint_every=0,
                       tensorboard=False, progress=False)
    result = fit(task, data.train, config=loop, out_dir=tmp_path, data_fingerprint=data.fingerprint,
                 provenance={"data": str(tunes), "split_seed": 0, "val_fraction": 0.2})
    assert result.step == 4
    # 3. the checkpoint loads as the family's model, which samples melodies
    model = family.load(load_checkpoint(tmp_path / "checkpoint.safetensors"))
    assert isinstance(model, family.model_type) and isinstance(model, TrainedModel) and model.kind == kind
    melodies = model.sample(2, seed=0)
    length = 16 * 16 if kind == "melody_rnn" else 32  # 16 bars unless told; a MusicVAE's own 2 bars
    assert len(melodies) == 2 and all(m.num_steps == length for m in melodies)
    # 4. evaluation on the split the model was trained with
    report = family.evaluate(model, name="tiny", options=EvalOptions(num_samples=4, seed=1))
    assert isinstance(report, EvaluationReport) and report.kind == kind and report.num_samples == 4
    assert "feature_overlap_mean" in report.metrics and report.notes[0].startswith("held-out: 2 pieces of")
    own = "held_out_perplexity" if kind == "melody_rnn" else "held_out_sampled_accuracy"
    assert own in report.metrics


def test_sampling_options_are_declared():
    assert "primer" in melody_rnn.MelodyRNNModel.sample_options
    assert music_vae.MusicVAEModel.sample_options == ("temperature", "qpm", "program")
    config = dataclasses.replace(melody_rnn.PRESETS["melody-rnn"], **TINY["melody_rnn"])
    rnn = melody_rnn.MelodyRNNModel(config, melody_rnn.build_task(config).network)
    with pytest.raises(AtelierError, match="a melody_rnn model cannot interpolate; GANs, VAEs and MusicVAEs can"):
        rnn.interpolate(None, None)


@pytest.mark.parametrize("kind, preset", [("melody_rnn", "melody-rnn-lookback"), ("music_vae", "musicvae-2bar")])
def test_a_melody_family_trains_without_validation_past_a_file_it_cannot_hold(kind, preset, tunes, tmp_path):
    """val_fraction=0 trains on every piece; a MIDI file spanning 0..127 in the folder is skipped
    with a warning instead of stopping the run; evaluation then has no held-out pieces of its own."""
    import shutil

    import atelier
    from tests.music.midifiles import notes, write

    folder = tmp_path / "tunes"
    shutil.copytree(tunes, folder)
    write(folder / "wide.mid", [notes([(0, 240), (127, 240)] + [(p, 240) for p in (62, 64, 66, 67, 69, 71, 73, 74)] * 4)])
    loop = TrainConfig(num_steps=2, batch_size=8, log_every=1, sample_every=0, eval_every=1, checkpoint_every=0,
                       tensorboard=False, progress=False)
    overrides = [f"{k}={v}" for k, v in TINY[kind].items()]
    with pytest.warns(UserWarning, match="skipped 1 melody that does not fit the model's pitch range, e.g. wide.mid"):
        result = atelier.train(preset, data=folder, out=tmp_path / "run", overrides=overrides, train_config=loop,
                               options=DataOptions(val_fraction=0))
    assert result.step == 2 and result.metrics == {}  # nothing held out: no validation metrics
    family = get_family(kind)
    with pytest.raises(AtelierError, match="trained on every piece of .*tunes .val_fraction=0., so none is held out"):
        family.evaluate(atelier.load(result.checkpoint), name="tiny", options=EvalOptions(num_samples=4))
