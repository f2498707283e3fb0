"""Network parts shared by several families: MLPs, the DCGAN bodies, noise, slerp, label and image
checks, the adversarial losses and weight averaging.

The GAN, the VAE, CycleGAN and MusicVAE build on these; each family's own file keeps only what is its
own. Shapes are in the comments: B batch, C channels, H×W pixels, D features.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from atelier.errors import AtelierError, choose_one

# Side of the smallest DCGAN feature map for each supported image size; every layer doubles it.
DCGAN_START = {28: 7, 32: 4, 64: 4}  # 7→14→28; 4→8→16→32; 4→8→16→32→64
GAN_LOSSES = ("nonsaturating", "hinge", "lsgan", "wgan-gp")

def mlp(sizes: Sequence[int], activation: Callable[[], nn.Module], *, last_activation: bool = False,
        dropout: float = 0.0) -> nn.Sequential:
    """Linear layers of the given widths with ``activation()`` between them (and after the last one
    when ``last_activation``), each activation followed by dropout when ``dropout`` > 0.
    (B, sizes[0]) → (B, sizes[-1]).

    >>> mlp([4, 8, 2], nn.ReLU)(torch.zeros(3, 4)).shape
    torch.Size([3, 2])
    """
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if last_activation or i < len(sizes) - 2:
            layers.append(activation())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def norm_layer(kind: str, channels: int) -> nn.Module:
    """``batch``: BatchNorm; ``layer``: normalise each sample over (C, H, W) (GroupNorm with one group
    is layer norm with a per-channel affine); ``none``."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    return nn.Identity()


def concat_one_hot(h: torch.Tensor, labels: torch.Tensor | None, num_classes: int) -> torch.Tensor:
    """(B, D) → (B, D + num_classes) with the one-hot labels appended; unchanged when unconditional."""
    if num_classes == 0:
        return h
    return torch.cat([h, F.one_hot(labels, num_classes).to(h.dtype)], dim=1)


class UpConv(nn.Module):
    """The DCGAN generator body: a vector to an image, doubling the side at every layer.

    (B, in_dim) → 1×1 → s0×s0 (a transposed conv with an s0×s0 kernel, the paper's "project and
    reshape") → ×2 per layer → (B, out_channels, image_size, image_size), pre-activation. Channels
    halve as the side doubles and the last hidden layer has ``width`` channels: 64 px with width 64
    is the paper's 512→256→128→64→C. Norm, then ReLU, after every layer but the output.
    """

    def __init__(self, in_dim: int, out_channels: int, image_size: int, width: int, *, norm: str) -> None:
        super().__init__()
        start = DCGAN_START[image_size]
        n_up = int(math.log2(image_size // start))  # 28: 2, 32: 3, 64: 4
        chans = [width * 2 ** (n_up - 1 - i) for i in range(n_up)] + [out_channels]  # 28, w: [2w, w, C]
        bias = norm == "none"  # a norm layer's shift makes a conv bias redundant
        layers: list[nn.Module] = [
            nn.Unflatten(1, (in_dim, 1, 1)),  # (B, in_dim, 1, 1)
            nn.ConvTranspose2d(in_dim, chans[0], start, 1, 0, bias=bias),  # (B, c0, s0, s0)
            norm_layer(norm, chans[0]), nn.ReLU(),
        ]
        for i in range(n_up):
            last = i == n_up - 1
            layers.append(nn.ConvTranspose2d(chans[i], chans[i + 1], 4, 2, 1, bias=bias or last))  # side ×2
            if not last:
                layers += [norm_layer(norm, chans[i + 1]), nn.ReLU()]
        self.net = nn.Sequential(*layers)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h)  # (B, in_dim) → (B, C, H, W)


class DownConv(nn.Module):
    """The DCGAN discriminator body, the mirror of :class:`UpConv`: an image to a feature vector.

    (B, C, H, W) → stride-2 4×4 convs, halving the side down to s0 → flattened (B, out_features).
    LeakyReLU(0.2) after every layer; norm on every layer but the input one (Radford et al. 2015).
    """

    def __init__(self, in_channels: int, image_size: int, width: int, *, norm: str) -> None:
        super().__init__()
        start = DCGAN_START[image_size]
        n_down = int(math.log2(image_size // start))
        chans = [in_channels] + [width * 2 ** i for i in range(n_down)]  # 28, w: [C, w, 2w]
        layers: list[nn.Module] = []
        for i in range(n_down):
            layers.append(nn.Conv2d(chans[i], chans[i + 1], 4, 2, 1, bias=i == 0 or norm == "none"))  # side ÷2
            if i > 0:
                layers.append(norm_layer(norm, chans[i + 1]))
            layers.append(nn.LeakyReLU(0.2))
        layers.append(nn.Flatten())  # (B, c_last * s0 * s0)
        self.net = nn.Sequential(*layers)
        self.out_features = chans[-1] * start * start

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, C, H, W) → (B, out_features)


def dcgan_init(module: nn.Module) -> None:
    """Radford et al. 2015: all weights from N(0, 0.02); BatchNorm scales from N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def seeded_normal(n: int, dim: int, *, seed: int, truncation: float | None = None) -> torch.Tensor:
    """(n, dim) draws of N(0, I) from ``seed``; with ``truncation`` t, from N(0, I) truncated to [-t, t].

    Truncation (Brock et al. 2019) redraws every coordinate with |z_i| > t until it lands inside;
    we draw from that same truncated normal directly by inverting its CDF, which needs no loop.

    >>> bool(seeded_normal(1000, 8, seed=0, truncation=0.5).abs().max() <= 0.5)
    True
    """
    g = torch.Generator().manual_seed(seed)
    if truncation is None:
        return torch.randn(n, dim, generator=g)
    lo = torch.special.ndtr(torch.tensor(-float(truncation), dtype=torch.float64))  # Φ(−t)
    u = lo + (1 - 2 * lo) * torch.rand(n, dim, generator=g, dtype=torch.float64)  # U(Φ(−t), Φ(t))
    return torch.special.ndtri(u).clamp(-truncation, truncation).float()


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between vectors a, b (D,) at fractions t (S,) → (S, D).

    High-dimensional Gaussian noise lies near a sphere; a straight line between two draws passes
    through its low-norm interior, slerp stays on it (Shoemake 1985; White 2016, "Sampling
    generative networks"). Exact endpoints: t=0 gives a, t=1 gives b.

    >>> a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    >>> slerp(a, b, torch.tensor([0.5]))
    tensor([[0.7071, 0.7071]])
    """
    cos = torch.dot(a / a.norm(), b / b.norm()).clamp(-1.0, 1.0)
    omega = torch.acos(cos)  # the angle between a and b
    sin = torch.sin(omega)
    t = t.to(a.dtype)[:, None]  # (S, 1)
    if sin.abs() < 1e-6:  # (anti)parallel: the arc is undefined, a straight line is as good
        return (1 - t) * a + t * b
    return torch.sin((1 - t) * omega) / sin * a + torch.sin(t * omega) / sin * b


def check_images(images: Any, *, channels: int, image_size: int) -> torch.Tensor:
    """Images must be a float tensor (N, channels, image_size, image_size) scaled to [-1, 1]."""
    expected = (channels, image_size, image_size)
    if not torch.is_tensor(images) or images.ndim != 4 or tuple(images.shape[1:]) != expected:
        shape = tuple(images.shape) if torch.is_tensor(images) else type(images).__name__
        raise AtelierError(f"images {shape}; this model expects (N, {channels}, {image_size}, {image_size}) in [-1, 1]")
    if not images.is_floating_point() or images.shape[0] == 0:
        raise AtelierError(f"images {images.dtype} {tuple(images.shape)}; need a non-empty float tensor in [-1, 1]")
    lo, hi = float(images.min()), float(images.max())
    if lo < -1.001 or hi > 1.001:
        raise AtelierError(f"images range over [{lo:.3g}, {hi:.3g}]; scale them to [-1, 1] (x / 127.5 - 1 for bytes)")
    return images


def resolve_labels(labels: Any, n: int, num_classes: int, *, what: str) -> torch.Tensor | None:
    """Labels for ``n`` images as a LongTensor (n,), or None for an unconditional model.

    ``labels`` may be one class for all, ``n`` classes, or None (a conditional model then cycles
    through its classes 0, 1, …, K−1, 0, …). Labels on an unconditional model, classes outside
    0..K−1 and non-integer labels are errors.
    """
    if num_classes == 0:
        if labels is not None:
            raise AtelierError(f"labels given, but this {what} is unconditional (num_classes=0); leave labels=None")
        return None
    if labels is None:
        return torch.arange(n) % num_classes
    labels = torch.as_tensor(labels)
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise AtelierError(f"labels must be integer classes 0..{num_classes - 1}, got dtype {labels.dtype}")
    labels = labels.long().cpu()
    if labels.ndim == 0:
        labels = labels.expand(n)
    if tuple(labels.shape) != (n,):
        raise AtelierError(f"labels have shape {tuple(labels.shape)}; give one class or {n} classes")
    bad = labels[(labels < 0) | (labels >= num_classes)]
    if bad.numel():
        raise AtelierError(f"label {int(bad[0])} is not a class of this {what}; allowed: 0..{num_classes - 1}")
    return labels


def check_batch(batch: Any, *, channels: int, image_size: int, num_classes: int,
                what: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Unpack a batch ``(images, labels)`` (labels may be None) and check it fits the model.

    An unconditional model ignores the labels; a conditional one needs them, in 0..K−1.
    """
    if torch.is_tensor(batch):
        images, labels = batch, None
    elif isinstance(batch, (tuple, list)) and len(batch) in (1, 2):
        images, labels = batch[0], (batch[1] if len(batch) == 2 else None)
    else:
        raise AtelierError(f"a batch is a tuple (images, labels) with labels (B,) or None, got {type(batch).__name__}")
    images = check_images(images, channels=channels, image_size=image_size)
    if num_classes == 0:
        return images, None
    if labels is None:
        raise AtelierError(f"this {what} is conditional on {num_classes} classes; batches need labels, got None")
    device = images.device
    labels = resolve_labels(labels, images.shape[0], num_classes, what=what)
    return images, labels.to(device)


# ---- adversarial losses: D's outputs are logits (unbounded scores); each returns a batch mean


def translate(x: torch.Tensor, shifts: torch.Tensor, radius: int) -> torch.Tensor:
    """Each image moved by its own (dy, dx) pixels, the uncovered border filled with the background
    (−1): DiffAugment's translation (Zhao et al. 2020), differentiable, so a generator learns through it.

    x (B, C, H, W); shifts (B, 2) integers in [−radius, radius]. A GAN shifts D's real and fake
    inputs alike, which keeps D from memorising where strokes sit in a small training set while G
    still learns unshifted images; a VAE shifts its training images (plain data augmentation).

    >>> x = -torch.ones(1, 1, 3, 3); x[0, 0, 1, 1] = 1.0
    >>> translate(x, torch.tensor([[1, 0]]), 1)[0, 0, 2, 1].item()
    1.0
    """
    b, _, h, w = x.shape
    r = radius
    if r == 0:
        return x
    padded = F.pad(x, (r, r, r, r), value=-1.0)  # (B, C, H + 2r, W + 2r)
    rows = (torch.arange(h, device=x.device) + r).view(1, h, 1) - shifts[:, 0].view(b, 1, 1)  # (B, H, 1)
    cols = (torch.arange(w, device=x.device) + r).view(1, 1, w) - shifts[:, 1].view(b, 1, 1)  # (B, 1, W)
    batch = torch.arange(b, device=x.device).view(b, 1, 1)
    return padded[batch, :, rows, cols].permute(0, 3, 1, 2)  # (B, H, W, C) → (B, C, H, W)


def discriminator_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """D's loss on logits of real (B,) and fake (B,) images.

    nonsaturating (Goodfellow et al. 2014): −log σ(D(x)) − log(1 − σ(D(G(z)))), i.e. BCE with
        targets 1 and 0; softplus(−t) = −log σ(t) keeps it finite for any logit.
    hinge (Lim & Ye 2017; Miyato et al. 2018): max(0, 1 − D(x)) + max(0, 1 + D(G(z))).
    lsgan (Mao et al. 2017): ½(D(x) − 1)² + ½D(G(z))².
    wgan-gp (Gulrajani et al. 2017): D(G(z)) − D(x); the gradient penalty is added by the caller.
    """
    if kind == "nonsaturating":
        return F.softplus(-real).mean() + F.softplus(fake).mean()
    if kind == "hinge":
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
    if kind == "lsgan":
        return 0.5 * (real - 1).pow(2).mean() + 0.5 * fake.pow(2).mean()
    if kind == "wgan-gp":
        return fake.mean() - real.mean()
    raise choose_one("GAN loss", kind, GAN_LOSSES)


def generator_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    """G's loss on D's logits of fakes (B,).

    nonsaturating: −log σ(D(G(z))) (maximise log D(G(z)), not minimise log(1 − D(G(z))));
    hinge and wgan-gp: −D(G(z)); lsgan: ½(D(G(z)) − 1)².
    """
    if kind == "nonsaturating":
        return F.softplus(-fake).mean()
    if kind in ("hinge", "wgan-gp"):
        return -fake.mean()
    if kind == "lsgan":
        return 0.5 * (fake - 1).pow(2).mean()
    raise choose_one("GAN loss", kind, GAN_LOSSES)


@torch.no_grad()
@contextlib.contextmanager
def frozen(*modules: nn.Module) -> Iterator[None]:
    """Within the block, ``modules`` compute no gradients for their own weights (gradients still
    flow through them to their inputs): a generator's update through a discriminator it must not
    train. Their weights learn again afterwards, even if the block raises.

    >>> d = nn.Linear(2, 1); x = torch.ones(1, 2, requires_grad=True)
    >>> with frozen(d):
    ...     d(x).sum().backward()
    >>> d.weight.grad is None, x.grad is not None, d.weight.requires_grad
    (True, True, True)
    """
    for m in modules:
        m.requires_grad_(False)
    try:
        yield
    finally:
        for m in modules:
            m.requires_grad_(True)


def update_ema(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """ema ← decay·ema + (1 − decay)·model for parameters; buffers (BatchNorm statistics) copied."""
    for e, p in zip(ema.parameters(), model.parameters()):
        e.lerp_(p, 1.0 - decay)
    for e, b in zip(ema.buffers(), model.buffers()):
        e.copy_(b)
