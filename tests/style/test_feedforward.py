"""Fast style transfer: training lowers the loss, CIN mixes styles, the controls work, ONNX matches."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from atelier.checkpoint import save_checkpoint
from atelier.errors import AtelierError
from atelier.family import DataOptions, EvalOptions, get_family
from atelier.data.photos import RandomCrops
from atelier.style.feedforward import (
    FAMILY,
    PRESETS,
    CondInstanceNorm,
    FastStyleConfig,
    FastStyleModel,
    TransformerNet,
    build_task,
)
from atelier.training import TrainConfig, fit

TINY = replace(PRESETS["fast"], width=8, num_residual=1, image_size=32, photo_size=48, style_size=32,
               backbone="random-multiscale", content_layers=None, num_crops=64, lr=1e-2)
YIQ_CHROMA = torch.tensor([[0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]])


def _blobs(color):
    """A painting of soft blobs tinted with ``color``: far from the photos, within a tiny net's reach."""
    blobs = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    blobs = torch.nn.functional.interpolate(blobs, size=(40, 40), mode="bilinear")
    return (0.5 * blobs + 0.5 * torch.tensor(color).view(1, 3, 1, 1)).clamp(0, 1)


def _photos():
    g = torch.Generator().manual_seed(0)
    return [(torch.rand(3, 48, 64, generator=g) * 255).to(torch.uint8) for _ in range(3)]


def _model(styles=("a", "b"), seed=0):
    """A two-style network whose CIN scales and shifts differ clearly between the styles."""
    config = replace(TINY, styles=styles)
    torch.manual_seed(seed)
    net = TransformerNet(config)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, CondInstanceNorm):
                m.gamma.copy_(1 + torch.randn_like(m.gamma))
                m.beta.copy_(torch.randn_like(m.beta))
        net.out.weight.normal_(0, 0.01)  # an untrained network returns the photo; this one paints
    return FastStyleModel(config, net)


@pytest.mark.parametrize("statistics", ["gram", "mean_cov"])
def test_training_lowers_the_loss(tmp_path, statistics):
    task = build_task(replace(TINY, styles=("a", "b"), style_statistics=statistics),
                      styles=[_blobs([1.0, 0.3, 0.0]), _blobs([0.0, 0.3, 1.0])])
    crops = RandomCrops(_photos(), size=32, length=64)
    config = TrainConfig(num_steps=40, batch_size=4, log_every=5, sample_every=0, eval_every=0, checkpoint_every=0,
                         tensorboard=False, progress=False)
    result = fit(task, crops, config=config, out_dir=tmp_path)
    losses = [h["loss"] for h in result.history]
    assert losses[-1] < 0.5 * losses[0], losses
    model = FastStyleModel.from_checkpoint(result.checkpoint)
    assert model.style_names == ("a", "b")
    for name, module in model.net.state_dict().items():
        torch.testing.assert_close(module, task.net.state_dict()[name])


def test_loss_jitter_shows_the_loss_network_the_same_crop_of_photo_and_output(tmp_path):
    config = replace(TINY, loss_jitter=4)
    task = build_task(config, styles=[_blobs([1.0, 0.3, 0.0])])
    photo, output = torch.rand(2, 1, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    k = torch.zeros(1, dtype=torch.long)
    shifted = task.losses(photo, output, k, (1, 2))
    cropped = task.losses(photo[..., 1:30, 2:31], output[..., 1:30, 2:31], k)  # 32 - 4 + 1 = 29 px
    for term in ("content", "style"):
        torch.testing.assert_close(shifted[term], cropped[term])
    assert not torch.allclose(shifted["style"], task.losses(photo, output, k)["style"])
    torch.testing.assert_close(shifted["tv"], task.losses(photo, output, k)["tv"])  # TV: the whole output
    result = fit(task, RandomCrops(_photos(), size=32, length=16), out_dir=tmp_path,
                 config=TrainConfig(num_steps=3, batch_size=2, sample_every=0, eval_every=0, checkpoint_every=0,
                                    tensorboard=False, progress=False))
    assert result.history and all(np.isfinite(h["loss"]) for h in result.history)


def test_training_through_efficientnet_lite0_lowers_the_loss(tmp_path):
    config = replace(TINY, backbone="efficientnet-lite0", styles=("a",), style_statistics="mean_cov", loss_jitter=3)
    task = build_task(config, styles=[_blobs([1.0, 0.3, 0.0])])
    result = fit(task, RandomCrops(_photos(), size=32, length=64), out_dir=tmp_path,
                 config=TrainConfig(num_steps=40, batch_size=4, log_every=5, sample_every=0, eval_every=0,
                                    checkpoint_every=0, tensorboard=False, progress=False))
    losses = [h["loss"] for h in result.history]  # logged every 5 steps, averaged
    assert sum(losses[-2:]) < 0.9 * sum(losses[:2]), losses


def test_norm_layers_get_their_own_learning_rate():
    task = build_task(replace(TINY, norm_lr_scale=10.0), styles=[_blobs([1.0, 0.3, 0.0])])
    rest, norm = task.optimizers["net"].param_groups
    assert (rest["lr"], norm["lr"]) == (TINY.lr, 10 * TINY.lr)
    gammas = {id(m.gamma) for m in task.net.modules() if isinstance(m, CondInstanceNorm)}
    assert gammas <= {id(p) for p in norm["params"]} and not gammas & {id(p) for p in rest["params"]}


def test_cin_mixes_scale_and_shift_by_weight():
    norm = CondInstanceNorm(2, num_styles=2)
    with torch.no_grad():
        norm.gamma.copy_(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
        norm.beta.copy_(torch.tensor([[0.0, 1.0], [-1.0, 0.0]]))
    x = torch.randn(1, 2, 5, 5)
    h = torch.nn.functional.instance_norm(x)
    out = norm(x, torch.tensor([[0.25, 0.75]]))
    torch.testing.assert_close(out[0, 0], 2.5 * h[0, 0] - 0.75)
    torch.testing.assert_close(out[0, 1], 3.5 * h[0, 1] + 0.25)


def test_one_hot_weight_gives_exactly_that_styles_network():
    two = _model()
    one = FastStyleModel(replace(TINY, styles=("b",)), TransformerNet(replace(TINY, styles=("b",))))
    state = {k: (v[1:2] if k.endswith((".gamma", ".beta")) else v) for k, v in two.net.state_dict().items()}
    one.net.load_state_dict(state)
    photo = torch.rand(1, 3, 30, 34)
    torch.testing.assert_close(two.stylize(photo, weights=[0.0, 1.0]), one.stylize(photo))
    torch.testing.assert_close(two.stylize(photo, ["b"]), one.stylize(photo))


def test_mixing_is_a_blend_between_the_styles():
    model = _model()
    photo = torch.rand(1, 3, 32, 32)
    a, b = model.stylize(photo, ["a"]), model.stylize(photo, ["b"])
    mix = model.stylize(photo, ["a", "b"], weights=[1.0, 1.0])
    apart = (a - b).pow(2).mean()
    assert (mix - a).pow(2).mean() < apart and (mix - b).pow(2).mean() < apart
    torch.testing.assert_close(model.stylize(photo, weights=[3.0, 3.0]), mix)


def test_strength_zero_returns_the_photo_and_half_is_halfway():
    model = _model()
    photo = torch.rand(1, 3, 24, 24)
    assert torch.equal(model.stylize(photo, ["a"], strength=0.0), photo)
    full = model.stylize(photo, ["a"])
    torch.testing.assert_close(model.stylize(photo, ["a"], strength=0.5), (full + photo) / 2)


@pytest.mark.parametrize("mode", ["luminance", "histogram"])
def test_preserve_color_keeps_the_photos_colours(mode):
    model = _model()
    photo = torch.rand(1, 3, 32, 32) * 0.5 + torch.tensor([0.4, 0.2, 0.0]).view(1, 3, 1, 1)
    painted = model.stylize(photo, ["a"])
    kept = model.stylize(photo, ["a"], preserve_color=mode)
    chroma = lambda img: torch.einsum("ij,njhw->ni", YIQ_CHROMA, img) / img[0, 0].numel()  # noqa: E731
    assert (chroma(kept) - chroma(photo)).abs().max() < 0.02
    assert (chroma(painted) - chroma(photo)).abs().max() > 0.05


def test_mask_routes_each_region_to_its_style():
    model = _model()
    photo = torch.rand(1, 3, 32, 64)
    mask = torch.zeros(2, 32, 64)
    mask[0, :, :32], mask[1, :, 32:] = 1.0, 1.0
    out = model.stylize(photo, mask=mask)
    a, b = model.stylize(photo, ["a"]), model.stylize(photo, ["b"])
    torch.testing.assert_close(out[..., :32], a[..., :32])
    torch.testing.assert_close(out[..., 32:], b[..., 32:])


def test_any_size_comes_back_at_its_own_size():
    model = _model(styles=("a",))
    for h, w in [(8, 8), (17, 33), (30, 9)]:
        assert tuple(model.stylize(torch.rand(2, 3, h, w)).shape) == (2, 3, h, w)


def test_onnx_export_matches_pytorch(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx.reference import ReferenceEvaluator

    model = _model(styles=("a", "b", "c"))
    path = model.export_onnx(tmp_path / "fast.onnx", size=32)
    graph = onnx.load(path)
    onnx.checker.check_model(graph)
    x, w = torch.rand(1, 3, 24, 40), torch.tensor([[0.2, 0.5, 0.3]])
    (out,) = ReferenceEvaluator(graph).run(None, {"image": x.numpy(), "style_weights": w.numpy()})
    np.testing.assert_allclose(out, model.net(x, w).clamp(0, 1).detach().numpy(), atol=1e-4)
    assert [p.name for p in tmp_path.iterdir()] == ["fast.onnx"]


def test_onnx_export_refuses_other_extensions(tmp_path):
    with pytest.raises(AtelierError, match="must end in .onnx"):
        _model().export_onnx(tmp_path / "fast.pt")
    assert not list(tmp_path.iterdir())


def test_checkpoint_roundtrip(tmp_path):
    model = _model()
    import dataclasses

    path = save_checkpoint(tmp_path / "m.safetensors", kind="fast_style", config=dataclasses.asdict(model.config),
                           modules={"net": model.net})
    loaded = FastStyleModel.from_checkpoint(path)
    photo = torch.rand(1, 3, 16, 16)
    torch.testing.assert_close(loaded.stylize(photo, ["a"]), model.stylize(photo, ["a"]))
    with pytest.raises(AtelierError, match="holds a 'gan' model"):
        save_checkpoint(tmp_path / "g.safetensors", kind="gan", config={}, modules={"net": model.net})
        FastStyleModel.from_checkpoint(tmp_path / "g.safetensors")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, r"holds 2 styles \(a, b\); choose with styles or weights"),
        ({"weights": [1.0]}, "1 weights for 2 styles"),
        ({"weights": [1.0, -1.0]}, "must be >= 0"),
        ({"styles": ["c"]}, "no style 'c'; its styles: a, b"),
        ({"styles": ["a"], "strength": 1.5}, "strength is 1.5"),
        ({"styles": ["a"], "preserve_color": "rgb"}, "unknown preserve_color 'rgb'"),
        ({"weights": [1.0, 1.0], "mask": torch.ones(2, 16, 16)}, "not both"),
        ({"mask": torch.ones(3, 16, 16)}, r"mask is \(3, 16, 16\)"),
        ({"styles": ["a"], "mask": torch.ones(2, 16, 16)}, r"mask is \(2, 16, 16\); expected \(styles, H, W\) = \(1,"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(AtelierError, match=message):
        _model().stylize(torch.rand(1, 3, 16, 16), **kwargs)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"styles": ()}, "give one or more painting names"),
        ({"width": 0}, "width=0"),
        ({"image_size": 512}, "image_size=512"),
        ({"style_weight": -1.0}, "style_weight=-1.0"),
        ({"backbone": "resnet"}, "unknown backbone 'resnet'"),
        ({"style_statistics": "moments"}, "unknown style statistics 'moments'"),
        ({"norm_lr_scale": 0.0}, "norm_lr_scale=0.0"),
        ({"loss_jitter": 64}, "loss_jitter=64; must be >= 0 and < image_size / 2"),
    ],
)
def test_bad_configs_are_named(changes, message):
    with pytest.raises(AtelierError, match=message):
        FastStyleConfig(**changes)


def test_the_family_prepares_the_photos_and_paintings_and_names_a_bad_one(tmp_path):
    family = get_family("fast_style")
    assert family is FAMILY and family.train_defaults == {"batch_size": 4}
    config = replace(TINY, styles=("the_scream", "shipwreck"), num_crops=8)
    data = family.prepare_data(config, ["coffee", "rocket", "camera"], DataOptions(limit=2))
    assert len(data.train) == 8 and len(data.styles) == 2 and tuple(data.preview.shape) == (2, 3, 32, 32)
    again = family.prepare_data(config, ["coffee", "rocket"], DataOptions())
    assert again.fingerprint == data.fingerprint
    other = family.prepare_data(replace(config, styles=("the_scream",)), ["coffee", "rocket"], DataOptions())
    assert other.fingerprint != data.fingerprint
    task = family.build_task(config, data, seed=0)
    assert sorted(task.modules) == ["net"] and task.preview_content is data.preview
    with pytest.raises(AtelierError, match="nope.png: no such file"):
        family.prepare_data(replace(config, styles=(str(tmp_path / "nope.png"),)), ["coffee"], DataOptions())


def test_atelier_train_trains_a_fast_config_and_load_gives_the_trained_model(tmp_path):
    import atelier

    config = replace(TINY, styles=("the_scream",), num_crops=8)
    result = atelier.train(config, data=["coffee", "rocket"], out=tmp_path,
                           train_config=TrainConfig(num_steps=2, batch_size=2, sample_every=0, eval_every=0,
                                                    tensorboard=False, progress=False))
    model = atelier.load(result.checkpoint)
    assert isinstance(model, FastStyleModel) and (model.kind, model.outputs) == ("fast_style", "pictures")
    assert model.config == config and model.style_names == ("the_scream",)


def test_evaluate_scores_held_out_photos_in_the_models_styles():
    config = replace(TINY, styles=("the_scream", "shipwreck"))
    untouched = FastStyleModel(config, TransformerNet(config))  # untrained: returns the photo itself
    report = FAMILY.evaluate(untouched, name="untouched", options=EvalOptions(data=["chelsea"]))
    assert (report.kind, report.num_samples) == ("fast_style", 2)
    for judge in ("random_vgg19", "random_multiscale"):
        assert report.metrics[f"content_distance_{judge}"] == 0.0
        assert report.metrics[f"style_distance_{judge}"] == report.metrics[f"photo_style_distance_{judge}"] > 0
    painting = _model(styles=("the_scream", "shipwreck"))
    painted = FAMILY.evaluate(painting, name="painting", options=EvalOptions(data=["chelsea"]))
    assert painted.metrics["content_distance_random_vgg19"] > 0
