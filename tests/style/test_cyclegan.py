"""CycleGAN on tiny synthetic domains: the networks' shapes, the PatchGAN's 70×70 field, the losses,
the image pool, the two-domain data, training and exact resume."""

import dataclasses

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from atelier.checkpoint import save_checkpoint
from atelier.data.unpaired import synthetic_domains, unpaired
from atelier.errors import AtelierError
from atelier.family import DataOptions
from atelier.style import cyclegan as cg
from atelier.training import TrainConfig, fit

TINY = dataclasses.replace(cg.PRESETS["cyclegan-tiny"], image_size=16, ngf=4, n_blocks=1, ndf=8, d_layers=2)
QUIET = dict(log_every=1, sample_every=0, eval_every=0, checkpoint_every=0, tensorboard=False, progress=False)


def _train(config, data, out, *, num_steps, batch_size=2, resume=False):
    task = cg.build_task(config, seed=0)
    result = fit(task, data, config=TrainConfig(num_steps=num_steps, batch_size=batch_size, **QUIET),
                 out_dir=out, resume=resume)
    return task, result


@pytest.fixture(scope="module")
def shapes():
    """Squares (A) and discs (B) of many colours on dark backgrounds, 16 px."""
    a, b = synthetic_domains("squares-circles", size=16, n=24)
    return unpaired(a, b, seed=0)


# ---- networks ---------------------------------------------------------------------------------

def test_generator_keeps_any_multiple_of_4_and_stays_in_range():
    G = cg.ResnetGenerator(channels=3, ngf=4, n_blocks=2)
    y = G(torch.rand(2, 3, 16, 24) * 2 - 1)
    assert y.shape == (2, 3, 16, 24) and y.abs().max() <= 1
    assert cg.ResnetGenerator(channels=1, ngf=4, n_blocks=0)(torch.zeros(1, 1, 8, 8)).shape == (1, 1, 8, 8)


def test_generator_has_the_papers_layout_at_256():
    G = cg.ResnetGenerator(channels=3, ngf=64, n_blocks=9)
    convs = [m for m in G.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    widths = [m.out_channels for m in convs]  # c7s1-64, d128, d256, R256 × 9, u128, u64, c7s1-3
    assert widths == [64, 128, 256] + [256] * 18 + [128, 64, 3]
    assert convs[0].kernel_size == (7, 7) and convs[-1].kernel_size == (7, 7)
    assert sum(isinstance(m, cg.ResidualBlock) for m in G.modules()) == 9
    assert sum(isinstance(m, nn.ReflectionPad2d) for m in G.modules()) == 2 + 2 * 9


@pytest.mark.parametrize("size, d_layers, grid", [(256, 3, 30), (128, 3, 14), (64, 3, 6), (32, 2, 6), (16, 2, 2)])
def test_patchgan_scores_one_value_per_patch(size, d_layers, grid):
    D = cg.PatchDiscriminator(channels=3, ndf=4, d_layers=d_layers)
    assert D(torch.zeros(1, 3, size, size)).shape == (1, 1, grid, grid)
    assert cg.patch_grid(size, d_layers) == grid


@pytest.mark.parametrize("d_layers, field", [(3, 70), (2, 34), (1, 16)])
def test_patchgan_receptive_field_measured_by_gradient_footprint(d_layers, field):
    torch.manual_seed(0)
    D = cg.PatchDiscriminator(channels=1, ndf=2, d_layers=d_layers)
    for i, m in enumerate(D.net):  # instance norm mixes every position; the field is the convs'
        if isinstance(m, nn.InstanceNorm2d):
            D.net[i] = nn.Identity()
    x = torch.randn(1, 1, 160, 160, requires_grad=True)
    scores = D(x)  # (1, 1, h, w)
    h, w = scores.shape[-2:]
    scores[0, 0, h // 2, w // 2].backward()
    rows, cols = x.grad[0, 0].abs().sum(1).nonzero(), x.grad[0, 0].abs().sum(0).nonzero()
    assert int(rows.max() - rows.min() + 1) == field == int(cols.max() - cols.min() + 1)
    assert cg.receptive_field(d_layers) == field


# ---- losses and the pool ----------------------------------------------------------------------

def test_least_squares_and_cycle_losses():
    ones, zeros = torch.ones(2, 1, 3, 3), torch.zeros(2, 1, 3, 3)
    assert cg.generator_adversarial_loss(ones) == 0 and cg.generator_adversarial_loss(zeros) == 1
    assert cg.patch_discriminator_loss(ones, zeros) == 0  # D right everywhere
    assert cg.patch_discriminator_loss(zeros, ones) == 1  # ½ + ½: D wrong everywhere
    x = torch.zeros(1, 3, 4, 4)
    assert cg.cycle_loss(x + 0.25, x) == pytest.approx(0.25)


def test_image_pool_fills_then_swaps_half_the_time():
    pool = cg.ImagePool(2, channels=1, image_size=2)
    first = torch.stack([torch.full((1, 2, 2), v) for v in (1.0, 2.0)])
    assert torch.equal(pool.query(first, u=torch.zeros(2), slots=torch.zeros(2, dtype=torch.long)), first)
    assert int(pool.count) == 2  # while filling, fakes go in and straight out
    new = torch.full((2, 1, 2, 2), 9.0)
    out = pool.query(new, u=torch.tensor([0.2, 0.7]), slots=torch.tensor([1, 0]))
    assert out[0].unique().item() == 2.0  # u < ½: an old fake (slot 1) is shown …
    assert pool.images[1].unique().item() == 9.0  # … and the new one takes its place
    assert out[1].unique().item() == 9.0 and pool.images[0].unique().item() == 1.0  # u ≥ ½: passed through
    restored = cg.ImagePool(2, channels=1, image_size=2)
    restored.load_state_dict(pool.state_dict())  # the pool rides in checkpoints
    assert torch.equal(restored.images, pool.images) and int(restored.count) == 2
    no_pool = cg.ImagePool(0, channels=1, image_size=2)
    assert torch.equal(no_pool.query(new, u=torch.zeros(2), slots=torch.zeros(2)), new)


@pytest.mark.filterwarnings("ignore:Detected call of")
def test_learning_rate_is_constant_then_decays_linearly_to_zero():
    task = cg.build_task(dataclasses.replace(TINY, lr_constant_steps=2, lr_decay_steps=4))
    lrs = []
    for _ in range(7):
        lrs.append(task.optimizers["G"].param_groups[0]["lr"])
        for sched in task.schedulers.values():
            sched.step()
    assert lrs == pytest.approx([2e-4, 2e-4, 2e-4, 1.5e-4, 1e-4, 0.5e-4, 0.0])
    assert task.optimizers["D"].param_groups[0]["lr"] == 0.0


# ---- data -------------------------------------------------------------------------------------

def _write_folder(folder, images):
    folder.mkdir()
    for i, img in enumerate(images.numpy()):
        Image.fromarray(img.transpose(1, 2, 0)).save(folder / f"{i:02d}.png")


def test_two_folders_give_an_unpaired_dataset(tmp_path):
    a, b = synthetic_domains("red-blue", size=20, n=11)
    _write_folder(tmp_path / "A", a.images[:7])
    _write_folder(tmp_path / "B", b.images)
    config = dataclasses.replace(TINY, image_size=16)
    prepared = cg.FAMILY.prepare_data(config, f"{tmp_path / 'A'}:{tmp_path / 'B'}", DataOptions())
    data = prepared.train
    assert len(data) == 10  # the larger domain: 11 images less 1 held out
    assert sorted(data.pairing.tolist()) == list(range(10))  # each B image once per epoch
    x_a, x_b = data.get_batch(torch.arange(10))
    assert x_a.shape == x_b.shape == (10, 3, 16, 16) and x_a.min() >= -1 and x_a.max() <= 1
    assert prepared.val_a.shape == (1, 3, 16, 16)
    for same in ((tmp_path / "A", tmp_path / "B"), {"a": tmp_path / "A", "b": tmp_path / "B"}):
        assert cg.FAMILY.prepare_data(config, same, DataOptions()).fingerprint == prepared.fingerprint


@pytest.mark.parametrize("data, message", [
    ("just_one_folder", "FOLDER_A:FOLDER_B"),
    ("synthetic:nope", "choose one of: synthetic:red-blue, synthetic:squares-circles"),
    ("missing_a:missing_b", "no such file or folder"),
    (("x", "y", "z"), "two domains, got 3"),
])
def test_bad_data_is_one_clear_error(data, message):
    with pytest.raises(AtelierError, match=message):
        cg.FAMILY.prepare_data(TINY, data, DataOptions())


def test_empty_domain_folder_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    a, _ = synthetic_domains("red-blue", size=16, n=3)
    _write_folder(tmp_path / "A", a.images)
    with pytest.raises(AtelierError, match="the folder is empty"):
        cg.FAMILY.prepare_data(TINY, f"{tmp_path / 'A'}:{tmp_path / 'empty'}", DataOptions())


@pytest.mark.parametrize("changes, message", [
    ({"image_size": 30}, "multiple of 4"),
    ({"image_size": 4096}, "multiple of 4 from 8 to 1024"),
    ({"image_size": 16, "d_layers": 3}, "too small for a discriminator with d_layers=3; use image_size >= 24"),
    ({"channels": 2}, "choose 1"),
    ({"pool_size": -1}, "pool_size"),
])
def test_config_refuses_impossible_settings(changes, message):
    with pytest.raises(AtelierError, match=message):
        dataclasses.replace(TINY, **changes)


# ---- training ---------------------------------------------------------------------------------

def test_a_few_steps_lower_the_cycle_loss(shapes, tmp_path):
    _, result = _train(TINY, shapes, tmp_path, num_steps=24, batch_size=4)
    cycle = [h["cycle"] for h in result.history]
    assert np.mean(cycle[-4:]) < 0.75 * np.mean(cycle[:4])  # measured: 0.58 → 0.37
    assert {"g_adv", "cycle", "identity", "d_a", "d_b"} <= set(result.history[-1])


def test_resume_continues_exactly(shapes, tmp_path):
    # A 3-image pool fills in the first steps, so the pool's random swaps and its saved contents
    # matter; the learning rate starts decaying before the break.
    config = dataclasses.replace(TINY, pool_size=3, lr_constant_steps=1, lr_decay_steps=5)
    whole, r_whole = _train(config, shapes, tmp_path / "whole", num_steps=6)
    _train(config, shapes, tmp_path / "split", num_steps=3)
    split, r_split = _train(config, shapes, tmp_path / "split", num_steps=6, resume=True)
    assert [h for h in r_split.history] == r_whole.history
    for name, module in whole.modules.items():
        for key, value in module.state_dict().items():
            assert torch.equal(value, split.modules[name].state_dict()[key]), f"{name}.{key}"
    assert int(split.pool_A.count) == 3


def test_trains_without_validation_when_nothing_is_held_out(tmp_path):
    import atelier
    from atelier.family import EvalOptions

    options = DataOptions(val_fraction=0, limit=12)
    prepared = cg.FAMILY.prepare_data(TINY, "synthetic:red-blue", options)
    assert len(prepared.train) == 12 and prepared.val_a is None and prepared.val_b is None
    overrides = [f"{k}={getattr(TINY, k)}" for k in ("image_size", "ngf", "n_blocks", "ndf", "d_layers")]
    loop = TrainConfig(num_steps=2, batch_size=2, **{**QUIET, "eval_every": 1, "sample_every": 1})
    result = atelier.train("cyclegan-tiny", data="synthetic:red-blue", out=tmp_path, overrides=overrides,
                           train_config=loop, options=options)
    assert result.step == 2 and result.metrics == {}  # no held-out images: no validation, no preview
    with pytest.raises(AtelierError, match="val_fraction=0 holds no images out"):
        cg.FAMILY.evaluate(atelier.load(result.checkpoint), name="tiny", options=EvalOptions(val_fraction=0))


def test_preview_and_validation_use_held_out_images(shapes):
    a, b = shapes.get_batch(torch.arange(5))
    task = cg.build_task(TINY, val_a=a, val_b=b)
    picture = task.preview(None)
    assert picture.size == (6 * 16 + 7 * 2, 4 * 16 + 5 * 2)  # 4 rows: a, G(a), F(G(a)) | b, F(b), G(F(b))
    metrics = task.validate(None)
    assert set(metrics) == {"val_cycle_a", "val_cycle_b", "val_identity", "val_d_b_fake", "val_d_a_fake"}
    assert all(np.isfinite(v) for v in metrics.values())
    with pytest.raises(AtelierError, match=r"takes float \(N, 3, 16, 16\)"):
        cg.build_task(TINY, val_a=torch.zeros(2, 3, 8, 8))


# ---- the trained model ------------------------------------------------------------------------

def test_model_from_checkpoint_translates_both_ways(tmp_path):
    import atelier

    task = cg.build_task(TINY, seed=3)
    path = save_checkpoint(tmp_path / "cg.safetensors", kind="cyclegan", config=dataclasses.asdict(TINY),
                           modules=task.modules)
    model = atelier.load(path)
    assert isinstance(model, cg.CycleGANModel) and model.config == TINY
    x = torch.rand(2, 3, 16, 20) * 2 - 1
    with torch.no_grad():
        assert torch.equal(model.translate(x, direction="a2b"), task.G_AB(x))
        assert torch.equal(model.translate(x, direction="b2a"), task.G_BA(x))
    with pytest.raises(AtelierError, match="unknown direction 'sideways'; choose one of: a2b, b2a"):
        model.translate(x, direction="sideways")
    with pytest.raises(AtelierError, match="multiples of 4"):
        model.translate(torch.zeros(1, 3, 18, 16))
    with pytest.raises(AtelierError, match=r"\(N, 3, H, W\)"):
        model.translate(torch.zeros(1, 1, 16, 16))


def test_loading_another_kind_is_refused(tmp_path):
    path = save_checkpoint(tmp_path / "gan.safetensors", kind="gan", config={}, modules={"G": nn.Linear(2, 2)})
    with pytest.raises(AtelierError, match="holds a 'gan' model; this command needs: cyclegan"):
        cg.CycleGANModel.from_checkpoint(path)
