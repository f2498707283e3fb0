import pytest
import torch

from atelier.errors import AtelierError
from atelier.style.losses import (
    adain,
    content_loss,
    gram_matrix,
    match_histograms,
    mean_std,
    mean_std_loss,
    preserve_color_luminance,
    style_loss,
    style_statistics,
    tv_loss,
)

# Two channels over a 1x2 image: F = [[1, 2], [3, 0]], F F^T = [[5, 3], [3, 9]], C*H*W = 4.
FEAT = torch.tensor([[[[1.0, 2.0]], [[3.0, 0.0]]]])
GRAM = torch.tensor([[[1.25, 0.75], [0.75, 2.25]]])


def test_gram_matrix_by_hand():
    torch.testing.assert_close(gram_matrix(FEAT), GRAM)


def test_gram_matrix_does_not_depend_on_image_size():
    tiled = FEAT.repeat(1, 1, 3, 2)  # the same statistics over a 3x4 image
    torch.testing.assert_close(gram_matrix(tiled), GRAM)


def test_masked_gram_is_the_gram_of_the_region():
    left, right = torch.rand(1, 4, 3, 2), torch.rand(1, 4, 3, 5)
    feat = torch.cat([left, right], dim=-1)  # (1, 4, 3, 7)
    mask = torch.zeros(3, 7)
    mask[:, :2] = 1
    torch.testing.assert_close(gram_matrix(feat, mask), gram_matrix(left))
    torch.testing.assert_close(gram_matrix(feat, torch.ones(3, 7)), gram_matrix(feat))


def test_content_loss_sums_mse_over_layers():
    feats = {"a": torch.zeros(1, 1, 2, 2), "b": torch.tensor([[[[1.0, 3.0]]]])}
    targets = {"a": torch.full((1, 1, 2, 2), 2.0), "b": torch.tensor([[[[1.0, 1.0]]]])}
    # layer a: every entry off by 2 -> 4; layer b: (0 + 4) / 2 -> 2
    assert float(content_loss(feats, targets)) == pytest.approx(6.0)
    assert float(content_loss(feats, {"b": targets["b"]})) == pytest.approx(2.0)


def test_style_loss_weights_each_layer():
    feats = {"a": FEAT, "b": torch.zeros(1, 2, 2, 2)}
    targets = {"a": torch.zeros(1, 2, 2), "b": torch.ones(1, 2, 2)}
    # layer a: mean(GRAM^2) = (1.5625 + 0.5625 * 2 + 5.0625) / 4 = 1.9375; layer b: mean(1) = 1
    assert float(style_loss(feats, targets)) == pytest.approx(2.9375)
    assert float(style_loss(feats, targets, {"a": 2.0, "b": 0.5})) == pytest.approx(4.375)
    assert float(style_loss({"a": FEAT}, {"a": GRAM})) == 0.0


def test_tv_loss_by_hand():
    img = torch.tensor([[[[0.0, 1.0, 3.0], [0.0, 1.0, 3.0]]]])  # rows equal
    # horizontal differences 1, 2 in each row -> mean (1 + 4) / 2 = 2.5; vertical 0
    assert float(tv_loss(img)) == pytest.approx(2.5)
    assert float(tv_loss(img.transpose(2, 3))) == pytest.approx(2.5)
    assert float(tv_loss(torch.full((1, 3, 4, 4), 0.3))) == 0.0


def test_adain_gives_content_the_style_statistics():
    content = torch.randn(2, 3, 8, 8)
    style = 4 + 3 * torch.randn(2, 3, 6, 6)
    out = adain(content, style)
    torch.testing.assert_close(mean_std(out)[0], mean_std(style)[0], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(mean_std(out)[1], mean_std(style)[1], atol=1e-3, rtol=1e-3)
    assert float(mean_std_loss({"x": out}, {"x": style})) < 1e-6


def test_mean_std_loss_by_hand():
    s = torch.tensor([[[[0.0, 2.0], [0.0, 2.0]]]])  # mean 1, std 1
    assert float(mean_std_loss({"a": s + 3}, {"a": s})) == pytest.approx(9.0)
    assert float(mean_std_loss({"a": 2 * s}, {"a": s})) == pytest.approx(2.0, rel=1e-4)


def _yiq(img):
    m = torch.tensor([[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]])
    return torch.einsum("ij,njhw->nihw", m, img)


def test_preserve_color_luminance_keeps_stylized_luminance_and_content_colour():
    gen = torch.Generator().manual_seed(0)
    content = 0.4 + 0.2 * torch.rand(1, 3, 6, 6, generator=gen)  # near grey: nothing is clipped
    stylized = 0.4 + 0.2 * torch.rand(1, 3, 6, 6, generator=gen)
    out = preserve_color_luminance(content, stylized)
    torch.testing.assert_close(_yiq(out)[:, 0], _yiq(stylized)[:, 0], atol=1e-5, rtol=0)
    torch.testing.assert_close(_yiq(out)[:, 1:], _yiq(content)[:, 1:], atol=1e-5, rtol=0)


def test_preserve_color_luminance_rejects_different_sizes():
    with pytest.raises(AtelierError, match="content is"):
        preserve_color_luminance(torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 5))


def test_match_histograms_takes_the_reference_values():
    image = torch.rand(1, 3, 5, 5)
    reference = torch.rand(1, 3, 5, 5) ** 3
    out = match_histograms(image, reference)
    # same size, no ties: the output is a rearrangement of the reference, in the image's order
    torch.testing.assert_close(out.flatten(2).sort().values, reference.flatten(2).sort().values)
    assert torch.equal(out.flatten(2).argsort(), image.flatten(2).argsort())


def test_match_histograms_maps_equal_values_equally():
    image = torch.tensor([[[[0.2, 0.2, 0.7, 0.7]]]]).expand(1, 3, 1, 4)
    out = match_histograms(image, torch.rand(1, 3, 8, 8))
    assert torch.equal(out[..., 0], out[..., 1]) and torch.equal(out[..., 2], out[..., 3])


def test_match_histograms_rejects_channel_mismatch():
    with pytest.raises(AtelierError, match="same C"):
        match_histograms(torch.rand(1, 3, 4, 4), torch.rand(1, 1, 4, 4))


def test_style_statistics_are_the_gram_per_tile_and_its_two_parts():
    feat = torch.randn(2, 5, 8, 6)
    (g,) = style_statistics(feat, "gram", tiles=2)  # (B, 4, C, C): tiles in row-major order
    assert tuple(g.shape) == (2, 4, 5, 5)
    torch.testing.assert_close(g[:, 1], gram_matrix(feat[..., :4, 3:]))  # top right tile
    mu, cov = style_statistics(feat, "mean_cov", tiles=2)
    torch.testing.assert_close(mu[:, 2], feat[..., 4:, :3].mean((2, 3)))  # bottom left tile
    torch.testing.assert_close(cov, g - mu[..., :, None] * mu[..., None, :] / 5)
