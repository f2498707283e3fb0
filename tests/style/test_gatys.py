from dataclasses import FrozenInstanceError, replace

import pytest
import torch

from atelier.errors import AtelierError
from atelier.style.features import build_backbone
from atelier.style.gatys import GATYS_PRESETS, GatysConfig, stylize_gatys
from atelier.style.losses import gram_matrix

TINY = replace(GATYS_PRESETS["default"], scales=(32,), num_steps=15, style_weight=30.0)  # style shows in 15 steps


@pytest.fixture(scope="module")
def net():
    return build_backbone("random-multiscale", seed=0)


@pytest.fixture
def images():
    gen = torch.Generator().manual_seed(0)
    photo = torch.rand(1, 3, 32, 32, generator=gen)
    stripes = torch.zeros(1, 3, 40, 40)
    stripes[:, :, :, ::4] = 1.0  # a style nothing like the photo
    return photo, stripes


def _style_distance(net, a, b):
    fa, fb = net(a, net.style_layers), net(b, net.style_layers)
    return sum(float((gram_matrix(fa[k]) - gram_matrix(fb[k])).pow(2).mean()) for k in fa)


@pytest.mark.parametrize("optimizer, lr", [("lbfgs", 1.0), ("adam", 0.05)])
def test_gatys_lowers_its_loss_and_moves_towards_the_style(net, images, optimizer, lr):
    photo, stripes = images
    config = replace(TINY, optimizer=optimizer, lr=lr)
    out, history = stylize_gatys(photo, [stripes], config=config, backbone=net, progress=False)
    assert len(history) == config.num_steps
    assert history[-1].total < 0.5 * history[0].total
    assert _style_distance(net, out, stripes) < 0.5 * _style_distance(net, photo, stripes)
    assert out.min() >= 0 and out.max() <= 1


def test_gatys_through_efficientnet_lite0_lowers_its_loss_and_moves_towards_the_style(images):
    lite0 = build_backbone("efficientnet-lite0")  # the default backbone, pretrained
    photo, stripes = images
    photo = torch.nn.functional.interpolate(photo, size=(64, 64), mode="bilinear")
    out, history = stylize_gatys(photo, [stripes], config=replace(TINY, scales=(64,), num_steps=40), backbone=lite0, progress=False)
    assert history[-1].total < 0.7 * history[0].total  # measured: 21.9 -> 12.2 after 15 of the 40 steps
    # Raw Gram distance in Lite0's own layers, mostly the widest layer's: 0.62 of the photo's after 40 steps.
    assert _style_distance(lite0, out, stripes) < 0.75 * _style_distance(lite0, photo, stripes)


def test_output_size_follows_the_last_scale_not_the_style(net, images):
    photo, _ = images
    photo = photo[..., :24]  # 32 x 24
    config = replace(TINY, scales=(16, 40), num_steps=2)
    tall = stylize_gatys(photo, [torch.rand(1, 3, 50, 20)], config=config, backbone=net, progress=False)
    wide = stylize_gatys(photo, [torch.rand(1, 3, 20, 50)], config=config, backbone=net, progress=False)
    assert tuple(tall[0].shape) == tuple(wide[0].shape) == (1, 3, 40, 30)
    assert [h.scale for h in tall[1]] == [16, 16, 40, 40]


def test_strength_fades_from_the_photo_to_the_painting(net, images):
    photo, stripes = images
    config = replace(TINY, num_steps=5)
    full, history = stylize_gatys(photo, [stripes], config=config, backbone=net, progress=False)
    half, _ = stylize_gatys(photo, [stripes], config=config, backbone=net, strength=0.5, progress=False)
    none, no_history = stylize_gatys(photo, [stripes], config=config, backbone=net, strength=0.0, progress=False)
    torch.testing.assert_close(half, 0.5 * photo + 0.5 * full)
    assert torch.equal(none, photo) and no_history == [] and len(history) == 5


def test_weights_blend_styles(net, images):
    photo, stripes = images
    other = torch.rand(1, 3, 32, 32)
    config = replace(TINY, num_steps=3)
    alone, _ = stylize_gatys(photo, [stripes], config=config, backbone=net, progress=False)
    blended, _ = stylize_gatys(photo, [stripes, other], weights=[2.0, 0.0], config=config, backbone=net, progress=False)
    torch.testing.assert_close(blended, alone)


def test_mask_paints_each_region_in_its_own_style(net):
    red, blue = torch.zeros(1, 3, 32, 32), torch.zeros(1, 3, 32, 32)
    red[:, 0], blue[:, 2] = 0.9, 0.9
    photo = torch.full((1, 3, 32, 32), 0.5)
    mask = torch.zeros(2, 32, 32)
    mask[0, :, :16], mask[1, :, 16:] = 1.0, 1.0
    config = replace(TINY, content_weight=0.0, num_steps=60)  # a flat start needs ~40
    out, _ = stylize_gatys(photo, [red, blue], mask=mask, config=config, backbone=net, progress=False)
    redness = out[0, 0] - out[0, 2]  # (H, W)
    assert redness[:, :12].mean() > 0.2 and redness[:, 20:].mean() < -0.2


def test_preserve_color_luminance_keeps_the_photos_colour(net, images):
    photo, stripes = images
    photo = 0.4 + 0.2 * photo
    out, _ = stylize_gatys(photo, [stripes], config=replace(TINY, num_steps=2), backbone=net, preserve_color="luminance", progress=False)
    yiq = torch.tensor([[0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]])
    torch.testing.assert_close(
        torch.einsum("ij,njhw->nihw", yiq, out), torch.einsum("ij,njhw->nihw", yiq, photo), atol=2e-2, rtol=0
    )


def test_default_backbone_and_histogram_colour(images):
    photo, stripes = images
    config = replace(TINY, num_steps=2)
    out, history = stylize_gatys(photo, [stripes], config=config, preserve_color="histogram", progress=False)
    assert tuple(out.shape) == (1, 3, 32, 32) and history[-1].total < history[0].total


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"weights": [1.0]}, "weights has 1 values for 2 styles"),
        ({"weights": [1.0, -0.5]}, r"weights \[1.0, -0.5\] must be >= 0"),
        ({"weights": [0.0, 0.0]}, "positive sum"),
        ({"mask": torch.ones(2, 16, 16)}, r"mask is \(2, 16, 16\); expected \(styles, H, W\) = \(2, 32, 32\)"),
        ({"mask": torch.ones(3, 32, 32)}, r"mask is \(3, 32, 32\)"),
        ({"mask": torch.ones(2, 32, 32), "weights": [1.0, 1.0]}, "not both"),
        ({"mask": 2 * torch.ones(2, 32, 32)}, r"mask values must lie in \[0, 1\]"),
        ({"strength": 1.5}, "strength is 1.5"),
        ({"preserve_color": "rgb"}, "unknown preserve_color 'rgb'; choose one of: histogram, luminance$"),
        ({"backbone": "vgg16"}, "unknown backbone 'vgg16'"),
    ],
)
def test_bad_arguments_are_named(images, kwargs, message):
    photo, stripes = images
    with pytest.raises(AtelierError, match=message):
        stylize_gatys(photo, [stripes, stripes], config=TINY, progress=False, **kwargs)


@pytest.mark.parametrize(
    "content, styles, message",
    [
        (torch.rand(3, 32, 32), [torch.rand(1, 3, 8, 8)], r"content is \(3, 32, 32\); expected a float tensor \(N, 3, H, W\)"),
        (2 * torch.ones(1, 3, 8, 8), [torch.rand(1, 3, 8, 8)], r"content has values in \[2, 2\]"),
        (torch.rand(1, 3, 8, 8), [torch.rand(1, 3, 8, 8), torch.rand(2, 3, 8, 8)], r"styles\[1\] is \(2, 3, 8, 8\)"),
        (torch.rand(1, 3, 8, 8), [], "non-empty list"),
    ],
)
def test_bad_images_are_named(content, styles, message):
    with pytest.raises(AtelierError, match=message):
        stylize_gatys(content, styles, config=TINY, progress=False)


def test_config_checks_its_fields_and_is_frozen():
    with pytest.raises(AtelierError, match="unknown optimizer 'sgd'; choose one of: adam, lbfgs"):
        GatysConfig(optimizer="sgd")
    with pytest.raises(AtelierError, match="scales"):
        GatysConfig(scales=(8,))
    with pytest.raises(AtelierError, match="style_weight is -1"):
        GatysConfig(style_weight=-1)
    with pytest.raises(FrozenInstanceError):
        GATYS_PRESETS["default"].num_steps = 3
    assert all(isinstance(c, GatysConfig) for c in GATYS_PRESETS.values())


def test_on_step_reports_every_step_and_its_exception_stops_the_optimisation(net, images):
    photo, stripes = images
    config = replace(TINY, scales=(16, 32), num_steps=3)
    seen = []
    _, history = stylize_gatys(photo, [stripes], config=config, backbone=net, progress=False,
                               on_step=lambda step, total: seen.append((step.step, step.scale, total)))
    assert seen == [(s.step, s.scale, 6) for s in history] and [s for s, _, _ in seen] == list(range(6))

    class Stop(Exception):
        pass

    calls = []

    def stop_after_two(step, total):
        calls.append(step.step)
        if step.step == 1:
            raise Stop

    with pytest.raises(Stop):
        stylize_gatys(photo, [stripes], config=config, backbone=net, progress=False, on_step=stop_after_two)
    assert calls == [0, 1]  # no step after the one whose report raised
