"""AdaIN: the decoder's training lowers its loss; alpha, weights, masks and colour do what they say."""

import dataclasses
from dataclasses import replace

import pytest
import torch
from torch import nn

from atelier.checkpoint import save_checkpoint
from atelier.errors import AtelierError
from atelier.family import DataOptions, EvalOptions, get_family
from atelier.style.adain import (
    FAMILY,
    PRESETS,
    AdaINConfig,
    AdaINModel,
    Decoder,
    build_encoder,
    build_task,
    encoder_convs,
)
from atelier.data.photos import CropPairs, RandomCrops, resize_long_side
from atelier.style.losses import adain, mean_std, tv_loss
from atelier.training import TrainConfig, fit

# AdaIN at relu2_1 (1/2 resolution) with an eighth-width decoder: a few thousand weights.
TINY = replace(PRESETS["adain-vgg"], encoder_layer="relu2_1", style_layers=("relu1_1", "relu2_1"), decoder_width=0.125,
               image_size=32, photo_size=48, lr=3e-3, num_crops=64)
YIQ_CHROMA = torch.tensor([[0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]])


@pytest.fixture(scope="module")
def encoder():
    return build_encoder(TINY)


@pytest.fixture(scope="module")
def model(encoder):
    torch.manual_seed(0)
    return AdaINModel(TINY, encoder, Decoder(TINY))


def _pictures(n, seed, h=48, w=64):
    g = torch.Generator().manual_seed(seed)
    return [(torch.rand(3, h, w, generator=g) * 255).to(torch.uint8) for _ in range(n)]


def _pairs():
    """(photo crop, painting crop) pairs of random pictures, the paintings' channels shuffled."""
    return CropPairs(RandomCrops(_pictures(3, 0), size=32, length=64),
                     RandomCrops(_pictures(2, 1), size=32, length=64, seed=1, permute_channels=True))


def _fit_config(num_steps):
    return TrainConfig(num_steps=num_steps, batch_size=4, log_every=5, sample_every=0, eval_every=0,
                       checkpoint_every=0, tensorboard=False, progress=False)


class SpyDecoder(nn.Module):
    """Records the AdaIN target it is given and returns its first three channels, upsampled."""

    def __init__(self, factor):
        super().__init__()
        self.factor, self.seen = factor, []
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, t):
        self.seen.append(t)
        return torch.nn.functional.interpolate(t[:, :3], scale_factor=self.factor).sigmoid()


def test_decoder_mirrors_the_encoder():
    convs = [m for m in Decoder(PRESETS["adain-full"]).net if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [
        (512, 256), (256, 256), (256, 256), (256, 256), (256, 128), (128, 128), (128, 64), (64, 64), (64, 3)]
    assert encoder_convs("relu3_1").count("M") == 2
    t = torch.rand(1, 512, 4, 5)
    assert tuple(Decoder(PRESETS["adain-vgg"])(t).shape) == (1, 3, 32, 40)


def test_lite0_decoder_turns_the_tap_back_into_a_picture():
    config = PRESETS["adain"]  # EfficientNet-Lite0, AdaIN at block5_expand: 240 channels at 1/8
    convs = [m for m in Decoder(replace(config, decoder_width=1.0)).net if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [
        (240, 128), (128, 128), (128, 64), (64, 64), (64, 32), (32, 32), (32, 3)]
    encoder = build_encoder(config)
    photo = torch.rand(1, 3, 40, 56)
    t = encoder(photo, [config.encoder_layer])[config.encoder_layer]
    assert tuple(t.shape) == (1, 240, 5, 7)
    assert tuple(Decoder(config)(t).shape) == (1, 3, 40, 56)


def test_lite0_training_lowers_the_loss(tmp_path):
    config = replace(PRESETS["adain"], encoder_layer="block3_expand", style_layers=("stem", "block1_expand"),
                     decoder_width=0.25, image_size=32, photo_size=48, lr=3e-3, num_crops=64)
    task = build_task(config)
    result = fit(task, _pairs(), config=_fit_config(30), out_dir=tmp_path)
    losses = [h["loss"] for h in result.history]
    assert losses[-1] < 0.6 * losses[0], losses


def test_training_lowers_the_loss(encoder, tmp_path):
    task = build_task(TINY, encoder=encoder)
    pairs, config = _pairs(), _fit_config(40)
    result = fit(task, pairs, config=config, out_dir=tmp_path)
    losses = [h["loss"] for h in result.history]
    assert losses[-1] < 0.6 * losses[0], losses
    model = AdaINModel.from_checkpoint(result.checkpoint)
    photo, painting = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    torch.testing.assert_close(model.stylize(photo, [painting]),
                               AdaINModel(TINY, encoder, task.decoder).stylize(photo, [painting]))


def test_identity_loss_teaches_the_decoder_to_invert_the_encoder(encoder, tmp_path):
    pairs, config = _pairs(), _fit_config(40)
    photo = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(5))
    errors = {}
    for weight in (0.0, 10.0):
        task = build_task(replace(TINY, identity_weight=weight), encoder=encoder)
        result = fit(task, pairs, config=config, out_dir=tmp_path / str(weight))
        assert ("identity" in result.history[-1]) == (weight > 0)
        model = AdaINModel(task.config, encoder, task.decoder)
        with torch.no_grad():
            errors[weight] = torch.nn.functional.mse_loss(model.decode(model.encode(photo)), photo).item()
    assert errors[10.0] < 0.75 * errors[0.0], errors  # measured 0.097 against 0.168


def test_tv_weight_smooths_the_decoded_pictures(encoder, tmp_path):
    pairs, config = _pairs(), _fit_config(30)
    photo, painting = torch.rand(2, 1, 3, 32, 32, generator=torch.Generator().manual_seed(6))
    tv = {}
    for weight in (0.0, 100.0):
        task = build_task(replace(TINY, tv_weight=weight), encoder=encoder)
        result = fit(task, pairs, config=config, out_dir=tmp_path / str(weight))
        assert ("tv" in result.history[-1]) == (weight > 0)
        model = AdaINModel(task.config, encoder, task.decoder)
        with torch.no_grad():
            tv[weight] = tv_loss(model.decode(adain(model.encode(photo), model.encode(painting))))
    assert tv[100.0] < 0.5 * tv[0.0], tv


def test_strength_zero_returns_the_photo(model):
    photo = torch.rand(1, 3, 30, 42)
    torch.testing.assert_close(model.stylize(photo, [torch.rand(1, 3, 20, 20)], strength=0.0), photo)


def test_strength_moves_the_adain_target_towards_the_photo(encoder):
    spy = AdaINModel(TINY, encoder, SpyDecoder(2))
    photo, painting = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32) * 0.3
    spy.stylize(photo, [painting], strength=0.25)
    f_c = spy.encode(photo)
    t = spy.decoder.seen[0]
    spy.decoder.seen.clear()
    spy.stylize(photo, [painting], strength=1.0)
    torch.testing.assert_close(t, 0.25 * spy.decoder.seen[0] + 0.75 * f_c)


def test_weights_mix_the_adain_targets(model):
    photo, a, b = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 24, 24), torch.rand(1, 3, 40, 40) * 0.5
    torch.testing.assert_close(model.stylize(photo, [a, b], weights=[1.0, 0.0]), model.stylize(photo, [a]))
    mix = model.stylize(photo, [a, b], weights=[1.0, 1.0])
    assert not torch.allclose(mix, model.stylize(photo, [a])) and not torch.allclose(mix, model.stylize(photo, [b]))


def test_mask_applies_each_style_to_its_region(encoder):
    spy = AdaINModel(TINY, encoder, SpyDecoder(2))
    photo = torch.rand(1, 3, 32, 64)
    dark, bright = torch.rand(1, 3, 32, 32) * 0.2, 0.8 + torch.rand(1, 3, 32, 32) * 0.2
    mask = torch.zeros(2, 32, 64)
    mask[0, :, :32], mask[1, :, 32:] = 1.0, 1.0
    spy.stylize(photo, [dark, bright], mask=mask)
    t = spy.decoder.seen[0]  # (1, C, 16, 32)
    for half, painting in ((t[..., :16], dark), (t[..., 16:], bright)):
        want_mean, want_std = mean_std(spy.encode(resize_long_side(painting, 64)))  # as stylize sees it
        got_mean, got_std = mean_std(half)
        torch.testing.assert_close(got_mean, want_mean, atol=1e-4, rtol=1e-3)
        torch.testing.assert_close(got_std, want_std, atol=0.02, rtol=0.05)  # eps shrinks near-flat channels


def test_palette_is_moved_to_the_paintings(encoder):
    spy = AdaINModel(TINY, encoder, SpyDecoder(2))
    photo = torch.rand(1, 3, 32, 32)
    a = torch.tensor([0.8, 0.4, 0.1]).view(1, 3, 1, 1) + 0.1 * torch.rand(1, 3, 32, 32)
    b = torch.tensor([0.7, 0.3, 0.2]).view(1, 3, 1, 1) + 0.1 * torch.rand(1, 3, 32, 32)
    out = spy.stylize(photo, [a, b], weights=[0.25, 0.75])
    want = 0.25 * a.mean((2, 3)) + 0.75 * b.mean((2, 3))
    torch.testing.assert_close(out.mean((2, 3)), want, atol=2e-3, rtol=0)
    plain = AdaINModel(replace(TINY, match_palette=False), encoder, spy.decoder).stylize(photo, [a, b], weights=[0.25, 0.75])
    assert (plain.mean((2, 3)) - want).abs().max() > 0.1


def test_output_size_does_not_depend_on_the_painting(model):
    photo = torch.rand(1, 3, 37, 45)
    for h, w in [(16, 90), (120, 24)]:
        assert tuple(model.stylize(photo, [torch.rand(1, 3, h, w)]).shape) == (1, 3, 37, 45)


def test_preserve_color_keeps_the_photos_colours(model, encoder):
    spy = AdaINModel(TINY, encoder, SpyDecoder(2))  # mid-range output: no clipping hides the colours
    photo = torch.rand(1, 3, 32, 32) * 0.5 + torch.tensor([0.4, 0.2, 0.0]).view(1, 3, 1, 1)
    blue = torch.rand(1, 3, 32, 32) * 0.3 + torch.tensor([0.0, 0.2, 0.6]).view(1, 3, 1, 1)
    kept = spy.stylize(photo, [blue], preserve_color="luminance")
    chroma = lambda img: torch.einsum("ij,njhw->ni", YIQ_CHROMA, img) / img[0, 0].numel()  # noqa: E731
    assert (chroma(kept) - chroma(photo)).abs().max() < 0.02
    assert tuple(model.stylize(photo, [blue], preserve_color="histogram").shape) == (1, 3, 32, 32)


def test_checkpoint_roundtrip(model, tmp_path):
    path = save_checkpoint(tmp_path / "adain.safetensors", kind="adain", config=dataclasses.asdict(model.config),
                           modules={"decoder": model.decoder})
    loaded = AdaINModel.from_checkpoint(path)
    photo, painting = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    torch.testing.assert_close(loaded.stylize(photo, [painting]), model.stylize(photo, [painting]))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"styles": []}, "non-empty list"),
        ({"styles": [torch.rand(3, 16, 16)]}, r"styles\[0\] is \(3, 16, 16\)"),
        ({"weights": [1.0, 2.0]}, "2 weights for 1 styles"),
        ({"weights": [0.0]}, "positive sum"),
        ({"strength": -0.1}, "strength is -0.1"),
        ({"mask": torch.ones(1, 16, 16), "weights": [1.0]}, "not both"),
        ({"mask": torch.ones(1, 8, 8)}, r"mask is \(1, 8, 8\)"),
    ],
)
def test_bad_arguments_are_named(model, kwargs, message):
    args = {"styles": [torch.rand(1, 3, 16, 16)], **kwargs}
    with pytest.raises(AtelierError, match=message):
        model.stylize(torch.rand(1, 3, 16, 16), **args)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"backbone": "random-multiscale"}, "unknown AdaIN backbone 'random-multiscale'"),
        ({"encoder_layer": "relu4_2"}, "unknown encoder layer of efficientnet-lite0 'relu4_2'; choose one of: "
                                       "block3_expand, block5_expand, block8_expand"),
        ({"backbone": "random-vgg19", "encoder_layer": "relu4_1", "style_layers": ("relu5_1",)},
         "at or below encoder_layer relu4_1"),
        ({"style_layers": ("block8",)}, "need efficientnet-lite0 layers at or below encoder_layer block5_expand"),
        ({"decoder_width": 0.0}, "decoder_width=0.0"),
        ({"identity_weight": -1.0}, "identity_weight=-1.0"),
        ({"tv_weight": -0.5}, "tv_weight=-0.5"),
        ({"styles": ()}, "styles is empty"),
    ],
)
def test_bad_configs_are_named(changes, message):
    with pytest.raises(AtelierError, match=message):
        AdaINConfig(**changes)


def test_the_family_pairs_photos_with_paintings_and_trains_through_atelier_train(tmp_path):
    import atelier

    family = get_family("adain")
    assert family is FAMILY and family.train_defaults == {"batch_size": 4}
    config = replace(TINY, styles=("shipwreck", "brick"), num_crops=8)
    data = family.prepare_data(config, ["coffee", "rocket"], DataOptions())
    content, style = data.train.get_batch(torch.arange(2))
    assert tuple(content.shape) == tuple(style.shape) == (2, 3, 32, 32)
    assert tuple(data.preview[0].shape) == (2, 3, 32, 32)
    other = family.prepare_data(replace(config, styles=("shipwreck",)), ["coffee", "rocket"], DataOptions())
    assert other.fingerprint != data.fingerprint
    result = atelier.train(config, data=["coffee", "rocket"], out=tmp_path,
                           train_config=TrainConfig(num_steps=2, batch_size=2, sample_every=2, eval_every=0,
                                                    tensorboard=False, progress=False))
    assert (tmp_path / "samples" / "step_000002.png").exists()
    model = atelier.load(result.checkpoint)
    assert isinstance(model, AdaINModel) and (model.kind, model.outputs) == ("adain", "pictures")


def test_evaluate_scores_held_out_photos_in_every_bundled_painting(model):
    report = FAMILY.evaluate(model, name="tiny", options=EvalOptions(data=["chelsea"]))
    assert (report.kind, report.num_samples) == ("adain", 3)
    assert sorted(report.metrics) == sorted(f"{m}_{j}" for m in ("style_distance", "photo_style_distance",
                                                                 "content_distance")
                                            for j in ("random_vgg19", "random_multiscale"))
    assert all(v > 0 for v in report.metrics.values())
    assert not any("never trained on" in n for n in report.notes)  # TINY trains on every bundled painting
    seen_one = AdaINModel(replace(TINY, styles=("starry_night",)), model.encoder, model.decoder)
    notes = FAMILY.evaluate(seen_one, name="one", options=EvalOptions(data=["chelsea"])).notes
    assert "the decoder never trained on the_scream, shipwreck" in notes
