"""GANs: every preset builds, every loss trains, training on real digits, exact resume, sampling."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from atelier.checkpoint import load_checkpoint
from atelier.errors import AtelierError
from atelier.images.gan import LOSSES, PRESETS, GANConfig, GANModel, build_task, r1_penalty, translate
from atelier.nn import seeded_normal, slerp
from atelier.training import StepContext, TrainConfig, fit
from atelier.training.distributed import DistInfo

torch.set_num_threads(1)

# Small versions of the presets, so a step takes milliseconds on one core.
TINY_MLP = dataclasses.replace(PRESETS["mlp-gan"], z_dim=16, mlp_hidden=(32, 32))
TINY_DCGAN = dataclasses.replace(PRESETS["dcgan"], z_dim=16, width=8)
TINY_CGAN = dataclasses.replace(PRESETS["cgan"], z_dim=16, width=8)
QUIET = dict(tensorboard=False, progress=False, sample_every=0, eval_every=0, log_every=1)


def context(task, step: int, batch_size: int) -> StepContext:
    return StepContext(step=step, seed=0, device=torch.device("cpu"), dist=DistInfo(),
                       optimizers=task.optimizers, global_batch=batch_size)


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def changed(before: dict[str, torch.Tensor], module: torch.nn.Module) -> bool:
    return any(not torch.equal(before[k], v) for k, v in module.state_dict().items())


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_maps_noise_to_images_and_images_to_logits(name):
    config = PRESETS[name]
    task = build_task(config)
    labels = torch.tensor([0, config.num_classes - 1]) if config.num_classes else None
    images = task.G(torch.randn(2, config.z_dim), labels)
    assert images.shape == (2, config.channels, config.image_size, config.image_size)
    assert images.abs().max() <= 1.0
    assert task.D(images, labels).shape == (2,)


@pytest.mark.parametrize("arch_config", [TINY_MLP, TINY_CGAN], ids=["mlp", "cond-dcgan"])
@pytest.mark.parametrize("loss", LOSSES)
def test_every_loss_is_finite_and_updates_both_networks(arch_config, loss):
    task = build_task(dataclasses.replace(arch_config, loss=loss))
    batch = (torch.rand(8, 1, 28, 28) * 2 - 1, torch.arange(8) % 10)
    g_before, d_before = snapshot(task.G), snapshot(task.D)
    losses = task.train_step(batch, context(task, 0, 8))
    expected = {"loss_d", "loss_g", "d_real", "d_fake"} | ({"gp"} if loss == "wgan-gp" else set())
    assert set(losses) == expected
    assert all(np.isfinite(float(v)) for v in losses.values())
    assert changed(g_before, task.G) and changed(d_before, task.D)


def test_wgan_gp_critic_has_no_batchnorm():
    for loss, has_batchnorm in [("nonsaturating", True), ("wgan-gp", False)]:
        task = build_task(dataclasses.replace(TINY_DCGAN, loss=loss))
        assert any(isinstance(m, torch.nn.BatchNorm2d) for m in task.D.modules()) == has_batchnorm


def test_generator_is_updated_every_n_critic_steps():
    task = build_task(dataclasses.replace(TINY_MLP, loss="wgan-gp", n_critic=3))
    batch = (torch.rand(4, 1, 28, 28) * 2 - 1, None)
    updated = ["loss_g" in task.train_step(batch, context(task, s, 4)) for s in range(6)]
    assert updated == [False, False, True, False, False, True]


def test_mlp_gan_trains_on_real_digits(digits, tmp_path):
    images, labels = digits
    task = build_task(TINY_MLP, val_batch=(images[:32], labels[:32]))
    g_before = snapshot(task.G)
    config = TrainConfig(num_steps=40, batch_size=32, **{**QUIET, "sample_every": 40, "eval_every": 40})
    result = fit(task, TensorDataset(images, labels), config=config, out_dir=tmp_path)

    assert len(result.history) == 40
    assert all(np.isfinite(row[k]) for row in result.history for k in ("loss_d", "loss_g"))
    assert changed(g_before, task.G)
    assert set(result.metrics) == {"d_val_real", "d_val_fake"}
    assert (tmp_path / "samples" / "step_000040.png").exists()
    model = GANModel.from_checkpoint(result.checkpoint)
    samples = model.sample(5, seed=3)
    assert samples.shape == (5, 1, 28, 28) and samples.abs().max() <= 1.0
    assert torch.equal(samples, model.sample(5, seed=3)) and not torch.equal(samples, model.sample(5, seed=4))


def test_resume_matches_an_uninterrupted_run(digits, tmp_path):
    images, labels = digits
    data = TensorDataset(images[:64], labels[:64])
    config = dataclasses.replace(TINY_CGAN, loss="wgan-gp", n_critic=2, ema_decay=0.9)
    full = fit(build_task(config), data, config=TrainConfig(num_steps=6, batch_size=16, **QUIET),
               out_dir=tmp_path / "full")
    fit(build_task(config), data, config=TrainConfig(num_steps=3, batch_size=16, **QUIET), out_dir=tmp_path / "split")
    split = fit(build_task(config), data, config=TrainConfig(num_steps=6, batch_size=16, **QUIET),
                out_dir=tmp_path / "split", resume=True)

    assert [row["step"] for row in split.history] == [1, 2, 3, 4, 5, 6]
    for a, b in zip(full.history, split.history):
        assert a.keys() == b.keys()
        assert all(a[k] == pytest.approx(b[k], rel=1e-5, abs=1e-6) for k in a)
    ckpt_full, ckpt_split = load_checkpoint(full.checkpoint), load_checkpoint(split.checkpoint)
    for name in ("G", "D", "G_ema"):
        for key, value in ckpt_full.module_state(name).items():
            torch.testing.assert_close(ckpt_split.module_state(name)[key], value, rtol=1e-5, atol=1e-6)


def test_ema_generator_is_saved_and_used_for_sampling(tmp_path):
    task = build_task(dataclasses.replace(TINY_MLP, ema_decay=0.5))
    assert set(task.modules) == {"G", "D", "G_ema"}
    assert set(build_task(TINY_MLP).modules) == {"G", "D"}
    data = TensorDataset(torch.rand(16, 1, 28, 28) * 2 - 1)
    result = fit(task, data, config=TrainConfig(num_steps=3, batch_size=8, **QUIET), out_dir=tmp_path)

    ckpt = load_checkpoint(result.checkpoint)
    ema, live = ckpt.module_state("G_ema"), ckpt.module_state("G")
    assert any(not torch.equal(ema[k], live[k]) for k in live)
    model_state = GANModel.from_checkpoint(ckpt).generator.state_dict()
    assert all(torch.equal(model_state[k], ema[k]) for k in ema)


def test_truncation_bounds_the_noise_and_must_be_positive():
    z = seeded_normal(2000, 16, seed=0, truncation=0.3)
    assert z.abs().max() <= 0.3 and z.std() > 0.1
    model = GANModel(TINY_DCGAN, build_task(TINY_DCGAN).G)
    assert model.sample(2, truncation=0.5).shape == (2, 1, 28, 28)
    for bad in (0, -1.0):
        with pytest.raises(AtelierError, match="truncation"):
            model.sample(2, truncation=bad)


def test_labels_are_checked_against_the_model():
    unconditional = GANModel(TINY_DCGAN, build_task(TINY_DCGAN).G)
    with pytest.raises(AtelierError, match="unconditional"):
        unconditional.sample(2, labels=[1, 2])
    conditional = GANModel(TINY_CGAN, build_task(TINY_CGAN).G)
    with pytest.raises(AtelierError, match=r"label 10 .*0\.\.9"):
        conditional.sample(2, labels=[3, 10])
    with pytest.raises(AtelierError, match="integer"):
        conditional.sample(2, labels=[0.5, 1.0])
    with pytest.raises(AtelierError, match="label="):
        conditional.interpolate(0, 1)
    assert conditional.sample(3, labels=7).shape == (3, 1, 28, 28)


def test_conditional_training_needs_labels():
    task = build_task(TINY_CGAN)
    with pytest.raises(AtelierError, match="need labels"):
        task.train_step((torch.zeros(4, 1, 28, 28), None), context(task, 0, 4))
    with pytest.raises(AtelierError, match=r"\[-1, 1\]"):
        task.train_step((torch.full((4, 1, 28, 28), 255.0), torch.zeros(4, dtype=torch.long)), context(task, 0, 4))


@pytest.mark.parametrize("config", [TINY_DCGAN, TINY_CGAN], ids=["dcgan", "cgan"])
def test_interpolation_ends_at_the_samples_of_the_two_seeds(config):
    model = GANModel(config, build_task(config).G)
    label = 4 if config.num_classes else None
    path = model.interpolate(3, 5, steps=6, label=label)
    assert path.shape == (6, 1, 28, 28)
    torch.testing.assert_close(path[0], model.sample(1, seed=3, labels=label)[0])
    torch.testing.assert_close(path[-1], model.sample(1, seed=5, labels=label)[0])


def test_slerp_keeps_the_norm_of_equal_length_vectors():
    a, b = seeded_normal(2, 64, seed=1)
    path = slerp(a * (b.norm() / a.norm()), b, torch.linspace(0, 1, 9))
    torch.testing.assert_close(path.norm(dim=1), b.norm().expand(9))


def test_preview_has_one_row_per_class():
    picture = build_task(TINY_CGAN).preview(None)
    assert picture.size == (8 * 30 + 2, 10 * 30 + 2)  # 28 px tiles + 2 px padding


@pytest.mark.parametrize("change, message", [
    (dict(image_size=48), "28, 32, 64"),
    (dict(loss="wasserstein"), "hinge, lsgan, nonsaturating, wgan-gp"),
    (dict(arch="resnet"), "dcgan, mlp"),
    (dict(z_dim=-4), "z_dim"),
    (dict(num_classes=1), "num_classes"),
    (dict(channels=2), "channels"),
    (dict(ema_decay=1.0), "ema_decay"),
    (dict(arch="mlp", dropout=1.0), "dropout"),
    (dict(arch="dcgan", dropout=0.3), "MLP discriminator"),
    (dict(translate=0.5), "translate"),
    (dict(r1_weight=-1.0), "r1_weight"),
])
def test_config_rejects_bad_values(change, message):
    with pytest.raises(AtelierError, match=message):
        GANConfig(**change)


def test_config_survives_a_json_roundtrip():
    import json

    from atelier.config import config_from_dict

    config = PRESETS["wgan-gp"]
    assert config_from_dict(GANConfig, json.loads(json.dumps(dataclasses.asdict(config)))) == config


def test_fast_path_run_with_spectral_norm_and_shifts_resumes_exactly(digits, tmp_path):
    images, labels = digits
    data = TensorDataset(images[:64], labels[:64])
    config = dataclasses.replace(TINY_CGAN, loss="hinge", spectral_norm=True, translate=0.125, ema_decay=0.9)
    assert build_task(config).fast_path
    loop = dict(batch_size=16, precision="bf16", **QUIET)
    full = fit(build_task(config), data, config=TrainConfig(num_steps=6, **loop), out_dir=tmp_path / "full")
    fit(build_task(config), data, config=TrainConfig(num_steps=3, **loop), out_dir=tmp_path / "split")
    split = fit(build_task(config), data, config=TrainConfig(num_steps=6, **loop), out_dir=tmp_path / "split",
                resume=True)
    for a, b in zip(full.history, split.history):
        assert all(a[k] == pytest.approx(b[k], rel=1e-5, abs=1e-6) for k in a)
    ckpt_full, ckpt_split = load_checkpoint(full.checkpoint), load_checkpoint(split.checkpoint)
    for name in ("G", "D", "G_ema"):
        for key, value in ckpt_full.module_state(name).items():
            torch.testing.assert_close(ckpt_split.module_state(name)[key], value, rtol=1e-5, atol=1e-6)
    assert not any("running_mean" in key for key in ckpt_full.module_state("D"))  # no BatchNorm in D


def test_spectral_norm_keeps_every_layer_of_d_at_unit_gain():
    task = build_task(dataclasses.replace(TINY_DCGAN, spectral_norm=True, loss="hinge"))
    x = torch.rand(8, 1, 28, 28) * 2 - 1
    for _ in range(30):  # one power iteration per training-mode forward
        task.D(x)
    for module in task.D.modules():
        if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
            sigma = torch.linalg.matrix_norm(module.weight.detach().flatten(1), ord=2)
            assert sigma == pytest.approx(1.0, abs=0.05)


def test_translate_moves_each_image_by_its_own_shift_and_passes_gradients():
    x = (torch.rand(2, 1, 6, 6) * 2 - 1).requires_grad_(True)
    out = translate(x, torch.tensor([[2, 0], [0, -1]]), 2)
    torch.testing.assert_close(out[0, :, 2:], x[0, :, :4])  # moved down two rows
    assert (out[0, :, :2] == -1).all()  # the uncovered rows are background
    torch.testing.assert_close(out[1, :, :, :5], x[1, :, :, 1:])  # moved one column left
    out.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert translate(x, torch.zeros(2, 2, dtype=torch.long), 0) is x


def test_the_wide_mlp_preset_has_dropout_in_d_only():
    task = build_task(PRESETS["mlp-gan-wide"])
    assert any(isinstance(m, torch.nn.Dropout) for m in task.D.modules())
    assert not any(isinstance(m, torch.nn.Dropout) for m in task.G.modules())


def test_r1_penalty_is_the_mean_squared_slope_of_d_on_real_images():
    task = build_task(dataclasses.replace(TINY_MLP, r1_weight=10.0))
    assert not task.fast_path
    real = torch.rand(4, 1, 28, 28) * 2 - 1
    expected = []
    for x in real:
        x = x[None].clone().requires_grad_(True)
        (g,) = torch.autograd.grad(task.D(x, None).sum(), x)
        expected.append(g.pow(2).sum())
    assert r1_penalty(task.D, real, None).item() == pytest.approx(torch.stack(expected).mean().item(), rel=1e-5)
    losses = task.train_step((real, None), context(task, 0, 4))
    assert losses["r1"] > 0
