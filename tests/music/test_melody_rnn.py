import dataclasses

import pytest
import torch

from atelier.checkpoint import save_checkpoint
from atelier.errors import AtelierError
from atelier.music import melody_rnn
from atelier.music.events import Melody, Note
from atelier.music.melody_rnn import PRESETS, MelodyRNNModel
from tests.music.tunes import train, tunes, windows

TINY = dict(rnn_size=32, num_layers=1, dropout=0.0, window_bars=2, lr=1e-2)
TINY_ATTENTION = dict(rnn_size=8, num_layers=1, attention_length=4)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A lookback RNN trained for 200 steps on 12 made-up tunes, and its training windows."""
    config = dataclasses.replace(PRESETS["melody-rnn-lookback"], **TINY)
    data = windows(tunes(12), config.window_steps)
    task, result = train(melody_rnn, config, data, tmp_path_factory.mktemp("rnn"), steps=200, batch_size=16)
    return MelodyRNNModel(config, task.network, provenance={"data": "made-up"}), data, result


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_training_lowers_the_loss(preset, tmp_path):
    config = dataclasses.replace(PRESETS[preset], **TINY)
    data = windows(tunes(8), config.window_steps)
    _, result = train(melody_rnn, config, data, tmp_path, steps=25)
    losses = [row["loss"] for row in result.history]
    assert sum(losses[-5:]) / 5 < 0.6 * sum(losses[:3]) / 3


def test_lookback_event_probabilities_sum_to_one():
    config = dataclasses.replace(PRESETS["melody-rnn-lookback"], **TINY)
    network = melody_rnn.build_task(config).network.eval()
    events = windows(tunes(2), 32)  # the repeat labels are live from step 16 on
    log_probs = network.log_probs(events)  # (B, T, C)
    assert log_probs.shape == (*events.shape, config.num_classes)
    assert torch.allclose(log_probs.logsumexp(-1), torch.zeros(events.shape), atol=1e-5)


def test_trained_model_predicts_held_in_tunes_well(trained):
    model, data, _ = trained
    metrics = model.score(data)
    assert metrics["accuracy"] > 0.8 and metrics["perplexity"] < 2.5
    assert set(metrics) == {"loss", "perplexity", "accuracy", "event_accuracy", "no_event_accuracy"}


def test_generation_respects_length_primer_seed_and_batch(trained):
    model, _, _ = trained
    primer = [64, -2, -2, -2, 67, -2, -2, -2]  # E4 and G4, a quarter note each
    melodies = model.sample(5, bars=3, primer=primer, seed=7, qpm=90, program=73)
    assert len(melodies) == 5 and all(m.num_steps == 48 and m.time_signature == (4, 4) for m in melodies)
    assert all(m.notes[:2] == (Note(64, 0, 4), Note(67, 4, 8)) for m in melodies)
    assert all(m.qpm == 90 and m.program == 73 for m in melodies)
    assert model.sample(5, bars=3, primer=primer, seed=7, qpm=90, program=73) == melodies
    assert model.sample(5, bars=3, primer=primer, seed=8, qpm=90, program=73) != melodies
    assert len({m.notes for m in melodies}) > 1  # the batch is not one melody five times


def test_primer_in_another_key_is_continued_in_that_key(trained):
    model, _, _ = trained
    d_major = Melody(tuple(Note(p, 4 * i, 4 * i + 4) for i, p in enumerate([62, 66, 69, 74, 73, 69])), num_steps=24)
    melodies = model.sample(8, bars=2, primer=d_major, seed=0)
    assert all(m.notes[:6] == d_major.notes[:5] + (m.notes[5],) for m in melodies)  # the last primer note may be held
    later = [n.pitch % 12 for m in melodies for n in m.notes[6:]]
    d_major_scale = {2, 4, 6, 7, 9, 11, 1}
    assert later and sum(p in d_major_scale for p in later) / len(later) > 0.8


def test_lower_temperature_and_beam_search_give_likelier_melodies(trained):
    model, _, _ = trained
    hot = model.log_likelihood(model.sample(32, bars=2, temperature=1.5, seed=1)).mean()
    cold = model.log_likelihood(model.sample(32, bars=2, temperature=0.5, seed=1)).mean()
    assert cold > hot
    sampled = model.log_likelihood(model.sample(32, bars=2, seed=2)).mean()
    beamed = model.log_likelihood(model.sample(32, bars=2, seed=2, beam_size=3, branch_factor=3,
                                                 steps_per_iteration=4)).mean()
    assert beamed > sampled


def test_checkpoint_round_trip_generates_the_same(trained, tmp_path):
    model, _, _ = trained
    path = save_checkpoint(tmp_path / "rnn.safetensors", kind=melody_rnn.KIND,
                           config=dataclasses.asdict(model.config), modules={"rnn": model.network},
                           extra={"provenance": {"data": "somewhere"}})
    loaded = MelodyRNNModel.from_checkpoint(path)
    assert loaded.sample(3, bars=2, seed=5) == model.sample(3, bars=2, seed=5)
    assert loaded.provenance["data"] == "somewhere"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(bars=0), "bars=0; must be a whole number of at least 1"),
        (dict(n=0), "n=0; must be a whole number of at least 1"),
        (dict(temperature=0.0), "temperature=0.0; must be a number greater than 0"),
        (dict(temperature=-1), "temperature=-1; must be a number greater than 0"),
        (dict(beam_size=0), "beam_size=0"),
        (dict(primer=[60, 100]), r"primer value 100 at position 1: use a pitch in 48..83"),
        (dict(primer=[]), "primer: empty"),
        (dict(primer=[60] * 40, bars=2), r"primer: 40 steps \(2.5 bars\) is longer than the 2 bars"),
        (dict(primer=Melody((Note(30, 0, 4), Note(90, 4, 8)), num_steps=8)), "primer: spans pitches 30..90"),
    ],
)
def test_bad_generation_arguments_are_one_line_errors(trained, kwargs, message):
    model, _, _ = trained
    with pytest.raises(AtelierError, match=message) as error:
        model.sample(**{"bars": 4, **kwargs})
    assert "\n" not in str(error.value)


def test_bad_configs_are_refused():
    with pytest.raises(AtelierError, match="unknown key 'D'; choose one of: C, any"):
        dataclasses.replace(PRESETS["melody-rnn"], key="D")
    with pytest.raises(AtelierError, match="dropout=1.0"):
        dataclasses.replace(PRESETS["melody-rnn"], dropout=1.0)
    with pytest.raises(AtelierError, match="melody encoding range 80..60"):
        dataclasses.replace(PRESETS["melody-rnn"], min_pitch=80, max_pitch=60)
    with pytest.raises(AtelierError, match=r"attention_length=-1; must be 0 \(no attention\) or a number of steps"):
        dataclasses.replace(PRESETS["melody-rnn"], attention_length=-1)


@pytest.mark.parametrize("lookback", [(), (4, 8)])
def test_attention_step_by_step_equals_teacher_forced(lookback):
    config = dataclasses.replace(PRESETS["melody-rnn-attention"], rnn_size=8, num_layers=2, attention_length=4,
                                 lookback_distances=lookback)
    network = melody_rnn.build_task(config).network.eval()
    events = windows(tunes(1), 24)[:3]  # (3, 24): the window of 4 outputs slides many times
    whole = network.log_probs(events)  # (3, 24, C)
    logits, state = network(network.inputs(events, 0, 5))  # a primer of 5 steps, then one step at a time
    pieces = [logits]
    for t in range(5, 24):
        assert all(s.shape[1] == 3 for s in state)  # every state tensor has the batch in dimension 1
        logits, state = network(network.inputs(events, t, t + 1), state)
        pieces.append(logits)
    stepped = network.event_log_probs(torch.cat(pieces, dim=1), events, 0, 24)
    assert torch.allclose(stepped, whole, atol=1e-5)
    assert [tuple(s.shape) for s in state] == [(2, 3, 8), (2, 3, 8), (1, 3, 8), (4, 3, 8), (4, 3, 8)]


def test_attention_beam_search_is_deterministic_for_a_seed():
    config = dataclasses.replace(PRESETS["melody-rnn-attention"], **TINY_ATTENTION)
    model = MelodyRNNModel(config, melody_rnn.build_task(config).network)
    beam = dict(bars=2, primer=[64, -2, 67, -2], beam_size=2, branch_factor=3, steps_per_iteration=4)
    melodies = model.sample(3, seed=3, **beam)
    assert [m.num_steps for m in melodies] == [32, 32, 32] and all(m.pitches[:2] == [64, 67] for m in melodies)
    assert model.sample(3, seed=3, **beam) == melodies
    assert model.sample(3, seed=4, **beam) != melodies


def test_attention_checkpoint_round_trip(tmp_path):
    config = dataclasses.replace(PRESETS["melody-rnn-attention"], **TINY_ATTENTION)
    model = MelodyRNNModel(config, melody_rnn.build_task(config, seed=1).network)
    path = save_checkpoint(tmp_path / "rnn.safetensors", kind=melody_rnn.KIND, config=dataclasses.asdict(config),
                           modules={"rnn": model.network})
    loaded = MelodyRNNModel.from_checkpoint(path)
    assert loaded.config == config and loaded.config.attention_length == 4
    assert loaded.sample(2, bars=1, seed=5, beam_size=2, branch_factor=2) == model.sample(
        2, bars=1, seed=5, beam_size=2, branch_factor=2)


def test_a_config_from_before_attention_still_loads(tmp_path):
    config = dataclasses.replace(PRESETS["melody-rnn-lookback"], rnn_size=8, num_layers=1)
    network = melody_rnn.build_task(config).network
    old_config = dataclasses.asdict(config)
    del old_config["attention_length"]  # as saved before the field existed
    path = save_checkpoint(tmp_path / "rnn.safetensors", kind=melody_rnn.KIND, config=old_config,
                           modules={"rnn": network})
    loaded = MelodyRNNModel.from_checkpoint(path)
    assert loaded.config == config and loaded.network.attention is None
    assert loaded.sample(2, bars=1, seed=0) == MelodyRNNModel(config, network).sample(2, bars=1, seed=0)


def test_end_on_tonic_without_a_primer_ends_on_the_key_each_melody_found():
    """No primer says the key: each melody's last bar is one held tonic of the key its other bars are in."""
    from atelier.analysis.melodies import find_key
    from atelier.data.melodies import crop

    config = dataclasses.replace(PRESETS["melody-rnn"], rnn_size=8, num_layers=1)
    model = MelodyRNNModel(config, melody_rnn.build_task(config).network)
    melodies = model.sample(6, bars=3, seed=2, end_on_tonic=True)
    for melody in melodies:
        last = melody.notes[-1]
        assert (last.start_step, last.end_step) == (32, 48)
        assert last.pitch % 12 == find_key(crop(melody, 32)).tonic
    assert model.sample(6, bars=3, seed=2, end_on_tonic=True) == melodies
