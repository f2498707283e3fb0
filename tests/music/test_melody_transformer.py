"""The melody transformer: relative attention, conditioning, incremental decoding, sampling controls."""

import dataclasses

import numpy as np
import pytest
import torch

from atelier.checkpoint import save_checkpoint
from atelier.data.melodies import TUNE_METERS, Tune, TuneWindows
from atelier.errors import AtelierError
from atelier.music import melody_transformer
from atelier.music.events import Melody, Note
from atelier.music.melody_transformer import PRESETS, MelodyTransformerConfig, MelodyTransformerModel
from atelier.music.tunes import condition_counts, data_sources, key_scale, parse_key, parse_meter
from tests.music.tunes import train, tunes

TINY = dict(d_model=32, num_layers=2, num_heads=4, d_ff=64, window_steps=32, dropout=0.0, lr=3e-3, warmup_steps=10,
            transpose=(0, 2))


def _tiny(**changes) -> MelodyTransformerConfig:
    return dataclasses.replace(PRESETS["melody-transformer"], **{**TINY, **changes})


def _model(config=None) -> MelodyTransformerModel:
    config = config or _tiny()
    return MelodyTransformerModel(config, melody_transformer.build_task(config).network)


def _waltzes(count: int) -> list[Melody]:
    """Made-up 3/4 tunes: the 4/4 made-up tunes' pitches on a dotted-quarter grid."""
    out = []
    for melody in tunes(count, bars=4):
        notes = tuple(Note(n.pitch, 6 * i, 6 * i + 6) for i, n in enumerate(melody.notes[:16]))
        out.append(Melody(notes, num_steps=96, time_signature=(3, 4), name=melody.name + "-waltz"))
    return out


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny transformer trained on made-up 4/4 tunes (style 0, C major) and 3/4 tunes (style 1, G major)."""
    config = _tiny()
    data = [Tune(m, 0, 0, 0) for m in tunes(10)] + [Tune(m.transpose(7), 1, 1, 7) for m in _waltzes(10)]
    windows = TuneWindows(data, encoding=config.encoding, window_steps=config.window_steps, transpose=config.transpose)
    counts = condition_counts(data, config)
    task, result = train(melody_transformer, config, windows, tmp_path_factory.mktemp("transformer"), steps=150,
                         batch_size=16, counts=counts)
    return MelodyTransformerModel(config, task.network), result


@pytest.mark.parametrize("change, message", [
    (dict(d_model=30, num_heads=4), "multiple of num_heads"),
    (dict(dropout=1.0), "dropout"),
    (dict(window_steps=8), "at least one bar"),
    (dict(styles=()), "styles"),
    (dict(styles=("essen", "essen")), "distinct"),
    (dict(transpose=()), "transpose"),
    (dict(lr=0.0), "lr=0.0"),
])
def test_config_refuses_bad_values(change, message):
    with pytest.raises(AtelierError, match=message):
        _tiny(**change)


def test_training_lowers_the_loss_below_a_uniform_guess(trained):
    model, result = trained
    losses = [float(row["loss"]) for row in result.history]
    assert np.mean(losses[-10:]) < 0.5 * np.mean(losses[:3])
    assert np.mean(losses[-10:]) < 0.5 * np.log(model.config.num_classes)


def test_incremental_decoding_equals_teacher_forcing():
    network = _model(_tiny()).network
    events = torch.randint(0, network.config.num_classes, (2, 32))
    conditions = torch.tensor([[0, 0, 3], [2, 2, 20]])
    full = network.log_probs(torch.cat([conditions, events], dim=1))
    logits, caches = network(network.inputs(events[:, :5]), conditions, 0, None)  # a primer of 4, then step by step
    steps = [logits]
    for t in range(5, 32):
        logits, caches = network(events[:, t - 1:t], conditions, t, caches)
        steps.append(logits)
    assert torch.allclose(torch.cat(steps, dim=1).log_softmax(-1), full, atol=1e-5)


def test_attention_is_causal_and_conditions_matter():
    network = _model().network
    events = torch.randint(0, network.config.num_classes, (1, 32))
    conditions = torch.tensor([[0, 0, 0]])
    before = network.log_probs(torch.cat([conditions, events], dim=1))
    changed = events.clone()
    changed[0, 20:] = (changed[0, 20:] + 1) % network.config.num_classes
    after = network.log_probs(torch.cat([conditions, changed], dim=1))
    assert torch.equal(before[0, :21], after[0, :21])  # step 20's prediction reads only events 0..19
    other_key = network.log_probs(torch.cat([torch.tensor([[0, 0, 5]]), events], dim=1))
    assert not torch.allclose(before, other_key)


def test_samples_follow_meter_key_and_style_and_the_controls(trained):
    model, _ = trained
    waltzes = model.sample(6, bars=4, style="irish", meter="3/4", key="G major", seed=0, in_key=True,
                           end_on_tonic=True)
    assert {m.time_signature for m in waltzes} == {(3, 4)} and {m.num_steps for m in waltzes} == {48}
    for melody in waltzes:
        assert {p % 12 for p in melody.pitches} <= key_scale(7)
        last = melody.notes[-1]
        assert last.pitch % 12 == 7 and (last.start_step, last.end_step) == (36, 48)  # the last bar: one held G
    assert model.sample(3, bars=2, seed=5) == model.sample(3, bars=2, seed=5)
    # left open, meter and key come from what the style was trained on (style 1: 3/4 in G major)
    drawn = model.sample(4, bars=2, style="irish", seed=1)
    assert {m.time_signature for m in drawn} == {(3, 4)} and all(m.name.endswith("G major") for m in drawn)


def test_a_primer_opens_every_tune_in_its_own_octave_and_meter(trained):
    model, _ = trained
    primer = Melody((Note(91, 0, 6), Note(88, 6, 12)), num_steps=12, time_signature=(6, 8))  # above the range
    tunes_ = model.sample(2, bars=3, primer=primer, seed=0, beam_size=2, branch_factor=2)
    for melody in tunes_:
        assert melody.time_signature == (6, 8) and melody.num_steps == 36
        assert [(n.pitch, n.start_step) for n in melody.notes[:2]] == [(91, 0), (88, 6)]  # its last note may be held


def test_checkpoint_round_trip_keeps_weights_and_counts(trained, tmp_path):
    model, _ = trained
    path = save_checkpoint(tmp_path / "t.safetensors", kind=melody_transformer.KIND,
                           config=dataclasses.asdict(model.config), modules={"transformer": model.network})
    loaded = MelodyTransformerModel.from_checkpoint(path)
    assert torch.equal(loaded.network.counts, model.network.counts) and loaded.network.counts.sum() > 0
    assert loaded.sample(2, bars=2, seed=3) == model.sample(2, bars=2, seed=3)


@pytest.mark.parametrize("kwargs, message", [
    (dict(style="jazz"), "style 'jazz'"),
    (dict(meter="5/4"), "meter '5/4'"),
    (dict(key="H major"), "key 'H major'"),
    (dict(top_p=0.0), "top_p=0.0"),
    (dict(bars=0), "bars=0"),
    (dict(bars=1, primer=Melody((Note(60, 0, 32),), num_steps=32)), "longer than 1 bars of its meter"),
    (dict(bars=2, primer=[60] + [-2] * 19), "longer than 2 bars of the shortest meter that may be drawn"),
    (dict(meter=6), "unknown meter '6'"),
    (dict(primer=Melody((Note(30, 0, 4), Note(100, 4, 8)), num_steps=8)), "spans pitches 30..100"),
])
def test_bad_sampling_arguments_are_one_line_errors(kwargs, message):
    with pytest.raises(AtelierError, match=message):
        _model().sample(1, **kwargs)


def test_keys_meters_and_data_sources_parse():
    assert parse_key("F# minor") == 18 and parse_key(3) == 3 and parse_key("14") == 14 and parse_meter("6/8") == TUNE_METERS.index((6, 8))
    config = _tiny()
    assert data_sources("essen,bach", config) == [(0, "essen"), (2, "bach-soprano")]
    assert data_sources("irish=some/folder", config) == [(1, "some/folder")]
    with pytest.raises(AtelierError, match="style of 'jazz=x'"):
        data_sources("jazz=x", config)
    with pytest.raises(AtelierError, match="style in the data 'jazz'"):
        data_sources("jazz", config)


def test_evaluation_refuses_a_model_that_held_nothing_out_of_its_own_data():
    from atelier.family import EvalOptions
    from atelier.music.tunes import evaluate_tunes

    model = _model()
    model.provenance = {"data": "essen", "split_seed": 0, "val_fraction": 0.0}
    with pytest.raises(AtelierError, match="trained on every piece of essen"):
        evaluate_tunes(model, name="m", options=EvalOptions(num_samples=4))


def test_scoring_windows_count_every_step_once():
    from atelier.data.melodies import PAD

    tune = Tune(_waltzes(1)[0], style=0, meter=1, key=0)  # 96 steps of 3/4: bars of 12
    windows = TuneWindows([tune], encoding=_tiny().encoding, window_steps=32, hop_bars=None)
    rows = windows.get_batch(range(len(windows)))[:, 3:]
    assert [windows.window(i)[1] for i in range(len(windows))] == [0, 24, 48, 72]  # 2 whole bars each
    assert int((rows != PAD).sum()) == 96
