"""``atelier.stylize`` and the per-method functions behind it: every method, every control, every bad input named."""

import dataclasses
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from atelier.checkpoint import save_checkpoint
from atelier.errors import AtelierError
from atelier.style import adain, feedforward
from atelier.data.photos import resize_long_side, to_tensor
from atelier.api.style import stylize
from atelier.style.transfer import GatysOptions, StylizeControls, paint_adain, paint_fast, paint_gatys

FAST = replace(feedforward.PRESETS["fast"], styles=("a", "b"), width=4, num_residual=1, backbone="random-multiscale",
               content_layers=None)
ADAIN = replace(adain.PRESETS["adain-vgg"], encoder_layer="relu2_1", style_layers=("relu1_1", "relu2_1"),
                decoder_width=0.125)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("style-models")
    torch.manual_seed(0)
    net = feedforward.TransformerNet(FAST)
    with torch.no_grad():  # make the two styles (and the untrained network) visibly different
        for m in net.modules():
            if isinstance(m, feedforward.CondInstanceNorm):
                m.gamma.copy_(1 + torch.randn_like(m.gamma))
                m.beta.copy_(torch.randn_like(m.beta))
        net.out.weight.normal_(0, 0.01)
    fast = save_checkpoint(root / "fast.safetensors", kind="fast_style", config=dataclasses.asdict(FAST),
                           modules={"net": net})
    decoder = adain.Decoder(ADAIN)
    ada = save_checkpoint(root / "adain.safetensors", kind="adain", config=dataclasses.asdict(ADAIN),
                          modules={"decoder": decoder})
    return {"fast": str(fast), "adain": str(ada)}


@pytest.fixture
def photo(tmp_path):
    g = np.random.default_rng(0)
    path = tmp_path / "photo.png"
    Image.fromarray(g.integers(0, 256, (40, 60, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture
def painting(tmp_path):
    arr = np.zeros((30, 30, 3), dtype=np.uint8)
    arr[:, ::3] = (250, 200, 20)
    path = tmp_path / "painting.jpg"
    Image.fromarray(arr).save(path)
    return path


def _left_right_mask(path, size=(60, 40), levels=(0, 255)):
    arr = np.full((size[1], size[0]), levels[0], dtype=np.uint8)
    arr[:, size[0] // 2:] = levels[1]
    Image.fromarray(arr).save(path)
    return path


def test_fast_mixes_the_models_styles_by_name(models, photo):
    result = stylize(photo, ["a", "b"], method="fast", model=models["fast"], weights=[3, 1])
    model = feedforward.FastStyleModel.from_checkpoint(models["fast"])
    want = model.stylize(to_tensor(Image.open(photo)), weights=[0.75, 0.25])
    assert result.image.size == (60, 40)
    assert np.abs(np.asarray(result.image, dtype=int) - np.asarray(Image.fromarray(
        (want[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)), dtype=int)).max() <= 1
    assert result.metadata["weights"] == [0.75, 0.25] and len(result.metadata["model_sha256"]) == 64


def test_fast_accepts_a_file_named_like_a_style_and_refuses_others(models, photo, tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "b.png")
    assert stylize(photo, [tmp_path / "b.png"], method="fast", model=models["fast"]).metadata["styles"] == ["b"]
    with pytest.raises(AtelierError, match=r"no style 'starry_night'; its styles: a, b"):
        stylize(photo, ["starry_night"], method="fast", model=models["fast"])
    with pytest.raises(AtelierError, match=r"holds 2 styles \(a, b\); choose with --style"):
        stylize(photo, method="fast", model=models["fast"])


@pytest.mark.parametrize("method", ["fast", "adain"])
def test_strength_zero_gives_back_the_photo(models, photo, painting, method):
    styles = ["a"] if method == "fast" else [painting]
    out = stylize(photo, styles, method=method, model=models[method], strength=0.0)
    assert np.abs(np.asarray(out.image, dtype=int) - np.asarray(Image.open(photo), dtype=int)).max() <= 1


def test_size_sets_the_long_side_whatever_the_paintings_size(models, photo, tmp_path):
    Image.new("RGB", (300, 20), "red").save(tmp_path / "wide.png")
    Image.new("RGB", (20, 300), "blue").save(tmp_path / "tall.png")
    for style in ("wide.png", "tall.png"):
        assert stylize(photo, [tmp_path / style], method="adain", model=models["adain"], size=90).image.size == (90, 60)
    assert stylize(photo, ["a"], method="fast", model=models["fast"]).image.size == (60, 40)  # own size, <= 512


def test_gatys_with_a_bundled_painting(photo):
    result = stylize(photo, ["the_scream"], method="gatys", preset="fast", size=32, num_steps=3,
                     backbone="random-multiscale", seed=3)
    assert result.image.size == (32, 21)
    assert result.metadata["backbone"] == "random-multiscale" and result.metadata["seed"] == 3
    assert result.metadata["styles"] == [{"name": "the_scream"}]


def test_a_mask_file_routes_styles_to_regions(models, photo, tmp_path):
    model = feedforward.FastStyleModel.from_checkpoint(models["fast"])
    mask = _left_right_mask(tmp_path / "mask.png", size=(30, 20))  # half the photo's size: resized
    out = stylize(photo, ["b", "a"], method="fast", model=models["fast"], mask=mask)
    regions = torch.zeros(2, 40, 60)
    regions[1, :, :30], regions[0, :, 30:] = 1.0, 1.0  # black (first level) → b, white → a
    want = model.stylize(to_tensor(Image.open(photo)), mask=regions)
    torch.testing.assert_close(out.tensor, want, atol=1 / 255, rtol=0)
    assert out.metadata["weights"] is None and "sha256" in out.metadata["mask"]


def test_adain_mask_and_colour_mask(models, photo, painting, tmp_path):
    arr = np.zeros((40, 60, 3), dtype=np.uint8)
    arr[:, 30:] = (255, 0, 0)  # colours work as well as grey levels
    Image.fromarray(arr).save(tmp_path / "colour.png")
    out = stylize(photo, [painting, "starry_night"], method="adain", model=models["adain"], mask=tmp_path / "colour.png")
    assert out.image.size == (60, 40)


@pytest.mark.parametrize(
    "levels, size, message",
    [
        ((0, 128, 255), (60, 40), "3 distinct grey levels/colours but there are 2 styles"),
        ((0, 255), (40, 40), "is 40×40 px but the content is 60×40"),
    ],
)
def test_bad_masks_are_named(models, photo, tmp_path, levels, size, message):
    arr = np.zeros((size[1], size[0]), dtype=np.uint8)
    for i, level in enumerate(levels):
        arr[:, i * size[0] // len(levels):] = level
    Image.fromarray(arr).save(tmp_path / "m.png")
    with pytest.raises(AtelierError, match=message):
        stylize(photo, ["a", "b"], method="fast", model=models["fast"], mask=tmp_path / "m.png")


def test_keep_alpha_keeps_the_photos_transparency(models, tmp_path):
    rgba = np.zeros((20, 24, 4), dtype=np.uint8)
    rgba[..., :3] = 120
    rgba[:, :12, 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "cut.png")
    kept = stylize(tmp_path / "cut.png", ["a"], method="fast", model=models["fast"], keep_alpha=True)
    assert kept.image.mode == "RGBA"
    np.testing.assert_array_equal(np.asarray(kept.image)[..., 3], rgba[..., 3])
    assert stylize(tmp_path / "cut.png", ["a"], method="fast", model=models["fast"]).image.mode == "RGB"


def test_preserve_color_through_stylize(models, photo):
    plain = stylize(photo, ["a"], method="fast", model=models["fast"]).tensor
    kept = stylize(photo, ["a"], method="fast", model=models["fast"], preserve_color="luminance").tensor
    original = resize_long_side(to_tensor(Image.open(photo)), 60)
    chroma = torch.tensor([[0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]])
    err = lambda x: (torch.einsum("ij,njhw->nihw", chroma, x - original)).abs().mean()  # noqa: E731
    assert err(kept) < 0.02 and err(kept) < 0.5 * err(plain)


def _vgg_file(tmp_path):
    path = tmp_path / "vgg19.safetensors"
    save_file({"features.0.weight": torch.zeros(64, 1, 3, 3), "features.0.bias": torch.zeros(64)}, str(path))
    return path


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"method": "cyclegan"}, "unknown method 'cyclegan'; choose one of: adain, fast, gatys"),
        ({"strength": 2.0}, "strength is 2.0"),
        ({"size": 0}, "size is 0"),
        ({"size": 100_000}, "size is 100000"),
        ({"styles": ["starry_night", "the_scream"], "weights": [1, 2, 3]}, "3 weights for 2 styles"),
        ({"weights": [-1]}, r"weights \[-1.0\] must be >= 0"),
        ({"preserve_color": "yes"}, "unknown preserve_color 'yes'"),
        ({"styles": []}, "method 'adain' needs at least one style picture"),
        ({"styles": ["/no/such/painting.jpg"]}, "image /no/such/painting.jpg: no such file"),
        ({"backbone": "vgg19"}, "apply to method 'gatys'"),
        ({"method": "gatys", "model": "x"}, "model applies to methods 'fast' and 'adain'"),
        ({"mask": "m.png", "weights": [1]}, "not both"),
        ({"method": "gatys", "preset": "slow"}, "unknown gatys preset 'slow'"),
    ],
)
def test_bad_arguments_are_named(models, photo, kwargs, message):
    args = {"styles": ["starry_night"], "method": "adain", "model": models["adain"], **kwargs}
    if args["method"] == "gatys" and "model" not in kwargs:
        args.pop("model")
    with pytest.raises(AtelierError, match=message):
        stylize(photo, **args)


def test_bad_pictures_are_named(models, tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    Image.new("RGB", (100, 100)).save(tmp_path / "big.png")
    cases = [
        (tmp_path / "missing.png", {}, "no such file"),
        (tmp_path / "empty.png", {}, "cannot be read"),
        (tmp_path / "broken.jpg", {}, "cannot be read"),
        (tmp_path / "notes.txt", {}, "unsupported file type '.txt'"),
        (tmp_path / "big.png", {"max_pixels": 5000}, "over the limit of 5,000"),
    ]
    for path, extra, message in cases:
        with pytest.raises(AtelierError, match=message):
            stylize(path, ["a"], method="fast", model=models["fast"], **extra)


def test_a_vgg_weight_file_of_the_wrong_shape_names_the_layer(photo, tmp_path):
    with pytest.raises(AtelierError, match=r"layer conv1_1 \(features.0.weight\) has shape \(64, 1, 3, 3\)"):
        stylize(photo, ["the_scream"], method="gatys", backbone="vgg19", vgg_weights=_vgg_file(tmp_path), size=32)


def test_each_method_is_a_function_of_its_own_and_the_dispatcher_only_adds_the_model(models, photo):
    model = feedforward.FastStyleModel.from_checkpoint(models["fast"])
    direct = paint_fast(photo, ["a"], model, controls=StylizeControls(strength=0.5))
    routed = stylize(photo, ["a"], method="fast", model=models["fast"], strength=0.5)
    torch.testing.assert_close(direct.tensor, routed.tensor)
    assert {k: v for k, v in routed.metadata.items() if k not in ("model", "model_sha256")} == direct.metadata
    assert routed.metadata["model"] == models["fast"]
    assert stylize(photo, ["a"], method="fast", model=model).metadata["model"] == "FastStyleModel"
    decoder = adain.AdaINModel.from_checkpoint(models["adain"])
    torch.testing.assert_close(paint_adain(photo, "the_scream", decoder).tensor,
                               stylize(photo, ["the_scream"], method="adain", model=models["adain"]).tensor)


def test_gatys_at_strength_zero_gives_back_the_photo_at_the_asked_size(photo):
    out = paint_gatys(photo, ["the_scream"], controls=StylizeControls(strength=0.0, size=30),
                      options=GatysOptions(backbone="random-multiscale", num_steps=1))
    assert out.image.size == (30, 20) and "final_loss" not in out.metadata


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: StylizeControls(size=8), "size is 8"),
        (lambda: StylizeControls(weights=[1, 1], mask="m.png"), "not both"),
        (lambda: StylizeControls(max_pixels=0), "max_pixels must be positive"),
        (lambda: GatysOptions(backbone="resnet"), "unknown backbone 'resnet'"),
        (lambda: GatysOptions(num_steps=0), "num_steps is 0"),
    ],
)
def test_each_options_dataclass_checks_its_own_fields(make, message):
    with pytest.raises(AtelierError, match=message):
        make()


def test_the_dispatcher_names_an_option_no_method_takes(models, photo):
    with pytest.raises(AtelierError, match=r"unknown adain option 'streng'; choose one of: .*strength"):
        stylize(photo, ["starry_night"], method="adain", model=models["adain"], streng=0.5)
    with pytest.raises(AtelierError, match="num_steps, preset: options that apply to method 'gatys' only"):
        stylize(photo, ["a"], method="fast", model=models["fast"], preset="quality", num_steps=3)
