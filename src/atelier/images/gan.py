"""Generative adversarial networks: the MLP GAN, DCGAN and their class-conditional versions.

A generator G maps noise z ~ N(0, I) (and, when conditional, a class label) to an image in [-1, 1];
a discriminator D scores images as real or fake. They are trained against each other (Goodfellow et
al. 2014) with one of four losses: non-saturating, hinge, least squares or Wasserstein with gradient
penalty. Two architectures:

* ``mlp``: the fully connected GAN of the article — z → 128 → 128 → 784 with LeakyReLU(0.2) and
  tanh, and a mirrored D — with the usual tutorial bugs fixed (listed above :class:`Generator`);
* ``dcgan``: Radford et al. 2015 for 28, 32 and 64 px images, grey or RGB.

Either becomes class-conditional with ``num_classes > 0``: G reads a one-hot label concatenated
with z (Mirza & Osindero 2014) and D is a projection discriminator (Miyato & Koyama 2018).

The file reads top to bottom (shared parts and the adversarial losses are in :mod:`atelier.nn`): the networks, the gradient penalty, config and presets, the
training task for :func:`atelier.training.fit`, and :class:`GANModel`, the trained model you sample.

Example:
    >>> import dataclasses, torch
    >>> config = dataclasses.replace(PRESETS["dcgan"], width=8, z_dim=16)
    >>> task = build_task(config)
    >>> model = GANModel(config, task.G)
    >>> model.sample(4, seed=1).shape
    torch.Size([4, 1, 28, 28])
"""

from __future__ import annotations

import copy
import functools
import os
from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image
from torch import nn

from atelier.checkpoint import Checkpoint, open_checkpoint
from atelier.errors import AtelierError, choose_one
from atelier.family import TrainedModel
from atelier.images.grid import make_grid, to_pil
from atelier.images.image_family import ImageData, ImageFamily
from atelier.nn import (
    DCGAN_START,
    GAN_LOSSES,
    DownConv,
    UpConv,
    check_batch,
    concat_one_hot,
    dcgan_init,
    discriminator_loss,
    frozen,
    generator_loss,
    mlp,
    resolve_labels,
    seeded_normal,
    slerp,
    translate,
    update_ema,
)

KIND = "gan"
ARCHS = ("mlp", "dcgan")
LOSSES = GAN_LOSSES
PREVIEW_SEED = 0  # previews use the same noise at every step, so they show training progress
PREVIEW_COLUMNS = 8


# ---------------------------------------------------------------------------------------------
# The networks
#
# The MLP GAN of the article, its bugs fixed. Tutorial versions of this network commonly
#   1. end D with a sigmoid and train it with BCELoss: log σ(·) underflows once D is confident and
#      the losses blow up → D outputs logits and the losses use softplus, the same binary
#      cross-entropy computed stably (BCE-with-logits);
#   2. train G to minimise log(1 − D(G(z))), whose gradient vanishes while D easily rejects the
#      fakes, i.e. at the start → G maximises log D(G(z)) instead, the non-saturating loss
#      (Goodfellow et al. 2014, §3);
#   3. feed D's update the fakes without .detach(), so D's loss back-propagates through G too →
#      D's update sees G(z).detach();
#   4. end G with a sigmoid (or nothing) while the data are scaled to [-1, 1] → G ends with tanh;
#   5. draw z from U(0, 1) with the global RNG and sample in training mode → z ~ N(0, I) from the
#      step's own generator (so resumed runs are exact), and sampling in eval mode.


class Generator(nn.Module):
    """z (B, z_dim) [+ labels (B,)] → images (B, C, H, W) in [-1, 1].

    mlp: [z, onehot(y)] → hidden… → C·H·W with LeakyReLU(0.2); dcgan: :class:`UpConv` with
    BatchNorm and ReLU. Both end in tanh. A conditional G reads the one-hot label beside z; the
    first layer's weights on those inputs act as a learned class embedding (Mirza & Osindero 2014).
    """

    def __init__(self, config: GANConfig) -> None:
        super().__init__()
        self.config = config
        c, s, k = config.channels, config.image_size, config.num_classes
        in_dim = config.z_dim + k
        if config.arch == "mlp":
            self.body = nn.Sequential(
                mlp([in_dim, *config.mlp_hidden, c * s * s], functools.partial(nn.LeakyReLU, 0.2)),
                nn.Unflatten(1, (c, s, s)),
            )
        else:
            self.body = UpConv(in_dim, c, s, config.width, norm="batch")
            self.apply(dcgan_init)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = concat_one_hot(z, labels, self.config.num_classes)  # (B, z_dim + K)
        return torch.tanh(self.body(h))  # (B, C, H, W)


class Discriminator(nn.Module):
    """images (B, C, H, W) [+ labels (B,)] → logits (B,): high for real, low for fake.

    mlp: C·H·W → hidden… (G's widths reversed) with LeakyReLU(0.2); dcgan: :class:`DownConv`.
    Both give features φ(x) (B, F) and a linear score ψ(φ). A conditional D adds the projection
    term ⟨e_y, φ(x)⟩ with a learned class embedding e (Miyato & Koyama 2018), which lets D judge
    "is this a good y?" rather than reading the label as just another input.
    Normalisation: BatchNorm, except layer norm for WGAN-GP, whose gradient penalty is taken per
    sample and so must not depend on the rest of the batch (Gulrajani et al. 2017, §4).
    """

    def __init__(self, config: GANConfig) -> None:
        super().__init__()
        self.config = config
        c, s, k = config.channels, config.image_size, config.num_classes
        if config.arch == "mlp":
            hidden = tuple(reversed(config.mlp_hidden))
            self.body = nn.Sequential(
                nn.Flatten(),
                mlp([c * s * s, *hidden], functools.partial(nn.LeakyReLU, 0.2), last_activation=True,
                    dropout=config.dropout),
            )
            features = hidden[-1]
        else:
            norm = "none" if config.spectral_norm else "layer" if config.loss == "wgan-gp" else "batch"
            self.body = DownConv(c, s, config.width, norm=norm)
            features = self.body.out_features
        self.score = nn.Linear(features, 1)
        if config.arch == "dcgan":
            self.apply(dcgan_init)
        self.embed = nn.Embedding(k, features) if k else None
        if self.embed is not None:
            nn.init.normal_(self.embed.weight, 0.0, 0.02)  # small: the class term starts near zero
        if config.spectral_norm:  # every weight of D divided by its largest singular value
            for module in list(self.modules()):
                if isinstance(module, (nn.Conv2d, nn.Linear, nn.Embedding)):
                    nn.utils.parametrizations.spectral_norm(module)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        phi = self.body(x)  # (B, F)
        logits = self.score(phi).squeeze(1)  # (B,)
        if self.embed is not None:
            logits = logits + (self.embed(labels) * phi).sum(dim=1)  # + ⟨e_y, φ(x)⟩
        return logits.float()  # the losses are computed in float32, also under bf16 autocast


# ---------------------------------------------------------------------------------------------
# Losses. D's outputs are logits (unbounded scores); each function returns a batch mean.


def gradient_penalty(D: Discriminator, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor | None,
                     eps: torch.Tensor) -> torch.Tensor:
    """E[(‖∇D(x̂)‖₂ − 1)²] at x̂ = ε·x + (1 − ε)·G(z), ε ~ U[0, 1] per sample (Gulrajani et al. 2017,
    eq. 3).

    real, fake (B, C, H, W) with fake detached; eps (B, 1, 1, 1). The graph is kept so the
    penalty can be back-propagated into D.
    """
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)  # (B, C, H, W)
    (grad,) = torch.autograd.grad(D(x_hat, labels).sum(), x_hat, create_graph=True)  # (B, C, H, W)
    return (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()


def r1_penalty(D: Discriminator, real: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """E[‖∇ₓD(x)‖²] over real images x (Mescheder et al. 2018, eq. 9): penalising D's slope on the
    data keeps it from pushing G's gradients to extremes. The graph is kept for D's update."""
    x = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x, labels).sum(), x, create_graph=True)  # (B, C, H, W)
    return grad.flatten(1).pow(2).sum(dim=1).mean()


# ---------------------------------------------------------------------------------------------
# Config


@dataclass(frozen=True)
class GANConfig:
    """Everything that defines a GAN's networks and its training objective."""

    arch: str = "dcgan"  # mlp | dcgan
    image_size: int = 28  # pixels per side; dcgan: 28, 32 or 64
    channels: int = 1  # 1 = grey, 3 = RGB
    z_dim: int = 100  # noise dimensions (Radford et al. 2015 use 100)
    mlp_hidden: tuple[int, ...] = (128, 128)  # mlp: G's hidden widths; D uses them reversed
    dropout: float = 0.0  # mlp: dropout after each of D's hidden layers (0 = off)
    width: int = 64  # dcgan: channels at the highest resolution (ngf = ndf), doubled per halving
    num_classes: int = 0  # 0 = unconditional; K ≥ 2 = class-conditional
    loss: str = "nonsaturating"  # nonsaturating | hinge | lsgan | wgan-gp
    n_critic: int = 1  # D updates per G update (WGAN-GP uses 5)
    gp_weight: float = 10.0  # wgan-gp: λ of the gradient penalty
    lr_g: float = 2e-4  # Adam, as in Radford et al. 2015
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)  # Adam (β1, β2); β1 = 0.5 steadies GAN training
    ema_decay: float = 0.0  # 0 = off; else keep G_ema, an exponential moving average of G
    spectral_norm: bool = False  # D's layers spectrally normalised instead of BatchNorm (Miyato et al. 2018)
    r1_weight: float = 0.0  # γ of the R1 penalty γ/2·E‖∇D(x_real)‖² in D's loss (Mescheder et al. 2018); 0 = off
    translate: float = 0.0  # DiffAugment: shift D's inputs, real and fake, by up to this share of the side

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise choose_one("GAN arch", self.arch, ARCHS)
        if self.loss not in LOSSES:
            raise choose_one("GAN loss", self.loss, LOSSES)
        if self.image_size < 1:
            raise AtelierError(f"image_size={self.image_size}; must be a positive number of pixels")
        if self.arch == "dcgan" and self.image_size not in DCGAN_START:
            raise AtelierError(f"image_size={self.image_size} is not supported by the DCGAN; choose one of: 28, 32, 64")
        if self.channels not in (1, 3):
            raise AtelierError(f"channels={self.channels}; choose 1 (grey) or 3 (RGB)")
        for name in ("z_dim", "width", "n_critic"):
            if getattr(self, name) < 1:
                raise AtelierError(f"{name}={getattr(self, name)}; must be a positive integer")
        if not self.mlp_hidden or min(self.mlp_hidden) < 1:
            raise AtelierError(f"mlp_hidden={self.mlp_hidden}; need one or more positive layer widths")
        if self.num_classes < 0 or self.num_classes == 1:
            raise AtelierError(f"num_classes={self.num_classes}; use 0 (unconditional) or 2 or more classes")
        if not 0.0 <= self.dropout < 1.0:
            raise AtelierError(f"dropout={self.dropout}; allowed: 0 (off) or a rate in (0, 1)")
        if self.dropout and self.arch != "mlp":
            raise AtelierError(f"dropout={self.dropout} is for the MLP discriminator; the DCGAN's has BatchNorm instead")
        if self.gp_weight < 0:
            raise AtelierError(f"gp_weight={self.gp_weight}; must be 0 or more")
        if self.lr_g <= 0 or self.lr_d <= 0:
            raise AtelierError(f"lr_g={self.lr_g}, lr_d={self.lr_d}; learning rates must be positive")
        if len(self.betas) != 2 or not all(0.0 <= b < 1.0 for b in self.betas):
            raise AtelierError(f"betas={self.betas}; need two Adam betas in [0, 1)")
        if self.r1_weight < 0:
            raise AtelierError(f"r1_weight={self.r1_weight}; must be 0 (off) or more")
        if not 0.0 <= self.translate < 0.5:
            raise AtelierError(f"translate={self.translate}; allowed: 0 (off) or a share of the side in (0, 0.5)")
        if not 0.0 <= self.ema_decay < 1.0:
            raise AtelierError(f"ema_decay={self.ema_decay}; allowed: 0 (off) or a decay in (0, 1)")


PRESETS: dict[str, GANConfig] = {
    # The article's fully connected GAN on 28×28 digits: z(100) → 128 → 128 → 784.
    "mlp-gan": GANConfig(arch="mlp", z_dim=100, mlp_hidden=(128, 128)),
    # A stronger MLP GAN of the same family: wider layers (G z → 256 → 512 → 1024 → 784, D mirrored)
    # and dropout in D, which keeps D from memorising a small training set.
    "mlp-gan-wide": GANConfig(arch="mlp", z_dim=100, mlp_hidden=(256, 512, 1024), dropout=0.3),
    # The same MLP, conditioned on the 10 digit classes.
    "mlp-cgan": GANConfig(arch="mlp", z_dim=100, mlp_hidden=(128, 128), num_classes=10),
    # DCGAN on 28×28 digits: G 7×7×128 → 14×14×64 → 28×28×1.
    "dcgan": GANConfig(arch="dcgan", image_size=28, width=64),
    # Class-conditional DCGAN on 28×28 digits.
    "cgan": GANConfig(arch="dcgan", image_size=28, width=64, num_classes=10),
    # DCGAN with the WGAN-GP objective and the paper's optimiser (Gulrajani et al. 2017, Alg. 1).
    "wgan-gp": GANConfig(arch="dcgan", image_size=28, width=64, loss="wgan-gp", n_critic=5,
                         lr_g=1e-4, lr_d=1e-4, betas=(0.0, 0.9)),
    # DCGAN for 32×32 colour images (CIFAR-like): 4×4×256 → … → 32×32×3.
    "dcgan-32-rgb": GANConfig(arch="dcgan", image_size=32, channels=3, width=64),
    # The paper's 64×64 colour DCGAN: 4×4×512 → 8×8×256 → 16×16×128 → 32×32×64 → 64×64×3.
    "dcgan-64-rgb": GANConfig(arch="dcgan", image_size=64, channels=3, width=64),
}


# ---------------------------------------------------------------------------------------------
# Training


class GANTask:
    """A GAN for :func:`atelier.training.fit`: modules G, D (and G_ema), one Adam optimizer each."""

    kind = KIND

    def __init__(self, config: GANConfig, *, val_batch: tuple[torch.Tensor, torch.Tensor | None] | None = None) -> None:
        self.config = config
        # channels-last and bf16 autocast (TrainConfig.precision): for the convolutional GANs, but
        # not under a gradient penalty (WGAN-GP, R1), whose second-order gradients want float32
        self.fast_path = config.arch == "dcgan" and config.loss != "wgan-gp" and config.r1_weight == 0
        self.G, self.D = Generator(config), Discriminator(config)
        self.modules: dict[str, nn.Module] = {"G": self.G, "D": self.D}
        if config.ema_decay > 0:
            self.modules["G_ema"] = copy.deepcopy(self.G).requires_grad_(False)
        self.optimizers = {
            "G": torch.optim.Adam(self.G.parameters(), lr=config.lr_g, betas=config.betas),
            "D": torch.optim.Adam(self.D.parameters(), lr=config.lr_d, betas=config.betas),
        }
        self.val_batch = None
        if val_batch is not None:
            self.val_batch = check_batch(val_batch, channels=config.channels, image_size=config.image_size,
                                         num_classes=config.num_classes, what="GAN")

    def train_step(self, batch: Any, ctx: Any) -> dict[str, torch.Tensor]:
        """One step of GAN training on a batch ``(images, labels)``.

        (1) Update D: minimise discriminator_loss(D(x), D(G(z))) [+ λ·gradient penalty], with
            G(z) detached so only D learns from it. For the non-saturating loss this is
            maximising log D(x) + log(1 − D(G(z))) (Goodfellow et al. 2014, Alg. 1).
        (2) Every n_critic-th step, update G: minimise generator_loss(D(G(z))) on the same fakes,
            e.g. maximise log D(G(z)), with D frozen (its weights' gradients would be thrown away);
            then move G_ema towards G.
        Each step is one D update on a fresh real batch, so with n_critic = 5 G sees every fifth
        batch (Gulrajani et al. 2017, Alg. 1). z and ε come from ``ctx``; fakes get the real labels.
        """
        cfg = self.config
        real, labels = check_batch(batch, channels=cfg.channels, image_size=cfg.image_size,
                                   num_classes=cfg.num_classes, what="GAN")  # (B, C, H, W), (B,) | None
        z = ctx.randn(cfg.z_dim)  # (B, z_dim)
        fake = self.G(z, labels)  # (B, C, H, W); the fakes are labelled like the real batch
        shown = self._augmenter(ctx)  # what D sees of an image: itself, or shifted (DiffAugment)

        # (1) Update D
        d_real = self.D(shown(real, 0), labels)  # (B,)
        d_fake = self.D(shown(fake.detach(), 1), labels)  # (B,)
        loss_d = discriminator_loss(cfg.loss, d_real, d_fake)
        out = {"loss_d": loss_d.detach(), "d_real": d_real.detach().mean(), "d_fake": d_fake.detach().mean()}
        if cfg.loss == "wgan-gp":
            gp = gradient_penalty(self.D, real, fake.detach(), labels, ctx.rand(1, 1, 1))
            loss_d = loss_d + cfg.gp_weight * gp
            out["gp"] = gp.detach()
        if cfg.r1_weight > 0:
            r1 = r1_penalty(self.D, shown(real, 0), labels)
            loss_d = loss_d + 0.5 * cfg.r1_weight * r1
            out["r1"] = r1.detach()
        ctx.optimize("D", loss_d)

        # (2) Update G
        if (ctx.step + 1) % cfg.n_critic == 0:
            with frozen(self.D):  # G's loss flows through D, but D's weights need no gradient
                loss_g = generator_loss(cfg.loss, self.D(shown(fake, 2), labels))
                ctx.optimize("G", loss_g)
            out["loss_g"] = loss_g.detach()
            if "G_ema" in self.modules:
                update_ema(self.modules["G_ema"], self.G, cfg.ema_decay)
        return out

    def _augmenter(self, ctx: Any):
        """``shown(images, k)``: the k-th batch D sees this step, shifted by up to ``translate`` of
        the side with shifts drawn from the step's own generator (so resumed runs are exact)."""
        r = round(self.config.translate * self.config.image_size)
        if r == 0:
            return lambda images, k: images
        shifts = ctx.randint(2 * r + 1, 3, 2) - r  # (B, 3, 2): one (dy, dx) per image and batch

        def shown(images: torch.Tensor, k: int) -> torch.Tensor:
            return translate(images, shifts[:, k], r)
        return shown

    def _sampler(self) -> nn.Module:
        return self.modules.get("G_ema", self.G)

    @torch.no_grad()
    def preview(self, ctx: Any) -> Image.Image:
        """A grid of samples from fixed noise (the same at every step); conditional models get one
        row per class, the columns sharing their noise."""
        cfg, G = self.config, self._sampler()
        device = next(G.parameters()).device
        if cfg.num_classes:
            z = seeded_normal(PREVIEW_COLUMNS, cfg.z_dim, seed=PREVIEW_SEED).repeat(cfg.num_classes, 1)  # (8K, z_dim)
            labels = torch.arange(cfg.num_classes).repeat_interleave(PREVIEW_COLUMNS).to(device)  # (8K,)
        else:
            z, labels = seeded_normal(PREVIEW_COLUMNS ** 2, cfg.z_dim, seed=PREVIEW_SEED), None  # (64, z_dim)
        was_training = G.training
        G.eval()
        images = G(z.to(device), labels)
        G.train(was_training)
        return to_pil(make_grid(images, nrow=PREVIEW_COLUMNS))

    @torch.no_grad()
    def validate(self, ctx: Any) -> dict[str, float]:
        """D's mean logit on held-out real images and on as many fixed-noise fakes.

        A D that scores held-out reals like fakes while scoring training reals high is memorising
        the training set (Karras et al. 2020). Empty without a validation batch.
        """
        if self.val_batch is None:
            return {}
        cfg, G, D = self.config, self._sampler(), self.D
        images, labels = self.val_batch
        device = next(D.parameters()).device
        modes = (G.training, D.training)
        G.eval()
        D.eval()
        noise = seeded_normal(images.shape[0], cfg.z_dim, seed=PREVIEW_SEED)  # (N, z_dim), fixed
        real_sum = fake_sum = 0.0
        for start in range(0, images.shape[0], 256):
            x = images[start:start + 256].to(device)
            y = None if labels is None else labels[start:start + 256].to(device)
            z = noise[start:start + 256].to(device)
            real_sum += D(x, y).sum().item()
            fake_sum += D(G(z, y), y).sum().item()
        G.train(modes[0])
        D.train(modes[1])
        n = images.shape[0]
        return {"d_val_real": real_sum / n, "d_val_fake": fake_sum / n}


def build_task(config: GANConfig, *, val_batch: tuple[torch.Tensor, torch.Tensor | None] | None = None,
               seed: int = 0) -> GANTask:
    """The training task for ``config``, its weights initialised from ``seed``.

    >>> import dataclasses
    >>> task = build_task(dataclasses.replace(PRESETS["mlp-gan"], mlp_hidden=(16, 16)))
    >>> sorted(task.modules), sorted(task.optimizers)
    (['D', 'G'], ['D', 'G'])
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return GANTask(config, val_batch=val_batch)


# ---------------------------------------------------------------------------------------------
# The trained model


class GANModel(TrainedModel, nn.Module):
    """A trained generator to sample from: ``GANModel.from_checkpoint(path).sample(16)``."""


    kind = KIND
    outputs = "images"
    sample_options = ("labels", "truncation")

    def __init__(self, config: GANConfig, generator: Generator) -> None:
        super().__init__()
        self.config = config
        self.generator = generator
        self.eval()

    @classmethod
    def from_checkpoint(cls, ckpt: Checkpoint | str | os.PathLike) -> GANModel:
        """Rebuild the generator a checkpoint was trained with; its EMA weights when it has them.

        >>> import dataclasses, os, tempfile
        >>> from atelier.checkpoint import save_checkpoint
        >>> config = dataclasses.replace(PRESETS["mlp-gan"], mlp_hidden=(16, 16))
        >>> task = build_task(config)
        >>> path = save_checkpoint(os.path.join(tempfile.mkdtemp(), "gan.safetensors"), kind="gan",
        ...                        config=dataclasses.asdict(config), modules=task.modules)
        >>> GANModel.from_checkpoint(path).config == config
        True
        """
        ckpt, config = open_checkpoint(ckpt, kind=KIND, config_type=GANConfig)
        generator = Generator(config)
        generator.load_state_dict(ckpt.module_state("G_ema" if ckpt.has_module("G_ema") else "G"))
        return cls(config, generator)

    @property
    def device(self) -> torch.device:
        return next(self.generator.parameters()).device

    @torch.no_grad()
    def sample(self, n: int, *, seed: int = 0, labels: Any = None, truncation: float | None = None) -> torch.Tensor:
        """``n`` images (n, C, H, W) in [-1, 1], the same for the same seed.

        ``labels``: conditional models only — one class, ``n`` classes, or None to cycle through
        the classes. ``truncation`` t > 0 draws z from N(0, I) truncated to [-t, t]: smaller t gives
        more typical, less varied images (Brock et al. 2019).

        >>> import dataclasses
        >>> config = dataclasses.replace(PRESETS["cgan"], width=8, z_dim=16)
        >>> model = GANModel(config, build_task(config).G)
        >>> model.sample(3, labels=[7, 7, 1], truncation=0.7).shape
        torch.Size([3, 1, 28, 28])
        """
        # 1. check inputs
        if n < 1:
            raise AtelierError(f"n={n}; the number of samples must be at least 1")
        if truncation is not None and not truncation > 0:
            raise AtelierError(f"truncation={truncation}; must be greater than 0 (or None for plain N(0, I) noise)")
        labels = resolve_labels(labels, n, self.config.num_classes, what="GAN")
        # 2. noise
        z = seeded_normal(n, self.config.z_dim, seed=seed, truncation=truncation)  # (n, z_dim)
        # 3. generate
        return self._generate(z, labels)

    @torch.no_grad()
    def interpolate(self, seed_a: int, seed_b: int, *, steps: int = 8, label: int | None = None) -> torch.Tensor:
        """``steps`` images (steps, C, H, W) along the slerp path from the noise of ``seed_a`` to that
        of ``seed_b``; the ends equal ``sample(1, seed=seed_a)`` and ``sample(1, seed=seed_b)``.

        Conditional models need ``label``, the class kept along the path.

        >>> import dataclasses
        >>> config = dataclasses.replace(PRESETS["dcgan"], width=8, z_dim=16)
        >>> GANModel(config, build_task(config).G).interpolate(0, 1, steps=5).shape
        torch.Size([5, 1, 28, 28])
        """
        if steps < 2:
            raise AtelierError(f"steps={steps}; an interpolation needs at least 2 steps")
        if self.config.num_classes and label is None:
            raise AtelierError(f"this GAN is conditional; pass label=0..{self.config.num_classes - 1}")
        labels = resolve_labels(label, steps, self.config.num_classes, what="GAN")
        z_a = seeded_normal(1, self.config.z_dim, seed=seed_a)[0]  # (z_dim,)
        z_b = seeded_normal(1, self.config.z_dim, seed=seed_b)[0]
        z = slerp(z_a, z_b, torch.linspace(0, 1, steps))  # (steps, z_dim)
        return self._generate(z, labels)

    @torch.no_grad()
    def decode(self, z: torch.Tensor, labels: Any = None) -> torch.Tensor:
        """Images (N, C, H, W) in [-1, 1] from latents z (N, z_dim): what the taste model steers and
        ``atelier decode`` reads. ``sample(1, seed=s)`` is ``decode(seeded_normal(1, z_dim, seed=s))``.

        >>> import dataclasses
        >>> config = dataclasses.replace(PRESETS["dcgan"], width=8, z_dim=16)
        >>> model = GANModel(config, build_task(config).G)
        >>> bool((model.decode(seeded_normal(1, 16, seed=3)) == model.sample(1, seed=3)).all())
        True
        """
        z = torch.as_tensor(z, dtype=torch.float32)
        if z.ndim != 2 or z.shape[1] != self.config.z_dim:
            raise AtelierError(f"latents of shape {tuple(z.shape)}; this GAN takes (N, {self.config.z_dim})")
        return self._generate(z, resolve_labels(labels, len(z), self.config.num_classes, what="GAN"))

    def _generate(self, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        device = self.device
        return self.generator(z.to(device), None if labels is None else labels.to(device))


# ---------------------------------------------------------------------------------------------
# The family


class GANFamily(ImageFamily):
    kind = KIND
    description = "GANs: the article's MLP GAN, DCGAN, class-conditional"
    config_type = GANConfig
    model_type = GANModel
    presets = PRESETS
    preset_notes = {
        "mlp-gan": "the article's fully connected GAN, 28×28 grey digits (z 100 → 128 → 128 → 784)",
        "mlp-gan-wide": "a stronger MLP GAN: z 100 → 256 → 512 → 1024 → 784, dropout 0.3 in D",
        "mlp-cgan": "the article's MLP GAN conditioned on the 10 digit classes",
        "dcgan": "DCGAN, 28×28 grey digits (7×7×128 → 14×14×64 → 28×28×1)",
        "cgan": "class-conditional DCGAN, 28×28 grey digits",
        "wgan-gp": "DCGAN with the WGAN-GP objective and optimiser (Gulrajani et al. 2017), 28×28 grey",
        "dcgan-32-rgb": "DCGAN for 32×32 colour images (CIFAR-like): 4×4×256 → … → 32×32×3",
        "dcgan-64-rgb": "the DCGAN paper's 64×64 colour network: 4×4×512 → … → 64×64×3",
    }

    def build_task(self, config: GANConfig, data: ImageData, *, seed: int) -> GANTask:
        return build_task(config, val_batch=data.val_batch, seed=seed)


FAMILY = GANFamily()
