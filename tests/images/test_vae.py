"""VAEs: every preset builds, the ELBO's terms are right, training on real digits lowers it,
exact resume, the IWAE bound, interpolation and input checks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch.distributions import Bernoulli, Normal, kl_divergence
from torch.utils.data import TensorDataset

from atelier.checkpoint import load_checkpoint
from atelier.errors import AtelierError
from atelier.images.vae import PRESETS, VAEConfig, VAEModel, build_task
from atelier.training import TrainConfig, fit

torch.set_num_threads(1)

TINY_CONV_CVAE = dataclasses.replace(PRESETS["conv-vae"], width=4, z_dim=4, num_classes=10,
                                     likelihood="gaussian", kl_warmup_steps=4)
QUIET = dict(tensorboard=False, progress=False, sample_every=0, eval_every=0, log_every=1)


@pytest.fixture(scope="module")
def trained(digits, tmp_path_factory):
    """The article's MLP VAE after 60 steps on 168 digits, 32 more held out."""
    images, labels = digits
    held_out = (images[168:], labels[168:])
    task = build_task(PRESETS["mlp-vae"], val_batch=held_out)
    before = VAEModel(task.config, task.vae).negative_elbo(held_out[0])
    config = TrainConfig(num_steps=60, batch_size=32, **{**QUIET, "log_every": 10, "eval_every": 60,
                                                         "sample_every": 60})
    out = tmp_path_factory.mktemp("vae")
    result = fit(task, TensorDataset(images[:168], labels[:168]), config=config, out_dir=out)
    return result, before, held_out, out


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_encodes_and_decodes_with_the_right_shapes(name):
    config = PRESETS[name]
    vae = build_task(config).vae
    x = torch.rand(2, config.channels, config.image_size, config.image_size) * 2 - 1
    labels = torch.tensor([0, config.num_classes - 1]) if config.num_classes else None
    mu, logvar = vae.encode(x, labels)
    assert mu.shape == logvar.shape == (2, config.z_dim)
    assert vae.decode(mu, labels).shape == x.shape
    recon, kl = vae(x, labels, torch.randn_like(mu))
    assert recon.shape == kl.shape == (2,)


@pytest.mark.parametrize("likelihood, sigma", [("bernoulli", None), ("gaussian", 0.3), ("gaussian", None)])
def test_elbo_terms_match_torch_distributions(likelihood, sigma):
    config = dataclasses.replace(PRESETS["mlp-vae"], hidden=(16,), z_dim=3, likelihood=likelihood, sigma=sigma)
    vae = build_task(config).vae
    if sigma is None and likelihood == "gaussian":
        vae.log_sigma.data.fill_(np.log(0.2))
    x = torch.randint(0, 2, (4, 1, 28, 28)).float() * 2 - 1  # binary pixels: a true Bernoulli likelihood
    eps = torch.randn(4, 3)
    recon, kl = vae(x, None, eps)

    mu, logvar = vae.encode(x)
    params = vae.decode(mu + (0.5 * logvar).exp() * eps)
    if likelihood == "bernoulli":
        log_px = Bernoulli(logits=params).log_prob((x + 1) / 2)
    else:
        log_px = Normal(params, sigma or 0.2).log_prob(x)
    torch.testing.assert_close(recon, -log_px.flatten(1).sum(1))
    q, p = Normal(mu, (0.5 * logvar).exp()), Normal(torch.zeros(3), torch.ones(3))
    torch.testing.assert_close(kl, kl_divergence(q, p).sum(1))


def test_mlp_vae_loss_falls_on_real_digits(trained):
    result, before, held_out, out = trained
    losses = [row["loss"] for row in result.history]
    assert len(losses) == 6 and all(np.isfinite(losses))
    assert losses[-1] < 0.8 * losses[0]
    assert result.metrics["neg_elbo"] < 0.8 * before
    assert (out / "samples" / "step_000060.png").exists()


def test_importance_weighted_bound_is_tighter_than_the_elbo(trained):
    result, _, (images, _), _ = trained
    model = VAEModel.from_checkpoint(result.checkpoint)
    elbo = model.negative_elbo(images)
    iwae = model.importance_weighted_nll(images, k=64, batch_size=512)
    assert np.isfinite(iwae) and iwae <= elbo
    # chunking changes only which noise is drawn, not the estimate
    assert model.importance_weighted_nll(images, k=64, batch_size=40) == pytest.approx(iwae, rel=0.01)


def test_interpolation_ends_at_its_endpoints(trained):
    result, _, (images, _), _ = trained
    model = VAEModel.from_checkpoint(result.checkpoint)
    path = model.interpolate(3, 8, steps=5)
    assert path.shape == (5, 1, 28, 28)
    torch.testing.assert_close(path[0], model.sample(1, seed=3)[0])
    torch.testing.assert_close(path[-1], model.sample(1, seed=8)[0])
    path = model.interpolate(images[0], images[1], steps=4)
    torch.testing.assert_close(path[[0, -1]], model.reconstruct(images[:2]))


def test_resume_matches_an_uninterrupted_run(digits, tmp_path):
    images, labels = digits
    data = TensorDataset(images[:64], labels[:64])
    full = fit(build_task(TINY_CONV_CVAE), data, config=TrainConfig(num_steps=6, batch_size=16, **QUIET),
               out_dir=tmp_path / "full")
    fit(build_task(TINY_CONV_CVAE), data, config=TrainConfig(num_steps=3, batch_size=16, **QUIET),
        out_dir=tmp_path / "split")
    split = fit(build_task(TINY_CONV_CVAE), data, config=TrainConfig(num_steps=6, batch_size=16, **QUIET),
                out_dir=tmp_path / "split", resume=True)

    for a, b in zip(full.history, split.history, strict=True):
        assert all(a[k] == pytest.approx(b[k], rel=1e-5) for k in a)
    state_full = load_checkpoint(full.checkpoint).module_state("vae")
    state_split = load_checkpoint(split.checkpoint).module_state("vae")
    assert "log_sigma" in state_full
    for key, value in state_full.items():
        torch.testing.assert_close(state_split[key], value, rtol=1e-5, atol=1e-6)


def test_kl_weight_warms_up_linearly_to_beta():
    task = build_task(dataclasses.replace(PRESETS["mlp-vae"], hidden=(8,), beta=2.0, kl_warmup_steps=4))
    assert [task.kl_weight(s) for s in range(6)] == [0.5, 1.0, 1.5, 2.0, 2.0, 2.0]
    assert build_task(PRESETS["mlp-vae"]).kl_weight(0) == 1.0


def test_conditional_vae_checks_its_labels():
    config = dataclasses.replace(PRESETS["cvae"], hidden=(16,))
    model = VAEModel(config, build_task(config).vae)
    assert model.sample(3, labels=2).shape == (3, 1, 28, 28)
    with pytest.raises(AtelierError, match=r"label 12 .*0\.\.9"):
        model.sample(2, labels=[1, 12])
    with pytest.raises(AtelierError, match="labels"):
        model.encode(torch.zeros(2, 1, 28, 28))
    with pytest.raises(AtelierError, match="label="):
        model.interpolate(0, 1)
    unconditional = VAEModel(PRESETS["mlp-vae"], build_task(PRESETS["mlp-vae"]).vae)
    with pytest.raises(AtelierError, match="unconditional"):
        unconditional.sample(2, labels=1)
    with pytest.raises(AtelierError, match="temperature"):
        unconditional.sample(2, temperature=0)
    with pytest.raises(AtelierError, match=r"\(N, 1, 28, 28\)"):
        unconditional.reconstruct(torch.zeros(2, 3, 32, 32))


@pytest.mark.parametrize("change, message", [
    (dict(likelihood="laplace"), "bernoulli, gaussian"),
    (dict(arch="conv", image_size=48), "28, 32, 64"),
    (dict(sigma=0.1), "gaussian"),
    (dict(hidden=(512, -1)), "hidden"),
    (dict(beta=-1.0), "beta"),
    (dict(translate=0.5), "translate"),
])
def test_config_rejects_bad_values(change, message):
    with pytest.raises(AtelierError, match=message):
        VAEConfig(**change)


def test_translate_shifts_the_training_images_and_nothing_else():
    """With ``translate`` each training image is moved by its own seeded shift before the ELBO; the
    loss then differs from an unshifted step's, while evaluation (negative_elbo) never shifts."""
    from types import SimpleNamespace

    from atelier.images.vae import negative_elbo

    config = dataclasses.replace(PRESETS["mlp-vae"], hidden=(16,), z_dim=2)
    x = -torch.ones(4, 1, 28, 28)
    x[:, :, 10:18, 12:16] = 1.0  # a bar away from the border, so every shift moves ink
    seen = []

    def run(translate):
        task = build_task(dataclasses.replace(config, translate=translate), seed=0)
        task.vae.forward = lambda images, labels, eps: (seen.append(images.clone()) or (images.new_zeros(4),) * 2)
        g = torch.Generator().manual_seed(0)
        ctx = SimpleNamespace(step=0, randn=lambda *s: torch.randn(4, *s, generator=g),
                              randint=lambda high, *s: torch.randint(high, (4, *s), generator=g),
                              optimize=lambda name, loss: None)
        task.train_step((x, None), ctx)

    run(0.0)
    run(0.1)  # round(0.1 · 28) = 3 pixels at most
    assert torch.equal(seen[0], x)
    assert not torch.equal(seen[1], x) and seen[1].sum() == x.sum()  # moved, never cut off (the bar has room)
    task = build_task(dataclasses.replace(config, translate=0.1), seed=0)
    assert negative_elbo(task.vae, x, None, seed=0) == negative_elbo(build_task(config, seed=0).vae, x, None, seed=0)
