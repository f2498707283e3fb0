"""Losses and colour tools shared by every style-transfer family.

Features are dicts ``{layer: (N, C, H, W)}`` as returned by a
:class:`~atelier.style.features.FeatureNet`; images are ``(N, 3, H, W)`` in ``[0, 1]``.

>>> import torch
>>> f = {"a": torch.ones(1, 2, 2, 2)}
>>> gram_matrix(f["a"])
tensor([[[0.5000, 0.5000],
         [0.5000, 0.5000]]])
>>> float(style_loss(f, {"a": gram_matrix(f["a"])}))
0.0
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from atelier.errors import AtelierError

# ---------------------------------------------------------------------------------------------
# Content and style (Gatys, Ecker & Bethge 2016, "Image Style Transfer Using Convolutional
# Neural Networks", CVPR, eqs. 1-5)
# ---------------------------------------------------------------------------------------------


def content_loss(features: Mapping[str, Tensor], targets: Mapping[str, Tensor]) -> Tensor:
    """L_content = sum over layers l in ``targets`` of mean((F_l - P_l)^2).

    >>> import torch
    >>> float(content_loss({"a": torch.zeros(1, 1, 2, 2)}, {"a": torch.ones(1, 1, 2, 2)}))
    1.0
    """
    return sum((F.mse_loss(features[k], t) for k, t in targets.items()), torch.tensor(0.0))


def gram_matrix(feat: Tensor, mask: Tensor | None = None) -> Tensor:
    """Channel correlations G = F F^T / (C * H * W), shape (N, C, C), for ``feat`` (N, C, H, W).

    Dividing by C*H*W (not just H*W) makes the Gram of an image independent of its size and keeps
    values comparable across layers of different width, so one style weight fits every scale.

    With ``mask`` (H, W), weights >= 0, the Gram is the mask-weighted average of the per-pixel
    outer products, G = F diag(m) F^T / (C * sum(m)): the style statistics of one region (Gatys
    et al. 2017, "Controlling Perceptual Factors in Neural Style Transfer", section 4.1). A mask
    of ones gives the plain Gram.

    >>> import torch
    >>> gram_matrix(torch.tensor([[[[1.0, 2.0]], [[3.0, 0.0]]]]))  # C=2, H=1, W=2
    tensor([[[1.2500, 0.7500],
             [0.7500, 2.2500]]])
    """
    n, c, h, w = feat.shape
    f = feat.reshape(n, c, h * w)  # (N, C, HW)
    if mask is None:
        return f @ f.transpose(1, 2) / (c * h * w)
    m = mask.reshape(1, 1, h * w).to(f.dtype)  # (1, 1, HW)
    return (f * m) @ f.transpose(1, 2) / (c * m.sum().clamp_min(1e-8))


def style_loss(
    features: Mapping[str, Tensor],
    target_grams: Mapping[str, Tensor],
    layer_weights: Mapping[str, float] | None = None,
) -> Tensor:
    """L_style = sum over layers l of w_l * mean((G_l - A_l)^2), G_l the Gram of ``features[l]``.

    ``layer_weights`` defaults to 1 for every layer of ``target_grams``.

    >>> import torch
    >>> x = {"a": torch.zeros(1, 1, 1, 2)}
    >>> float(style_loss(x, {"a": torch.full((1, 1, 1), 2.0)}, {"a": 0.5}))
    2.0
    """
    total = torch.tensor(0.0)
    for k, target in target_grams.items():
        w = 1.0 if layer_weights is None else layer_weights[k]
        total = total + w * F.mse_loss(gram_matrix(features[k]), target.expand(features[k].shape[0], -1, -1))
    return total


def energy(t: Tensor) -> Tensor:
    """Mean square of a loss target, floored so an all-zero map cannot divide by zero.

    Every style family divides each loss term by its target's energy, so one weight means the
    same for every backbone, layer and image size.

    >>> import torch
    >>> float(energy(torch.tensor([3.0, 4.0]))), float(energy(torch.zeros(2))) > 0
    (12.5, True)
    """
    return t.pow(2).mean().clamp_min(1e-8)


def tv_loss(img: Tensor) -> Tensor:
    """Total variation: mean squared difference of vertical plus of horizontal neighbours.

    The squared (beta = 2) form of Mahendran & Vedaldi 2015 has smooth gradients, which suits
    L-BFGS; it suppresses the pixel-scale noise that feature losses leave behind.

    >>> import torch
    >>> float(tv_loss(torch.tensor([[[[0.0, 1.0], [0.0, 1.0]]]])))  # rows equal, columns differ
    1.0
    """
    dy = img[..., 1:, :] - img[..., :-1, :]  # (N, C, H-1, W)
    dx = img[..., :, 1:] - img[..., :, :-1]  # (N, C, H, W-1)
    return dy.pow(2).mean() + dx.pow(2).mean()


# ---------------------------------------------------------------------------------------------
# Mean / standard deviation statistics (Huang & Belongie 2017, "Arbitrary Style Transfer in
# Real-time with Adaptive Instance Normalization", ICCV, eqs. 8 and 9)
# ---------------------------------------------------------------------------------------------


def mean_std(feat: Tensor, eps: float = 1e-5) -> tuple[Tensor, Tensor]:
    """Per-sample, per-channel mean and standard deviation of ``feat``, each (N, C, 1, 1)."""
    mean = feat.mean(dim=(2, 3), keepdim=True)
    std = (feat.var(dim=(2, 3), keepdim=True, unbiased=False) + eps).sqrt()
    return mean, std


def adain(content_feat: Tensor, style_feat: Tensor, eps: float = 1e-5) -> Tensor:
    """AdaIN(x, y) = sigma(y) * (x - mu(x)) / sigma(x) + mu(y), per sample and channel.

    >>> import torch
    >>> out = adain(torch.randn(2, 4, 8, 8), 3 + 2 * torch.randn(2, 4, 8, 8))
    >>> m, s = mean_std(out)
    >>> tuple(out.shape)
    (2, 4, 8, 8)
    """
    c_mean, c_std = mean_std(content_feat, eps)
    s_mean, s_std = mean_std(style_feat, eps)
    return s_std * (content_feat - c_mean) / c_std + s_mean


def mean_std_loss(features: Mapping[str, Tensor], style_features: Mapping[str, Tensor]) -> Tensor:
    """sum over layers of mean((mu(F) - mu(S))^2) + mean((sigma(F) - sigma(S))^2).

    >>> import torch
    >>> s = torch.tensor([[[[0.0, 2.0], [0.0, 2.0]]]])  # mean 1, std 1
    >>> float(mean_std_loss({"a": s + 1}, {"a": s}))  # means differ by 1, stds agree
    1.0
    """
    total = torch.tensor(0.0)
    for k, s in style_features.items():
        f_mean, f_std = mean_std(features[k])
        s_mean, s_std = mean_std(s)
        total = total + F.mse_loss(f_mean, s_mean) + F.mse_loss(f_std, s_std)
    return total


# ---------------------------------------------------------------------------------------------
# Colour control (Gatys, Bethge, Hertzmann & Shechtman 2016, "Preserving Color in Neural
# Artistic Style Transfer", arXiv:1606.05897)
# ---------------------------------------------------------------------------------------------

# NTSC YIQ: Y is luminance, I and Q carry colour.
_RGB_TO_YIQ = torch.tensor(
    [[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]]
)


def _check_same_size(a_name: str, a: Tensor, b_name: str, b: Tensor) -> None:
    if a.ndim != 4 or a.shape[1] != 3 or b.ndim != 4 or b.shape[1] != 3:
        raise AtelierError(f"{a_name} and {b_name} must be images (N, 3, H, W)")
    if a.shape[-2:] != b.shape[-2:]:
        raise AtelierError(
            f"{a_name} is {tuple(a.shape[-2:])} but {b_name} is {tuple(b.shape[-2:])}; "
            "resize one to the other's height and width"
        )


def preserve_color_luminance(content: Tensor, stylized: Tensor) -> Tensor:
    """The luminance (YIQ Y) of ``stylized`` with the colour (I, Q) of ``content``.

    Luminance-only transfer: the brush strokes stay, the photo's colours come back.

    >>> import torch
    >>> grey = torch.full((1, 3, 4, 4), 0.5)
    >>> red = torch.zeros(1, 3, 4, 4); red[:, 0] = 1.0
    >>> out = preserve_color_luminance(red, grey)   # grey's brightness, red's hue
    >>> bool(out[0, 0, 0, 0] > out[0, 1, 0, 0])
    True
    """
    _check_same_size("content", content, "stylized", stylized)
    m = _RGB_TO_YIQ.to(stylized)
    yiq_s = torch.einsum("ij,njhw->nihw", m, stylized)
    yiq_c = torch.einsum("ij,njhw->nihw", m, content.expand_as(stylized))
    yiq = torch.cat([yiq_s[:, :1], yiq_c[:, 1:]], dim=1)
    return torch.einsum("ij,njhw->nihw", torch.linalg.inv(m), yiq).clamp(0, 1)


def match_histograms(image: Tensor, reference: Tensor) -> Tensor:
    """Remap each channel of ``image`` so its histogram matches that channel of ``reference``.

    Works per sample (a reference with N=1 serves every sample); sizes may differ. Equal input
    values map to equal outputs: each distinct value goes to the reference value at the same
    quantile, linearly interpolated.

    >>> import torch
    >>> img = torch.linspace(0, 1, 16).view(1, 1, 4, 4).expand(1, 3, 4, 4)
    >>> ref = torch.linspace(0.5, 0.6, 64).view(1, 1, 8, 8).expand(1, 3, 8, 8)
    >>> out = match_histograms(img, ref)
    >>> bool(out.min() >= 0.5 and out.max() <= 0.6)
    True
    """
    if image.ndim != 4 or reference.ndim != 4 or image.shape[1] != reference.shape[1]:
        raise AtelierError(
            f"image {tuple(image.shape)} and reference {tuple(reference.shape)} must both be "
            "(N, C, H, W) with the same C"
        )
    if reference.shape[0] not in (1, image.shape[0]):
        raise AtelierError(f"reference batch is {reference.shape[0]}; expected 1 or {image.shape[0]}")
    src = image.detach().cpu().double().numpy()
    ref = reference.detach().cpu().double().numpy()
    out = np.empty_like(src)
    for n in range(src.shape[0]):
        for c in range(src.shape[1]):
            s = src[n, c].ravel()
            r = ref[n if ref.shape[0] > 1 else 0, c].ravel()
            s_values, s_index, s_counts = np.unique(s, return_inverse=True, return_counts=True)
            r_values, r_counts = np.unique(r, return_counts=True)
            s_quantiles = np.cumsum(s_counts) / s.size
            r_quantiles = np.cumsum(r_counts) / r.size
            out[n, c] = np.interp(s_quantiles, r_quantiles, r_values)[s_index].reshape(src.shape[2:])
    return torch.from_numpy(out).to(device=image.device, dtype=image.dtype)


# ---------------------------------------------------------------------------------------------
# Style statistics per tile (the fast style network's targets)
# ---------------------------------------------------------------------------------------------

STYLE_STATISTICS = ("gram", "mean_cov")


def _tile_features(feat: Tensor, tiles: int) -> Tensor:
    """The tiles of a tiles×tiles grid over each map, flattened: (B, C, H, W) → (B, T, C, h·w)."""
    b, c, h, w = feat.shape
    th, tw = h // tiles, w // tiles
    if tiles == 1 or th == 0 or tw == 0:
        return feat.reshape(b, 1, c, h * w)
    f = feat[..., :th * tiles, :tw * tiles].reshape(b, c, tiles, th, tiles, tw)
    return f.permute(0, 2, 4, 1, 3, 5).reshape(b, tiles * tiles, c, th * tw)


def style_statistics(feat: Tensor, kind: str, tiles: int = 1) -> tuple[Tensor, ...]:
    """The style statistics of each tile: (B, C, H, W) → ``"gram"``: (G,) with G (B, T, C, C);
    ``"mean_cov"``: (mu, S) with mu (B, T, C) and S (B, T, C, C).

        G = F F^T / (C n)        mu = F 1 / n        S = (F - mu)(F - mu)^T / (C n) = G - mu mu^T / C

    for the C×n features F of a tile (both through :func:`atelier.style.losses.gram_matrix`).

    >>> f = torch.randn(2, 4, 6, 6)
    >>> (g,), (mu, s) = style_statistics(f, "gram"), style_statistics(f, "mean_cov")
    >>> bool(torch.allclose(g, s + mu[..., :, None] * mu[..., None, :] / 4, atol=1e-6))
    True
    """
    f = _tile_features(feat, tiles)  # (B, T, C, n)
    b, t, c, n = f.shape
    gram = lambda x: gram_matrix(x.reshape(b * t, c, n, 1)).reshape(b, t, c, c)  # noqa: E731
    if kind == "gram":
        return (gram(f),)
    mu = f.mean(-1)  # (B, T, C)
    return mu, gram(f - mu[..., None])
