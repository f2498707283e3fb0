"""CycleGAN: unpaired image-to-image translation between two domains (Zhu et al. 2017, ICCV).

Two generators learn the two directions, G_AB: A → B and G_BA: B → A, and two discriminators,
D_A and D_B, tell real images of each domain from translated ones. Nothing pairs an image of A
with one of B; what ties a translation to its input is cycle consistency: G_BA(G_AB(a)) ≈ a and
G_AB(G_BA(b)) ≈ b. The objective (the paper's eq. 3 with §4's least-squares GAN loss and §5.2's
identity term), for generator weights λ = ``lambda_cycle`` and μ = ``lambda_identity``:

    min over G_AB, G_BA:   E_a[(D_B(G_AB(a)) − 1)²] + E_b[(D_A(G_BA(b)) − 1)²]           adversarial
                         + λ (E_a|G_BA(G_AB(a)) − a|₁ + E_b|G_AB(G_BA(b)) − b|₁)          cycle
                         + μλ (E_b|G_AB(b) − b|₁ + E_a|G_BA(a) − a|₁)                       identity
    min over D_B:   ½ E_b[(D_B(b) − 1)²] + ½ E[D_B(b̃)²],  b̃ drawn from a pool of past G_AB(a)
    (and D_A likewise)

The pieces, as in the paper's appendix 7.2 and its reference code:

* generator: Johnson et al. 2016's ResNet — c7s1-k, two stride-2 downsampling convs, n residual
  blocks, two fractionally strided upsampling convs, c7s1-3 and tanh; instance norm, reflection
  padding. Fully convolutional: trained on small crops, it translates pictures of any size;
* discriminator: the 70×70 PatchGAN (Isola et al. 2017), C64-C128-C256-C512 and a 1-channel conv:
  one least-squares score per overlapping 70×70 patch, so it judges texture and local style;
* image pool (Shrivastava et al. 2017): D sees a mix of this step's fakes and 50 older ones,
  which damps the two players' oscillation;
* Adam, lr 2e-4, β1 0.5, constant and then decaying linearly to zero.

The file reads top to bottom: parts, losses, the image pool, config and presets, the training task for :func:`atelier.training.fit`,
the trained :class:`CycleGANModel` and the family. The two-domain data (folders or built-in
synthetic pairs) are in :mod:`atelier.data.unpaired`; :func:`atelier.translate` translates image files.

Example:
    >>> import dataclasses, torch
    >>> config = dataclasses.replace(PRESETS["cyclegan-tiny"], image_size=16)
    >>> task = build_task(config)
    >>> model = CycleGANModel(config, task.G_AB, task.G_BA)
    >>> model.translate(torch.zeros(2, 3, 16, 16), direction="a2b").shape
    torch.Size([2, 3, 16, 16])
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from atelier.checkpoint import Checkpoint, open_checkpoint
from atelier.data import check_held_out, fingerprint
from atelier.data.unpaired import load_domains, unpaired
from atelier.family import DataOptions, EvalOptions, EvaluationReport, Family, TrainData, TrainedModel
from atelier.errors import AtelierError, choose_one
from atelier.nn import dcgan_init, discriminator_loss, frozen
from atelier.images.grid import make_grid, to_pil
from atelier.metrics.images import LITE0_NOTE, evaluate_rgb_images

KIND = "cyclegan"
DIRECTIONS = ("a2b", "b2a")
DEFAULT_DATA = "synthetic:squares-circles"
MAX_VAL_IMAGES = 64  # held-out images per domain kept for validation and previews
PREVIEW_IMAGES = 4  # rows of the preview grid per direction
MAX_SIZE = 1024  # the largest training image_size and translate(size=…), pixels


# ---------------------------------------------------------------------------------------------
# Parts


def conv_norm_relu(c_in: int, c_out: int, kernel: int, *, stride: int = 1, reflect: int = 0,
                   transpose: bool = False) -> list[nn.Module]:
    """A conv, instance norm and ReLU: the paper's c7s1-k (``reflect=3``), dk (stride 2) and, with
    ``transpose``, uk (a stride-½ conv that doubles the side). No conv bias: instance norm removes
    each channel's mean, bias and all."""
    if transpose:
        conv: nn.Module = nn.ConvTranspose2d(c_in, c_out, kernel, stride, padding=1, output_padding=1, bias=False)
    else:
        conv = nn.Conv2d(c_in, c_out, kernel, stride, padding=0 if reflect else 1, bias=False)
    pad = [nn.ReflectionPad2d(reflect)] if reflect else []
    return [*pad, conv, nn.InstanceNorm2d(c_out), nn.ReLU(inplace=True)]


class ResidualBlock(nn.Module):
    """Rk: x + (reflect-pad, 3×3 conv, IN, ReLU, reflect-pad, 3×3 conv, IN)(x); (B, k, H, W) → same."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=False), nn.InstanceNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=False), nn.InstanceNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """Images (B, C, H, W) in [-1, 1] → translated images (B, C, H, W) in [-1, 1]; H, W multiples of 4.

    c7s1-k, d2k, d4k, R4k × n_blocks, u2k, uk, c7s1-C, tanh with k = ``ngf``; with k = 64 and 9
    blocks this is the paper's 256 px generator (appendix 7.2).

    >>> ResnetGenerator(channels=3, ngf=8, n_blocks=2)(torch.zeros(1, 3, 20, 12)).shape
    torch.Size([1, 3, 20, 12])
    """

    def __init__(self, *, channels: int, ngf: int, n_blocks: int) -> None:
        super().__init__()
        k = ngf
        self.net = nn.Sequential(
            *conv_norm_relu(channels, k, 7, reflect=3),  # (B, k, H, W)
            *conv_norm_relu(k, 2 * k, 3, stride=2),  # (B, 2k, H/2, W/2)
            *conv_norm_relu(2 * k, 4 * k, 3, stride=2),  # (B, 4k, H/4, W/4)
            *(ResidualBlock(4 * k) for _ in range(n_blocks)),  # (B, 4k, H/4, W/4)
            *conv_norm_relu(4 * k, 2 * k, 3, stride=2, transpose=True),  # (B, 2k, H/2, W/2)
            *conv_norm_relu(2 * k, k, 3, stride=2, transpose=True),  # (B, k, H, W)
            nn.ReflectionPad2d(3), nn.Conv2d(k, channels, 7),  # (B, C, H, W)
            nn.Tanh(),
        )
        self.apply(dcgan_init)  # N(0, 0.02), as the reference code

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class PatchDiscriminator(nn.Module):
    """Images (B, C, H, W) → least-squares scores (B, 1, h, w), one per overlapping patch.

    ``d_layers`` stride-2 4×4 convs (C64, C128, C256 for ndf = 64 and 3 layers), one stride-1 conv
    (C512) and a stride-1 conv to 1 channel; LeakyReLU(0.2); instance norm on all but the first.
    Each score sees a patch of :func:`receptive_field` pixels: 70 for 3 layers (h = H/8 − 2: 30 at
    256 px), 34 for 2, 16 for 1. Channels double per layer up to 8·ndf.

    >>> PatchDiscriminator(channels=3, ndf=8, d_layers=3)(torch.zeros(1, 3, 64, 64)).shape
    torch.Size([1, 1, 6, 6])
    """

    def __init__(self, *, channels: int, ndf: int, d_layers: int) -> None:
        super().__init__()
        widths = [channels] + [ndf * min(2 ** i, 8) for i in range(d_layers + 1)]  # 3 layers: C, 64, 128, 256, 512
        layers: list[nn.Module] = []
        for i in range(d_layers + 1):
            stride = 2 if i < d_layers else 1  # the last feature layer keeps the side (C512 in the paper)
            layers.append(nn.Conv2d(widths[i], widths[i + 1], 4, stride, padding=1, bias=i == 0))
            if i > 0:
                layers.append(nn.InstanceNorm2d(widths[i + 1]))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
        layers.append(nn.Conv2d(widths[-1], 1, 4, 1, padding=1))  # one score per patch
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def receptive_field(d_layers: int) -> int:
    """Side in pixels of the input patch one PatchGAN score sees.

    Walking back from one output pixel through 4×4 convs: r ← (r − 1)·stride + 4, over the final
    conv and C512 (stride 1) and then the ``d_layers`` stride-2 ones.

    >>> [receptive_field(n) for n in (1, 2, 3)]
    [16, 34, 70]
    """
    r = 1
    for stride in [1, 1] + [2] * d_layers:
        r = (r - 1) * stride + 4
    return r


def patch_grid(image_size: int, d_layers: int) -> int:
    """Side of the PatchGAN's score map for square inputs of ``image_size`` (0 when too small).

    >>> patch_grid(256, 3), patch_grid(64, 3), patch_grid(16, 2)
    (30, 6, 2)
    """
    side = image_size
    for _ in range(d_layers):
        side = (side - 2) // 2 + 1  # 4×4, stride 2, padding 1
    return max(0, side - 2)  # two 4×4 stride-1 convs with padding 1 each take one pixel


# ---------------------------------------------------------------------------------------------
# Losses (Zhu et al. 2017, eqs. 1–3 and §5.2, with the least-squares GAN loss of Mao et al. 2017)


def generator_adversarial_loss(scores: torch.Tensor) -> torch.Tensor:
    """E[(D(G(x)) − 1)²] over every patch score: G wants each patch called real (the paper's §4)."""
    return (scores - 1).pow(2).mean()


def patch_discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """½E[(D(y) − 1)²] + ½E[D(G(x))²] over every patch; the ½ slows D relative to G (the paper's §7.1)."""
    return discriminator_loss("lsgan", real_scores, fake_scores)


def cycle_loss(reconstructed: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """Mean |F(G(x)) − x|₁ per pixel and channel: the translation must keep what is needed to go back."""
    return F.l1_loss(reconstructed, original)


# ---------------------------------------------------------------------------------------------
# The image pool


class ImagePool(nn.Module):
    """The last ``size`` generated images, shown to D in place of half the new ones once full.

    After Shrivastava et al. 2017, as the CycleGAN code does it: while the pool fills, each new fake
    goes in and out unchanged; after that, with probability ½ a new fake is swapped for a random
    stored one (which D then sees) and otherwise passed through. The pool is a pair of buffers,
    so it is saved in every checkpoint and a resumed run continues with the same pool.

    >>> pool = ImagePool(2, channels=1, image_size=4)
    >>> x = torch.ones(3, 1, 4, 4)
    >>> out = pool.query(x, u=torch.tensor([0.9, 0.9, 0.1]), slots=torch.tensor([0, 0, 1]))
    >>> int(pool.count), bool(torch.equal(out, x))  # two filled the pool, the third swapped with slot 1
    (2, True)
    """

    def __init__(self, size: int, *, channels: int, image_size: int) -> None:
        super().__init__()
        self.size = size
        self.register_buffer("images", torch.zeros(size, channels, image_size, image_size))  # (P, C, S, S)
        self.register_buffer("count", torch.zeros((), dtype=torch.long))  # how many slots are filled

    @torch.no_grad()
    def query(self, fakes: torch.Tensor, *, u: torch.Tensor, slots: torch.Tensor) -> torch.Tensor:
        """Fakes (B, C, S, S) → the images D should see (B, C, S, S); ``u`` (B,) uniform draws and
        ``slots`` (B,) draws from 0..size−1 are this step's random choices."""
        if self.size == 0:
            return fakes.detach()
        out = []
        for x, ui, slot in zip(fakes.detach(), u.tolist(), slots.tolist()):
            n = int(self.count)
            if n < self.size:  # still filling
                self.images[n] = x
                self.count += 1
                out.append(x)
            elif ui < 0.5:  # show an old fake, keep the new one
                out.append(self.images[slot].clone())
                self.images[slot] = x
            else:
                out.append(x)
        return torch.stack(out)


# ---------------------------------------------------------------------------------------------
# Config


@dataclass(frozen=True)
class CycleGANConfig:
    """Everything that defines a CycleGAN's networks and its training objective."""

    image_size: int = 64  # side of the training images, pixels; a multiple of 4 (G halves it twice)
    channels: int = 3  # 1 = grey, 3 = RGB
    ngf: int = 32  # generator channels at full resolution (c7s1-ngf); 4·ngf in the residual blocks
    n_blocks: int = 6  # residual blocks; the paper: 6 at 128 px, 9 at 256 px
    ndf: int = 64  # discriminator channels in its first layer (the paper's C64)
    d_layers: int = 3  # stride-2 layers of D: 3 = 70×70 patches, 2 = 34×34, 1 = 16×16
    lambda_cycle: float = 10.0  # λ of the cycle loss (the paper's §7.1)
    lambda_identity: float = 0.5  # identity loss weight as a fraction of λ (0.5λ, the paper's §5.2)
    pool_size: int = 50  # past fakes D sees (Shrivastava et al. 2017); 0 = no pool
    lr: float = 2e-4  # Adam, both generators and both discriminators
    betas: tuple[float, float] = (0.5, 0.999)
    lr_constant_steps: int = 5000  # steps at ``lr`` …
    lr_decay_steps: int = 5000  # … then steps of linear decay to 0 (paper: 100 + 100 epochs)
    flip: bool = True  # random horizontal flips of the training images

    def __post_init__(self) -> None:
        if self.channels not in (1, 3):
            raise AtelierError(f"channels={self.channels}; choose 1 (grey) or 3 (RGB)")
        if self.image_size % 4 or not 8 <= self.image_size <= MAX_SIZE:
            raise AtelierError(f"image_size={self.image_size}; must be a multiple of 4 from 8 to {MAX_SIZE} "
                               "(the generator halves it twice)")
        for name in ("ngf", "ndf", "d_layers"):
            if getattr(self, name) < 1:
                raise AtelierError(f"{name}={getattr(self, name)}; must be a positive integer")
        if self.n_blocks < 0:
            raise AtelierError(f"n_blocks={self.n_blocks}; must be 0 or more")
        if patch_grid(self.image_size, self.d_layers) < 1:
            smallest = next(s for s in range(8, 10_000, 4) if patch_grid(s, self.d_layers) >= 1)
            raise AtelierError(f"image_size={self.image_size} is too small for a discriminator with d_layers="
                               f"{self.d_layers}; use image_size >= {smallest} or fewer d_layers")
        for name in ("lambda_cycle", "lambda_identity"):
            if getattr(self, name) < 0:
                raise AtelierError(f"{name}={getattr(self, name)}; must be 0 or more")
        if self.pool_size < 0:
            raise AtelierError(f"pool_size={self.pool_size}; must be 0 (no pool) or more")
        if self.lr <= 0:
            raise AtelierError(f"lr={self.lr}; the learning rate must be positive")
        if len(self.betas) != 2 or not all(0.0 <= b < 1.0 for b in self.betas):
            raise AtelierError(f"betas={self.betas}; need two Adam betas in [0, 1)")
        if self.lr_constant_steps < 0 or self.lr_decay_steps < 0:
            raise AtelierError(f"lr_constant_steps={self.lr_constant_steps}, lr_decay_steps={self.lr_decay_steps}; "
                               "must be 0 or more (lr_decay_steps=0: no decay)")


PRESETS: dict[str, CycleGANConfig] = {
    # For tests and a first run (`atelier train cyclegan-tiny`): 32 px, 34×34 patches; its
    # schedule fits the default --num-steps 2000.
    "cyclegan-tiny": CycleGANConfig(image_size=32, ngf=8, n_blocks=2, ndf=8, d_layers=2,
                                    lr_constant_steps=1000, lr_decay_steps=1000),
    # Small pictures on a CPU: the paper's 6-block generator at half width, a half-width 70×70 PatchGAN
    # (6×6 scores at 64 px); train with --num-steps 10000.
    "cyclegan-64": CycleGANConfig(image_size=64, ngf=32, n_blocks=6, ndf=32, d_layers=3,
                                  lr_constant_steps=5000, lr_decay_steps=5000),
    # The paper's 128×128 networks: 6 blocks, ngf = ndf = 64.
    "cyclegan-128": CycleGANConfig(image_size=128, ngf=64, n_blocks=6, ndf=64, d_layers=3,
                                   lr_constant_steps=50_000, lr_decay_steps=50_000),
    # The paper's 256×256 networks: 9 blocks, ngf = ndf = 64; about 100 + 100 epochs of ~1,000
    # images at batch size 1. A GPU job.
    "cyclegan-256": CycleGANConfig(image_size=256, ngf=64, n_blocks=9, ndf=64, d_layers=3,
                                   lr_constant_steps=100_000, lr_decay_steps=100_000),
}


def lr_factor(step: int, *, constant_steps: int, decay_steps: int) -> float:
    """The learning rate's multiplier at ``step``: 1 for ``constant_steps``, then linearly to 0.

    >>> [lr_factor(s, constant_steps=2, decay_steps=4) for s in range(0, 8, 2)]
    [1.0, 1.0, 0.5, 0.0]
    """
    if decay_steps == 0:
        return 1.0
    return max(0.0, 1.0 - max(0, step - constant_steps) / decay_steps)


# ---------------------------------------------------------------------------------------------
# Training


class CycleGANTask:
    """A CycleGAN for :func:`atelier.training.fit`: modules G_AB, G_BA, D_A, D_B and the two image
    pools; one Adam for both generators ("G") and one for both discriminators ("D"), as the paper's
    code; a LambdaLR schedule on each."""

    kind = KIND

    def __init__(self, config: CycleGANConfig, *, val_a: torch.Tensor | None = None,
                 val_b: torch.Tensor | None = None) -> None:
        self.config = c = config
        self.G_AB = ResnetGenerator(channels=c.channels, ngf=c.ngf, n_blocks=c.n_blocks)  # A → B
        self.G_BA = ResnetGenerator(channels=c.channels, ngf=c.ngf, n_blocks=c.n_blocks)  # B → A
        self.D_A = PatchDiscriminator(channels=c.channels, ndf=c.ndf, d_layers=c.d_layers)  # real A vs G_BA(b)
        self.D_B = PatchDiscriminator(channels=c.channels, ndf=c.ndf, d_layers=c.d_layers)  # real B vs G_AB(a)
        self.pool_A = ImagePool(c.pool_size, channels=c.channels, image_size=c.image_size)  # past G_BA(b)
        self.pool_B = ImagePool(c.pool_size, channels=c.channels, image_size=c.image_size)  # past G_AB(a)
        self.modules: dict[str, nn.Module] = {"G_AB": self.G_AB, "G_BA": self.G_BA, "D_A": self.D_A,
                                              "D_B": self.D_B, "pool_A": self.pool_A, "pool_B": self.pool_B}
        generators = [*self.G_AB.parameters(), *self.G_BA.parameters()]
        discriminators = [*self.D_A.parameters(), *self.D_B.parameters()]
        self.optimizers = {"G": torch.optim.Adam(generators, lr=c.lr, betas=c.betas),
                           "D": torch.optim.Adam(discriminators, lr=c.lr, betas=c.betas)}
        schedule = functools.partial(lr_factor, constant_steps=c.lr_constant_steps, decay_steps=c.lr_decay_steps)
        self.schedulers = {k: torch.optim.lr_scheduler.LambdaLR(opt, schedule) for k, opt in self.optimizers.items()}
        self.val_a = None if val_a is None else self._check(val_a, "val_a")
        self.val_b = None if val_b is None else self._check(val_b, "val_b")

    def _check(self, images: Any, what: str) -> torch.Tensor:
        c = self.config
        shape = (c.channels, c.image_size, c.image_size)
        if not torch.is_tensor(images) or images.ndim != 4 or tuple(images.shape[1:]) != shape \
                or not images.is_floating_point():
            got = tuple(images.shape) if torch.is_tensor(images) else type(images).__name__
            raise AtelierError(f"{what}: images {got}; this CycleGAN takes float (N, {', '.join(map(str, shape))}) "
                               "in [-1, 1]")
        return images

    def train_step(self, batch: Any, ctx: Any) -> dict[str, float]:
        """One step on a batch ``(real_a, real_b)`` of unpaired images, (B, C, S, S) each.

        (1) Update G_AB and G_BA together: minimise the adversarial, cycle and identity terms of
            the module docstring's objective, with D_A and D_B frozen.
        (2) Update D_A and D_B: minimise ½(D(real) − 1)² + ½D(fake)², each on fakes from its pool.
        All randomness (flips, the pools' choices) comes from ``ctx``, so a resumed run is exact.
        """
        c = self.config
        if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
            raise AtelierError(f"a CycleGAN batch is a pair (images of A, images of B), got {type(batch).__name__}")
        real_a, real_b = (self._check(x, name) for x, name in zip(batch, ("real_a", "real_b")))
        if c.flip:
            real_a = torch.where(ctx.rand(1, 1, 1) < 0.5, real_a.flip(-1), real_a)
            real_b = torch.where(ctx.rand(1, 1, 1) < 0.5, real_b.flip(-1), real_b)

        # (1) Update the generators, the discriminators frozen
        with frozen(self.D_A, self.D_B):
            fake_b = self.G_AB(real_a)  # (B, C, S, S)
            fake_a = self.G_BA(real_b)
            loss_adv = generator_adversarial_loss(self.D_B(fake_b)) + generator_adversarial_loss(self.D_A(fake_a))
            cycle_a = cycle_loss(self.G_BA(fake_b), real_a)  # a → b → a
            cycle_b = cycle_loss(self.G_AB(fake_a), real_b)  # b → a → b
            loss_g = loss_adv + c.lambda_cycle * (cycle_a + cycle_b)
            out = {"g_adv": loss_adv.item(), "cycle": (cycle_a + cycle_b).item() / 2}
            if c.lambda_identity > 0:
                # G_AB should leave an image that already is in B alone (keeps colours; the paper's §5.2).
                identity = F.l1_loss(self.G_AB(real_b), real_b) + F.l1_loss(self.G_BA(real_a), real_a)
                loss_g = loss_g + c.lambda_identity * c.lambda_cycle * identity
                out["identity"] = identity.item() / 2
            ctx.optimize("G", loss_g)

        # (2) Update the discriminators
        shown_a = self.pool_A.query(fake_a, u=ctx.rand(), slots=ctx.randint(max(c.pool_size, 1)))
        shown_b = self.pool_B.query(fake_b, u=ctx.rand(), slots=ctx.randint(max(c.pool_size, 1)))
        loss_d_a = patch_discriminator_loss(self.D_A(real_a), self.D_A(shown_a))
        loss_d_b = patch_discriminator_loss(self.D_B(real_b), self.D_B(shown_b))
        ctx.optimize("D", loss_d_a + loss_d_b)
        out.update(d_a=loss_d_a.item(), d_b=loss_d_b.item())
        return out

    def _device(self) -> torch.device:
        return next(self.G_AB.parameters()).device

    @torch.no_grad()
    def preview(self, ctx: Any) -> Image.Image | None:
        """Held-out images, one per row: a, G_AB(a), G_BA(G_AB(a)) | b, G_BA(b), G_AB(G_BA(b))."""
        if self.val_a is None or self.val_b is None:
            return None
        n = min(PREVIEW_IMAGES, len(self.val_a), len(self.val_b))
        a, b = self.val_a[:n].to(self._device()), self.val_b[:n].to(self._device())
        fake_b, fake_a = self.G_AB(a), self.G_BA(b)
        columns = [a, fake_b, self.G_BA(fake_b), b, fake_a, self.G_AB(fake_a)]  # 6 × (n, C, S, S)
        return to_pil(make_grid(torch.stack(columns, dim=1).flatten(0, 1), nrow=6))

    @torch.no_grad()
    def validate(self, ctx: Any) -> dict[str, float]:
        """On the held-out images: cycle L1 each way, identity L1, and the discriminators' mean score
        of the translations (near 1 when D takes them for real, near 0 when it catches them)."""
        if self.val_a is None or self.val_b is None:
            return {}
        cycle_a, identity_a, d_b_fake = self._held_out(self.val_a, self.G_AB, self.G_BA, self.D_B)
        cycle_b, identity_b, d_a_fake = self._held_out(self.val_b, self.G_BA, self.G_AB, self.D_A)
        return {"val_cycle_a": cycle_a, "val_cycle_b": cycle_b, "val_identity": (identity_a + identity_b) / 2,
                "val_d_b_fake": d_b_fake, "val_d_a_fake": d_a_fake}

    def _held_out(self, images: torch.Tensor, forward: nn.Module, back: nn.Module,
                  judge: nn.Module) -> tuple[float, float, float]:
        """Means over ``images`` of |back(forward(x)) − x|₁, |back(x) − x|₁ (x is already in back's
        domain) and judge(forward(x))."""
        totals = np.zeros(3)
        for start in range(0, len(images), 16):
            x = images[start:start + 16].to(self._device())  # (b, C, S, S)
            fake = forward(x)
            totals += [(back(fake) - x).abs().mean(dim=(1, 2, 3)).sum().item(),
                       (back(x) - x).abs().mean(dim=(1, 2, 3)).sum().item(),
                       judge(fake).mean(dim=(1, 2, 3)).sum().item()]
        cycle, identity, score = (totals / len(images)).tolist()
        return cycle, identity, score


def build_task(config: CycleGANConfig, *, val_a: torch.Tensor | None = None, val_b: torch.Tensor | None = None,
               seed: int = 0) -> CycleGANTask:
    """The training task for ``config``, its weights initialised from ``seed``.

    >>> task = build_task(PRESETS["cyclegan-tiny"])
    >>> sorted(task.modules), sorted(task.optimizers)
    (['D_A', 'D_B', 'G_AB', 'G_BA', 'pool_A', 'pool_B'], ['D', 'G'])
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return CycleGANTask(config, val_a=val_a, val_b=val_b)


# ---------------------------------------------------------------------------------------------
# The trained model


class CycleGANModel(TrainedModel, nn.Module):
    """Both trained generators: ``CycleGANModel.from_checkpoint(path).translate(images, direction="b2a")``."""


    kind = KIND
    outputs = "pictures"

    def __init__(self, config: CycleGANConfig, G_AB: ResnetGenerator, G_BA: ResnetGenerator) -> None:
        super().__init__()
        self.config = config
        self.G_AB, self.G_BA = G_AB, G_BA
        self.eval()

    @classmethod
    def from_checkpoint(cls, ckpt: Checkpoint | str | os.PathLike) -> CycleGANModel:
        """Rebuild the two generators a checkpoint was trained with (the discriminators stay behind).

        >>> import dataclasses, tempfile
        >>> from atelier.checkpoint import save_checkpoint
        >>> config = PRESETS["cyclegan-tiny"]
        >>> path = save_checkpoint(os.path.join(tempfile.mkdtemp(), "cg.safetensors"), kind=KIND,
        ...                        config=dataclasses.asdict(config), modules=build_task(config).modules)
        >>> CycleGANModel.from_checkpoint(path).config == config
        True
        """
        ckpt, config = open_checkpoint(ckpt, kind=KIND, config_type=CycleGANConfig)
        c = config
        generators = [ResnetGenerator(channels=c.channels, ngf=c.ngf, n_blocks=c.n_blocks) for _ in range(2)]
        for name, G in zip(("G_AB", "G_BA"), generators):
            G.load_state_dict(ckpt.module_state(name))
        return cls(config, *generators)

    @property
    def device(self) -> torch.device:
        return next(self.G_AB.parameters()).device

    @torch.no_grad()
    def translate(self, images: torch.Tensor, *, direction: str = "a2b") -> torch.Tensor:
        """Images (N, C, H, W) in [-1, 1], H and W multiples of 4 → their translations, same shape.

        ``direction`` "a2b" applies G_AB, "b2a" G_BA. The generator is fully convolutional, so the
        pictures need not be the size it was trained on.

        >>> config = PRESETS["cyclegan-tiny"]
        >>> task = build_task(config)
        >>> CycleGANModel(config, task.G_AB, task.G_BA).translate(torch.zeros(1, 3, 64, 96), direction="b2a").shape
        torch.Size([1, 3, 64, 96])
        """
        # 1. check inputs
        if direction not in DIRECTIONS:
            raise choose_one("direction", direction, DIRECTIONS)
        c = self.config.channels
        if not torch.is_tensor(images) or images.ndim != 4 or images.shape[1] != c or images.shape[0] == 0:
            got = tuple(images.shape) if torch.is_tensor(images) else type(images).__name__
            raise AtelierError(f"images {got}; this CycleGAN takes a non-empty float (N, {c}, H, W) in [-1, 1]")
        h, w = images.shape[-2:]
        if h % 4 or w % 4 or min(h, w) < 8:
            raise AtelierError(f"images of {h}×{w} px; height and width must be multiples of 4, at least 8")
        if not images.is_floating_point() or float(images.min()) < -1.001 or float(images.max()) > 1.001:
            raise AtelierError("images must be floats in [-1, 1] (x / 127.5 - 1 for bytes)")
        # 2. translate
        G = self.G_AB if direction == "a2b" else self.G_BA
        return G(images.to(self.device))


# ---------------------------------------------------------------------------------------------
# The family


@dataclass(frozen=True)
class CycleGANData(TrainData):
    """Training images of both domains paired at random, and up to 64 held-out images of each."""

    val_a: torch.Tensor | None = None  # (N, C, S, S) in [-1, 1]
    val_b: torch.Tensor | None = None


class CycleGANFamily(Family):
    kind = KIND
    description = "CycleGAN: unpaired image-to-image translation between two folders"
    config_type = CycleGANConfig
    model_type = CycleGANModel
    presets = PRESETS
    preset_notes = {
        "cyclegan-tiny": "32 px, 2-block generator: tests and a first run in minutes on a CPU",
        "cyclegan-64": "64 px, the paper's 6-block generator at half width: small pictures on a CPU",
        "cyclegan-128": "128 px, the paper's 6-block networks at full width",
        "cyclegan-256": "256 px, the paper's 9-block networks: a GPU job",
    }
    default_data = DEFAULT_DATA

    def prepare_data(self, config: CycleGANConfig, data: Any, options: DataOptions) -> CycleGANData:
        """Both domains split into training and held-out images, the training images paired at random
        (``options.val_fraction=0``: every image trains, and ``val_a``/``val_b`` are None).

        >>> data = FAMILY.prepare_data(PRESETS["cyclegan-tiny"], "synthetic:red-blue", DataOptions(limit=50))
        >>> len(data.train), tuple(data.val_a.shape), len(data.fingerprint)
        (45, (5, 3, 32, 32), 64)
        """
        a, b = load_domains(data, size=config.image_size, channels=config.channels, limit=options.limit,
                            max_pixels=options.max_pixels)
        a_train, a_val = a.split(val_fraction=options.val_fraction, seed=options.split_seed)
        b_train, b_val = b.split(val_fraction=options.val_fraction, seed=options.split_seed)
        first = torch.arange(MAX_VAL_IMAGES)
        val_a, val_b = (d.subset(first[:len(d)]).all()[0] if len(d) else None for d in (a_val, b_val))
        return CycleGANData(train=unpaired(a_train, b_train, seed=options.split_seed),
                            fingerprint=fingerprint(a.images, b.images), val_a=val_a, val_b=val_b)

    def build_task(self, config: CycleGANConfig, data: CycleGANData, *, seed: int) -> CycleGANTask:
        return build_task(config, val_a=data.val_a, val_b=data.val_b, seed=seed)

    def evaluate(self, model: CycleGANModel, *, name: str, options: EvalOptions) -> EvaluationReport:
        """Each direction's translations of held-out images against the real held-out images of the
        other domain: FD/KID/IS/precision/recall in EfficientNet-Lite0's feature space, prefixed
        ``a2b_`` and ``b2a_``. The held-out images are those :meth:`prepare_data` sets aside with the
        same split, at most ``num_samples`` a domain. Translation is deterministic: no seed is used."""
        data = options.data or DEFAULT_DATA
        check_held_out(options.val_fraction)
        held_out = [d.split(val_fraction=options.val_fraction, seed=options.split_seed)[1]
                    for d in load_domains(data, size=model.config.image_size, channels=model.config.channels)]
        a, b = (d.subset(torch.arange(min(options.num_samples, len(d)))).all()[0] for d in held_out)  # (N, C, S, S)
        metrics: dict[str, float] = {}
        for direction, source, target in (("a2b", a, b), ("b2a", b, a)):
            fake = torch.cat([model.translate(x, direction=direction).cpu() for x in source.split(64)])
            metrics.update({f"{direction}_{k}": v for k, v in evaluate_rgb_images(fake, target).to_dict().items()})
        notes = [f"a2b: G_AB of {len(a)} held-out A images against {len(b)} held-out B images; b2a the reverse",
                 LITE0_NOTE]
        return EvaluationReport(model=name, kind=KIND, data=f"{data} (held-out {len(a)} A, {len(b)} B)",
                                num_samples=len(a) + len(b), metrics=metrics, notes=notes)


FAMILY = CycleGANFamily()
