import dataclasses

import pytest
import torch

from atelier.checkpoint import save_checkpoint
from atelier.errors import AtelierError
from atelier.music import music_vae
from atelier.music.events import Melody, Note
from atelier.music.music_vae import PRESETS, MusicVAEModel, kl_weight, sampling_probability
from tests.music.tunes import train, tune, tunes, windows

TINY = dict(z_dim=8, encoder_size=32, decoder_size=64, decoder_layers=1, conductor_size=32, lr=1e-2)


@pytest.fixture(scope="module")
def memorised(tmp_path_factory):
    """A 2-bar MusicVAE that has learned two melodies by heart (as written: key="any")."""
    a, b = tune(1, bars=2), tune(2, bars=2)
    config = dataclasses.replace(PRESETS["musicvae-2bar"], **TINY, max_beta=0.05, beta_rate=0.99,
                                 scheduled_sampling=0.0, key="any")
    task, _ = train(music_vae, config, windows([a, b] * 8, 32), tmp_path_factory.mktemp("vae"), steps=250)
    return MusicVAEModel(config, task.network), a, b


@pytest.mark.parametrize("preset, bars", [("musicvae-2bar", 2), ("musicvae-16bar", 2)])
def test_training_lowers_the_loss(preset, bars, tmp_path):
    config = dataclasses.replace(PRESETS[preset], **TINY, bars=bars)
    data = windows(tunes(6), config.num_steps)
    _, result = train(music_vae, config, data, tmp_path, steps=25)
    recon = [row["recon"] for row in result.history]
    assert sum(recon[-5:]) / 5 < 0.6 * sum(recon[:3]) / 3


def test_hierarchical_decoder_makes_one_segment_per_bar():
    config = dataclasses.replace(PRESETS["musicvae-16bar"], **TINY, bars=3)
    network = music_vae.build_task(config).network.eval()
    assert network.segments == (3, 16)
    events = windows(tunes(2, bars=3), 48)
    assert network.logits(music_vae.shift_right(events), torch.zeros(2, 8)).shape == (2, 48, config.num_classes)
    model = MusicVAEModel(config, network)
    assert [m.num_steps for m in model.sample(2, seed=0)] == [48, 48]


def test_interpolation_endpoints_decode_back_to_the_inputs(memorised):
    model, a, b = memorised
    path = model.interpolate(a, b, steps=5)
    assert len(path) == 5 and all(m.num_steps == 32 for m in path)
    assert path[0].notes == a.notes and path[-1].notes == b.notes
    assert model.reconstruct([a, b])[1].notes == b.notes
    scores = model.score(windows([a, b], 32))
    assert scores["teacher_forced_accuracy"] == scores["sampled_accuracy"] == 1.0


def test_encode_decode_shapes_and_determinism(memorised):
    model, a, b = memorised
    mu, sigma = model.encode([a, b, a.transpose(2)])
    assert mu.shape == sigma.shape == (3, 8) and bool((sigma > 0).all())
    long = Melody(a.notes + tuple(Note(n.pitch, n.start_step + 32, n.end_step + 32) for n in a.notes), num_steps=64)
    assert torch.allclose(model.encode([long])[0], mu[:1], atol=1e-5)  # the first 2 bars are what counts
    assert model.decode(mu) == model.decode(mu)  # most likely events: deterministic
    sampled = model.decode(mu, temperature=1.0, seed=3)
    assert sampled == model.decode(mu, temperature=1.0, seed=3) and len(sampled) == 3


def test_sample_respects_temperature_seed_and_count(memorised):
    model, a, b = memorised
    melodies = model.sample(6, temperature=0.8, seed=11, qpm=100, program=40)
    assert len(melodies) == 6 and all(m.num_steps == 32 and m.qpm == 100 and m.program == 40 for m in melodies)
    assert model.sample(6, temperature=0.8, seed=11, qpm=100, program=40) == melodies
    assert model.sample(6, temperature=0.8, seed=12, qpm=100, program=40) != melodies


def test_key_moves_are_undone(tmp_path):
    config = dataclasses.replace(PRESETS["musicvae-2bar"], **TINY)  # key="C"
    model = MusicVAEModel(config, music_vae.build_task(config).network)
    d_major = Melody(tuple(Note(p, 4 * i, 4 * i + 4) for i, p in enumerate([62, 66, 69, 74, 73, 69, 66, 62])), num_steps=32)
    assert torch.allclose(model.encode([d_major])[0], model.encode([d_major.transpose(-2)])[0], atol=1e-5)


def test_attribute_vector(memorised):
    model, a, b = memorised
    data = [tune(seed, bars=8) for seed in range(6)]
    vector = model.attribute_vector(data, "note_density")
    assert vector.shape == (8,) and bool(torch.isfinite(vector).all())
    with pytest.raises(AtelierError, match="unknown attribute 'loudness'; choose one of: empty_beat_rate"):
        model.attribute_vector(data, "loudness")
    with pytest.raises(AtelierError, match="need at least 4"):
        model.attribute_vector([tune(0, bars=2)], "pitch_range")


def test_checkpoint_round_trip(memorised, tmp_path):
    model, a, b = memorised
    path = save_checkpoint(tmp_path / "vae.safetensors", kind=music_vae.KIND, config=dataclasses.asdict(model.config),
                           modules={"vae": model.network})
    loaded = MusicVAEModel.from_checkpoint(path)
    assert loaded.interpolate(a, b, steps=3) == model.interpolate(a, b, steps=3)


def test_schedules():
    config = PRESETS["musicvae-2bar"]
    assert kl_weight(config, 0) == 0.0 and kl_weight(config, 10**6) == pytest.approx(config.max_beta)
    assert sampling_probability(config, 0) < 0.01 < sampling_probability(config, 3000) < 1.0
    assert sampling_probability(dataclasses.replace(config, scheduled_sampling=0.0), 10**6) == 0.0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m, a: m.decode(torch.zeros(2, 5)), r"z \(2, 5\); expected \(N, 8\)"),
        (lambda m, a: m.interpolate(a, a, steps=1), "steps=1; an interpolation needs at least 2"),
        (lambda m, a: m.encode([Melody((), num_steps=32, name="silence")]), "melody silence: no notes to encode"),
        (lambda m, a: m.encode([Melody((Note(20, 0, 4), Note(100, 4, 8)), num_steps=32, name="wide")]),
         "melody wide: spans pitches 20..100"),
        (lambda m, a: m.sample(0), "n=0"),
        (lambda m, a: m.sample(2, temperature=0), "temperature=0; must be a number greater than 0"),
        (lambda m, a: m.decode(torch.zeros(1, 8), temperature=-1.0), "temperature=-1.0"),
    ],
)
def test_bad_inputs_are_one_line_errors(memorised, call, message):
    model, a, _ = memorised
    with pytest.raises(AtelierError, match=message) as error:
        call(model, a)
    assert "\n" not in str(error.value)
