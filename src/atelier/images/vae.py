"""Variational autoencoders: the MLP VAE, a convolutional VAE and their class-conditional versions.

An encoder maps an image x to a Gaussian q(z|x) = N(μ, diag σ²) over a small latent z, a decoder
maps z back to a distribution p(x|z) over images, and both are trained together to maximise the
evidence lower bound (ELBO) on log p(x) (Kingma & Welling 2014). Options:

* ``arch``: ``mlp`` (the article's 784 → 512 → 256 → z, mirrored decoder) or ``conv`` (the DCGAN
  layers of ``gan.py`` as encoder and decoder, for 28, 32 and 64 px, grey or RGB);
* ``num_classes > 0``: a conditional VAE (Sohn et al. 2015) — the label goes into the encoder and
  the decoder, so z is left to hold the style;
* ``beta``: the weight of the KL term (β-VAE, Higgins et al. 2017), with an optional linear warm-up;
* ``likelihood``: ``bernoulli`` or ``gaussian`` (with a learned or fixed σ).

Numbers are in nats per image: summed over pixels, averaged over images.

Example:
    >>> import dataclasses, torch
    >>> config = dataclasses.replace(PRESETS["mlp-vae"], hidden=(32, 16), z_dim=4)
    >>> model = VAEModel(config, build_task(config).vae)
    >>> model.sample(2, seed=0).shape
    torch.Size([2, 1, 28, 28])
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm
from PIL import Image
from torch import nn

from atelier.checkpoint import Checkpoint, open_checkpoint
from atelier.errors import AtelierError, choose_one
from atelier.nn import (
    DCGAN_START,
    DownConv,
    UpConv,
    check_batch,
    check_images,
    concat_one_hot,
    mlp,
    resolve_labels,
    seeded_normal,
    slerp,
    translate,
)
from atelier.family import EvalOptions, TrainedModel
from atelier.images.grid import make_grid, to_pil
from atelier.images.image_family import ImageData, ImageFamily

KIND = "vae"
ARCHS = ("mlp", "conv")
LIKELIHOODS = ("bernoulli", "gaussian")
LOG_2PI = math.log(2 * math.pi)
MIN_SIGMA = 0.01  # floor of a learned Gaussian σ (about 1.3 grey levels in [-1, 1] units)
PREVIEW_SEED = 0
PREVIEW_COLUMNS = 8


# ---------------------------------------------------------------------------------------------
# The network


class VAE(nn.Module):
    """Encoder q(z|x[, y]) and decoder p(x|z[, y]).

    mlp:  x (B, C·H·W) → hidden… → φ;       z [+ onehot(y)] → hidden reversed… → (B, C·H·W)
    conv: x → :class:`~atelier.nn.DownConv` → φ;  z [+ onehot(y)] → :class:`UpConv` → (B, C, H, W)
    then [φ, onehot(y)] → linear → (μ, log σ²). ReLU/LeakyReLU activations and no normalisation
    layer, so an image's ELBO never depends on the other images of its batch.
    """

    def __init__(self, config: VAEConfig) -> None:
        super().__init__()
        self.config = config
        c, s, k, z = config.channels, config.image_size, config.num_classes, config.z_dim
        if config.arch == "mlp":
            self.encoder = nn.Sequential(nn.Flatten(), mlp([c * s * s, *config.hidden], nn.ReLU, last_activation=True))
            features = config.hidden[-1]
            self.decoder = nn.Sequential(mlp([z + k, *reversed(config.hidden), c * s * s], nn.ReLU),
                                         nn.Unflatten(1, (c, s, s)))
        else:
            self.encoder = DownConv(c, s, config.width, norm="none")
            features = self.encoder.out_features
            self.decoder = UpConv(z + k, c, s, config.width, norm="none")
        self.posterior = nn.Linear(features + k, 2 * z)  # → (μ, log σ²)
        if config.likelihood == "gaussian" and config.sigma is None:
            self.log_sigma = nn.Parameter(torch.zeros(()))  # one σ for all pixels (Rybkin et al. 2021)

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, C, H, W) → μ (B, z_dim), log σ² (B, z_dim)."""
        h = concat_one_hot(self.encoder(x), labels, self.config.num_classes)  # (B, F + K)
        mu, logvar = self.posterior(h).chunk(2, dim=1)
        return mu, logvar

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """z = μ + σ·ε with ε ~ N(0, I) given by the caller, so gradients flow into μ and σ."""
        return mu + torch.exp(0.5 * logvar) * eps

    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """z (B, z_dim) → the parameters of p(x|z) (B, C, H, W): Bernoulli logits or Gaussian means."""
        return self.decoder(concat_one_hot(z, labels, self.config.num_classes))

    def sigma(self) -> torch.Tensor:
        """The Gaussian decoder's σ in [-1, 1] pixel units (a scalar)."""
        if self.config.sigma is not None:
            return torch.tensor(self.config.sigma)
        return self.log_sigma.exp().clamp(min=MIN_SIGMA)

    def log_likelihood(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        """log p(x|z) (B,) summed over pixels, for images x (B, C, H, W) in [-1, 1].

        bernoulli: the pixel intensity (x + 1)/2 ∈ [0, 1] is the target of a cross-entropy with
            the decoder's logits. For grey levels this is the customary MNIST objective rather than
            a normalised likelihood (Loaiza-Ganem & Cunningham 2019); it is exact for binary data.
        gaussian: Σ log N(x; μ, σ²), a density in [-1, 1] pixel units.
        """
        if self.config.likelihood == "bernoulli":
            nll = F.binary_cross_entropy_with_logits(params, (x + 1) / 2, reduction="none")
            return -nll.flatten(1).sum(dim=1)
        sigma = self.sigma().to(x.device)
        log_p = -0.5 * ((x - params) / sigma) ** 2 - torch.log(sigma) - 0.5 * LOG_2PI
        return log_p.flatten(1).sum(dim=1)

    def to_images(self, params: torch.Tensor) -> torch.Tensor:
        """The mean of p(x|z) as images in [-1, 1]."""
        if self.config.likelihood == "bernoulli":
            return torch.sigmoid(params) * 2 - 1
        return params.clamp(-1, 1)

    # The objective (Kingma & Welling 2014, eq. 10; the Gaussian KL in closed form, their App. B):
    #   −ELBO(x) = E_q(z|x)[−log p(x|z)] + KL(q(z|x) ‖ N(0, I)),
    #   KL = ½ Σ_j (μ_j² + σ_j² − 1 − log σ_j²),
    # the expectation estimated with one z = μ + σ·ε per image.
    def forward(self, x: torch.Tensor, labels: torch.Tensor | None,
                eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-image reconstruction term −log p(x|z) (B,) and KL term (B,), in nats."""
        mu, logvar = self.encode(x, labels)  # (B, z_dim) each
        z = self.reparameterize(mu, logvar, eps)  # (B, z_dim)
        recon = -self.log_likelihood(x, self.decode(z, labels))  # (B,)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(dim=1)  # (B,)
        return recon, kl


@torch.no_grad()
def negative_elbo(vae: VAE, images: torch.Tensor, labels: torch.Tensor | None, *, seed: int = 0,
                  batch_size: int = 256) -> float:
    """−ELBO in nats per image (mean over ``images``), one seeded z per image, in chunks."""
    device = next(vae.parameters()).device
    g = torch.Generator().manual_seed(seed)
    eps = torch.randn(images.shape[0], vae.config.z_dim, generator=g)  # (N, z_dim)
    total = 0.0
    for start in range(0, images.shape[0], batch_size):
        part = slice(start, start + batch_size)
        y = None if labels is None else labels[part].to(device)
        recon, kl = vae(images[part].to(device), y, eps[part].to(device))
        total += (recon + kl).sum().item()
    return total / images.shape[0]


@torch.no_grad()
def importance_weighted_nll(vae: VAE, images: torch.Tensor, labels: torch.Tensor | None, *, k: int,
                            batch_size: int, seed: int = 0, progress: bool = False) -> float:
    """−log p(x) estimated with k importance samples (Burda et al. 2016), nats per image.

        log p(x) ≥ log (1/k) Σ_i p(x|z_i) p(z_i) / q(z_i|x),  z_i ~ q(z|x)

    The bound tightens as k grows (k = 1 is the ELBO). ``batch_size`` (image, sample) pairs go
    through the decoder at a time; the log-weights of each image are combined by log-mean-exp.
    """
    device = next(vae.parameters()).device
    g = torch.Generator().manual_seed(seed)
    n = images.shape[0]
    per_chunk = min(n, batch_size)  # images per chunk
    samples_per_pass = max(1, batch_size // per_chunk)
    total = 0.0
    bar = tqdm(total=n, desc=f"IWAE bound, k={k}", unit="image", disable=None if progress else True, leave=False)
    for start in range(0, n, per_chunk):
        x = images[start:start + per_chunk].to(device)  # (b, C, H, W)
        y = None if labels is None else labels[start:start + per_chunk].to(device)
        b = x.shape[0]
        mu, logvar = vae.encode(x, y)  # (b, z_dim)
        log_w = []
        for done in range(0, k, samples_per_pass):
            m = min(samples_per_pass, k - done)
            eps = torch.randn(m, b, vae.config.z_dim, generator=g).to(device)  # (m, b, z_dim)
            z = vae.reparameterize(mu, logvar, eps)  # (m, b, z_dim)
            ys = None if y is None else y.repeat(m)  # (m·b,)
            params = vae.decode(z.flatten(0, 1), ys)  # (m·b, C, H, W)
            log_px = vae.log_likelihood(x.repeat(m, 1, 1, 1), params).view(m, b)
            log_pz = -0.5 * (z.pow(2) + LOG_2PI).sum(dim=2)  # (m, b)  log N(z; 0, I)
            log_qz = -0.5 * (eps.pow(2) + logvar + LOG_2PI).sum(dim=2)  # (m, b)  log N(z; μ, σ²)
            log_w.append(log_px + log_pz - log_qz)
        log_w = torch.cat(log_w)  # (k, b)
        total += -(torch.logsumexp(log_w, dim=0) - math.log(k)).sum().item()
        bar.update(b)
    bar.close()
    return total / n


# ---------------------------------------------------------------------------------------------
# Config


@dataclass(frozen=True)
class VAEConfig:
    """Everything that defines a VAE's networks and its training objective."""

    arch: str = "mlp"  # mlp | conv
    image_size: int = 28  # pixels per side; conv: 28, 32 or 64
    channels: int = 1  # 1 = grey, 3 = RGB
    z_dim: int = 20  # latent dimensions
    hidden: tuple[int, ...] = (512, 256)  # mlp: encoder widths; the decoder uses them reversed
    width: int = 32  # conv: channels at the highest resolution, doubled per halving
    num_classes: int = 0  # 0 = unconditional; K ≥ 2 = conditional VAE
    likelihood: str = "bernoulli"  # bernoulli | gaussian
    sigma: float | None = None  # gaussian: fixed σ in [-1, 1] pixel units; None = learned
    beta: float = 1.0  # weight of the KL term; > 1 favours disentangled latents (Higgins et al. 2017)
    kl_warmup_steps: int = 0  # the KL weight rises linearly from 0 to beta over this many steps
    translate: float = 0.0  # augmentation: shift each training image by up to this share of the side
    lr: float = 1e-3  # Adam

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise choose_one("VAE arch", self.arch, ARCHS)
        if self.likelihood not in LIKELIHOODS:
            raise choose_one("VAE likelihood", self.likelihood, LIKELIHOODS)
        if self.image_size < 1:
            raise AtelierError(f"image_size={self.image_size}; must be a positive number of pixels")
        if self.arch == "conv" and self.image_size not in DCGAN_START:
            raise AtelierError(f"image_size={self.image_size} is not supported by the conv VAE; "
                               "choose one of: 28, 32, 64")
        if self.channels not in (1, 3):
            raise AtelierError(f"channels={self.channels}; choose 1 (grey) or 3 (RGB)")
        if self.z_dim < 1 or self.width < 1:
            raise AtelierError(f"z_dim={self.z_dim}, width={self.width}; both must be positive integers")
        if not self.hidden or min(self.hidden) < 1:
            raise AtelierError(f"hidden={self.hidden}; need one or more positive layer widths")
        if self.num_classes < 0 or self.num_classes == 1:
            raise AtelierError(f"num_classes={self.num_classes}; use 0 (unconditional) or 2 or more classes")
        if self.sigma is not None and (self.likelihood != "gaussian" or not self.sigma > 0):
            raise AtelierError(f"sigma={self.sigma}; a fixed σ > 0 needs likelihood='gaussian' (None = learned)")
        if self.beta < 0 or self.kl_warmup_steps < 0:
            raise AtelierError(f"beta={self.beta}, kl_warmup_steps={self.kl_warmup_steps}; both must be 0 or more")
        if self.lr <= 0:
            raise AtelierError(f"lr={self.lr}; the learning rate must be positive")
        if not 0.0 <= self.translate < 0.5:
            raise AtelierError(f"translate={self.translate}; allowed: 0 (off) or a share of the side in (0, 0.5)")


PRESETS: dict[str, VAEConfig] = {
    # The article's VAE on 28×28 digits: 784 → 512 → 256 → z(20), mirrored decoder.
    "mlp-vae": VAEConfig(arch="mlp", hidden=(512, 256), z_dim=20),
    # Convolutional VAE on 28×28 digits: 28 → 14×14×32 → 7×7×64 → z(20), mirrored decoder.
    "conv-vae": VAEConfig(arch="conv", width=32, z_dim=20),
    # Conditional MLP VAE on the 10 digit classes (Sohn et al. 2015).
    "cvae": VAEConfig(arch="mlp", hidden=(512, 256), z_dim=20, num_classes=10),
    # β-VAE (Higgins et al. 2017): a stronger KL weight, warmed up over 5k steps, few latents.
    "beta-vae": VAEConfig(arch="conv", width=32, z_dim=10, beta=4.0, kl_warmup_steps=5000),
    # 32×32 colour images with a learned-σ Gaussian decoder.
    "conv-vae-32-rgb": VAEConfig(arch="conv", image_size=32, channels=3, width=32, z_dim=64,
                                 likelihood="gaussian"),
}


# ---------------------------------------------------------------------------------------------
# Training


class VAETask:
    """A VAE for :func:`atelier.training.fit`: one module "vae", one Adam optimizer "vae"."""

    kind = KIND

    def __init__(self, config: VAEConfig, *, val_batch: tuple[torch.Tensor, torch.Tensor | None] | None = None) -> None:
        self.config = config
        self.vae = VAE(config)
        self.modules: dict[str, nn.Module] = {"vae": self.vae}
        self.optimizers = {"vae": torch.optim.Adam(self.vae.parameters(), lr=config.lr)}
        self.val_batch = None
        self.preview_batch = None  # (inputs, labels) shown with their reconstructions
        if val_batch is not None:
            self.val_batch = self._check(val_batch)
            images, labels = self.val_batch
            self.preview_batch = (images[:PREVIEW_COLUMNS], None if labels is None else labels[:PREVIEW_COLUMNS])

    def _check(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
        cfg = self.config
        return check_batch(batch, channels=cfg.channels, image_size=cfg.image_size,
                           num_classes=cfg.num_classes, what="VAE")

    def kl_weight(self, step: int) -> float:
        """β, ramped linearly from β/N at step 0 to β at step N−1 (N = kl_warmup_steps; Bowman et al. 2016)."""
        warmup = self.config.kl_warmup_steps
        return self.config.beta * (min(1.0, (step + 1) / warmup) if warmup else 1.0)

    def train_step(self, batch: Any, ctx: Any) -> dict[str, float]:
        """One Adam step on loss = mean over the batch of −log p(x|z) + β·w(step)·KL(q(z|x) ‖ p(z)).

        With β·w = 1 the loss is −ELBO; ``neg_elbo`` is always logged with weight 1, so runs with
        different β or warm-up can be compared. ε comes from ``ctx``.
        """
        x, labels = self._check(batch)  # (B, C, H, W), (B,) | None
        if self.preview_batch is None:
            self.preview_batch = (x[:PREVIEW_COLUMNS].detach().cpu(),
                                  None if labels is None else labels[:PREVIEW_COLUMNS].cpu())
        eps = ctx.randn(self.config.z_dim)  # (B, z_dim)
        r = round(self.config.translate * self.config.image_size)
        if r:  # each image shifted by its own (dy, dx): more digits from the same strokes
            x = translate(x, ctx.randint(2 * r + 1, 2) - r, r)
        recon, kl = self.vae(x, labels, eps)  # (B,) each
        loss = (recon + self.kl_weight(ctx.step) * kl).mean()
        ctx.optimize("vae", loss)
        return {"loss": loss.item(), "neg_elbo": (recon + kl).mean().item(),
                "recon": recon.mean().item(), "kl": kl.mean().item()}

    @torch.no_grad()
    def preview(self, ctx: Any) -> Image.Image:
        """Row 1: inputs (held-out if given, else the first training batch); row 2: their
        reconstructions; then samples from fixed noise (one row per class when conditional)."""
        vae, cfg = self.vae, self.config
        device = next(vae.parameters()).device
        was_training = vae.training
        vae.eval()
        rows = []
        if self.preview_batch is not None:
            x, y = self.preview_batch
            x, y = x.to(device), None if y is None else y.to(device)
            mu, _ = vae.encode(x, y)
            rows += [x, vae.to_images(vae.decode(mu, y))]
        if cfg.num_classes:
            z = seeded_normal(PREVIEW_COLUMNS, cfg.z_dim, seed=PREVIEW_SEED).repeat(cfg.num_classes, 1)  # (8K, z)
            labels = torch.arange(cfg.num_classes).repeat_interleave(PREVIEW_COLUMNS).to(device)
        else:
            z, labels = seeded_normal(4 * PREVIEW_COLUMNS, cfg.z_dim, seed=PREVIEW_SEED), None  # (32, z)
        rows.append(vae.to_images(vae.decode(z.to(device), labels)))
        vae.train(was_training)
        return to_pil(make_grid(torch.cat(rows), nrow=PREVIEW_COLUMNS))

    def validate(self, ctx: Any) -> dict[str, float]:
        """−ELBO (nats per image, β = 1) of the held-out batch with fixed noise; empty without one."""
        if self.val_batch is None:
            return {}
        was_training = self.vae.training
        self.vae.eval()
        value = negative_elbo(self.vae, *self.val_batch, seed=PREVIEW_SEED)
        self.vae.train(was_training)
        return {"neg_elbo": value}


def build_task(config: VAEConfig, *, val_batch: tuple[torch.Tensor, torch.Tensor | None] | None = None,
               seed: int = 0) -> VAETask:
    """The training task for ``config``, its weights initialised from ``seed``.

    >>> task = build_task(PRESETS["conv-vae"])
    >>> list(task.modules), list(task.optimizers)
    (['vae'], ['vae'])
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return VAETask(config, val_batch=val_batch)


# ---------------------------------------------------------------------------------------------
# The trained model


class VAEModel(TrainedModel, nn.Module):
    """A trained VAE to sample, encode, decode and score images: ``VAEModel.from_checkpoint(path)``."""


    kind = KIND
    outputs = "images"
    sample_options = ("labels", "temperature")

    def __init__(self, config: VAEConfig, vae: VAE) -> None:
        super().__init__()
        self.config = config
        self.vae = vae
        self.eval()

    @classmethod
    def from_checkpoint(cls, ckpt: Checkpoint | str | os.PathLike) -> VAEModel:
        """Rebuild the VAE a checkpoint was trained with.

        >>> import dataclasses, os, tempfile
        >>> from atelier.checkpoint import save_checkpoint
        >>> config = dataclasses.replace(PRESETS["cvae"], hidden=(16,))
        >>> path = save_checkpoint(os.path.join(tempfile.mkdtemp(), "vae.safetensors"), kind="vae",
        ...                        config=dataclasses.asdict(config), modules=build_task(config).modules)
        >>> VAEModel.from_checkpoint(path).config == config
        True
        """
        ckpt, config = open_checkpoint(ckpt, kind=KIND, config_type=VAEConfig)
        vae = VAE(config)
        vae.load_state_dict(ckpt.module_state("vae"))
        return cls(config, vae)

    @property
    def device(self) -> torch.device:
        return next(self.vae.parameters()).device

    def _labels(self, labels: Any, n: int) -> torch.Tensor | None:
        labels = resolve_labels(labels, n, self.config.num_classes, what="VAE")
        return None if labels is None else labels.to(self.device)

    def _images(self, images: torch.Tensor) -> torch.Tensor:
        return check_images(images, channels=self.config.channels, image_size=self.config.image_size).to(self.device)

    @torch.no_grad()
    def sample(self, n: int, *, seed: int = 0, labels: Any = None, temperature: float = 1.0) -> torch.Tensor:
        """``n`` images (n, C, H, W) in [-1, 1], decoded from z ~ N(0, temperature²·I).

        ``labels``: conditional models only — one class, ``n`` classes, or None to cycle through
        the classes. Images are the decoder's means (not noisy draws from p(x|z)).

        >>> model = VAEModel(PRESETS["cvae"], build_task(PRESETS["cvae"]).vae)
        >>> model.sample(4, labels=3, temperature=0.8).shape
        torch.Size([4, 1, 28, 28])
        """
        if n < 1:
            raise AtelierError(f"n={n}; the number of samples must be at least 1")
        if not temperature > 0:
            raise AtelierError(f"temperature={temperature}; must be greater than 0")
        labels = self._labels(labels, n)
        z = temperature * seeded_normal(n, self.config.z_dim, seed=seed)  # (n, z_dim)
        return self.decode(z, labels)

    @torch.no_grad()
    def encode(self, images: torch.Tensor, labels: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
        """images (N, C, H, W) in [-1, 1] → μ (N, z_dim), log σ² (N, z_dim) of q(z|x).

        Conditional models need the images' labels (one class or N classes).
        """
        images = self._images(images)
        if self.config.num_classes and labels is None:
            raise AtelierError(f"this VAE is conditional; pass the images' labels (0..{self.config.num_classes - 1})")
        return self.vae.encode(images, self._labels(labels, images.shape[0]))

    @torch.no_grad()
    def decode(self, z: torch.Tensor, labels: Any = None) -> torch.Tensor:
        """z (N, z_dim) → images (N, C, H, W) in [-1, 1], the means of p(x|z)."""
        if not torch.is_tensor(z) or z.ndim != 2 or z.shape[1] != self.config.z_dim:
            shape = tuple(z.shape) if torch.is_tensor(z) else type(z).__name__
            raise AtelierError(f"z {shape}; expected (N, {self.config.z_dim})")
        labels = self._labels(labels, z.shape[0])
        return self.vae.to_images(self.vae.decode(z.to(self.device), labels))

    @torch.no_grad()
    def reconstruct(self, images: torch.Tensor, labels: Any = None) -> torch.Tensor:
        """Decode the posterior means of ``images``: (N, C, H, W) → (N, C, H, W) in [-1, 1].

        >>> model = VAEModel(PRESETS["mlp-vae"], build_task(PRESETS["mlp-vae"]).vae)
        >>> model.reconstruct(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 1, 28, 28])
        """
        mu, _ = self.encode(images, labels)
        return self.decode(mu, labels)

    @torch.no_grad()
    def interpolate(self, a: int | torch.Tensor, b: int | torch.Tensor, *, steps: int = 8,
                    label: int | None = None) -> torch.Tensor:
        """``steps`` images (steps, C, H, W) along a slerp path in latent space, between two seeds
        (the prior draws of ``sample(1, seed=a)`` and ``sample(1, seed=b)``, which are the ends) or
        between two images (C, H, W) in [-1, 1] (their encoded means). Conditional models encode
        and decode with ``label``.

        >>> model = VAEModel(PRESETS["mlp-vae"], build_task(PRESETS["mlp-vae"]).vae)
        >>> model.interpolate(0, 1, steps=4).shape
        torch.Size([4, 1, 28, 28])
        >>> model.interpolate(torch.zeros(1, 28, 28), torch.ones(1, 28, 28), steps=3).shape
        torch.Size([3, 1, 28, 28])
        """
        self._check_steps(steps, label)
        if isinstance(a, int) and isinstance(b, int):
            z_a = seeded_normal(1, self.config.z_dim, seed=a)[0]  # (z_dim,)
            z_b = seeded_normal(1, self.config.z_dim, seed=b)[0]
        elif torch.is_tensor(a) and torch.is_tensor(b):
            mu, _ = self.encode(torch.stack([a, b]), label)  # (2, z_dim)
            z_a, z_b = mu[0].cpu(), mu[1].cpu()
        else:
            raise AtelierError(f"interpolate takes two seeds or two images (C, H, W), got "
                               f"{type(a).__name__} and {type(b).__name__}")
        return self.decode(slerp(z_a, z_b, torch.linspace(0, 1, steps)), label)

    def _check_steps(self, steps: int, label: int | None) -> None:
        if steps < 2:
            raise AtelierError(f"steps={steps}; an interpolation needs at least 2 steps")
        if self.config.num_classes and label is None:
            raise AtelierError(f"this VAE is conditional; pass label=0..{self.config.num_classes - 1}")

    @torch.no_grad()
    def negative_elbo(self, images: torch.Tensor, labels: Any = None, *, seed: int = 0,
                      batch_size: int = 256) -> float:
        """−ELBO of held-out ``images`` in nats per image (sum over pixels, mean over images), with
        one seeded posterior draw per image. An upper bound on −log p(x).

        >>> model = VAEModel(PRESETS["mlp-vae"], build_task(PRESETS["mlp-vae"]).vae)
        >>> model.negative_elbo(torch.zeros(3, 1, 28, 28)) > 0
        True
        """
        images, labels = self._scored(images, labels, batch_size)
        return negative_elbo(self.vae, images, labels, seed=seed, batch_size=batch_size)

    @torch.no_grad()
    def importance_weighted_nll(self, images: torch.Tensor, labels: Any = None, *, k: int = 1000,
                                batch_size: int = 1024, seed: int = 0, progress: bool = False) -> float:
        """−log p(x) of held-out ``images`` estimated with ``k`` importance samples per image (the
        IWAE bound of Burda et al. 2016), nats per image; a tighter upper bound than the −ELBO.

        ``batch_size`` bounds the (image, sample) pairs decoded at once, i.e. the memory used.

        >>> model = VAEModel(PRESETS["mlp-vae"], build_task(PRESETS["mlp-vae"]).vae)
        >>> model.importance_weighted_nll(torch.zeros(3, 1, 28, 28), k=8) > 0
        True
        """
        if k < 1:
            raise AtelierError(f"k={k}; the number of importance samples must be at least 1")
        images, labels = self._scored(images, labels, batch_size)
        return importance_weighted_nll(self.vae, images, labels, k=k, batch_size=batch_size, seed=seed,
                                       progress=progress)

    def _scored(self, images: torch.Tensor, labels: Any, batch_size: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        if batch_size < 1:
            raise AtelierError(f"batch_size={batch_size}; must be at least 1")
        images = check_images(images, channels=self.config.channels, image_size=self.config.image_size)
        if self.config.num_classes and labels is None:
            raise AtelierError(f"this VAE is conditional; pass the images' labels (0..{self.config.num_classes - 1})")
        return images, resolve_labels(labels, images.shape[0], self.config.num_classes, what="VAE")


# ---------------------------------------------------------------------------------------------
# The family


class VAEFamily(ImageFamily):
    kind = KIND
    description = "VAEs: MLP, convolutional, conditional"
    config_type = VAEConfig
    model_type = VAEModel
    presets = PRESETS
    preset_notes = {
        "mlp-vae": "the article's MLP VAE, 28×28 grey digits (784 → 512 → 256 → z 20)",
        "conv-vae": "convolutional VAE, 28×28 grey digits (14×14×32 → 7×7×64 → z 20)",
        "cvae": "MLP VAE conditioned on the 10 digit classes (Sohn et al. 2015)",
        "beta-vae": "β-VAE (Higgins et al. 2017): conv, β = 4 warmed up over 5k steps, 10 latents",
        "conv-vae-32-rgb": "convolutional VAE for 32×32 colour images, Gaussian decoder with learned σ, 64 latents",
    }
    extra_notes = ("ELBO and NLL are in nats per image on data scaled to [0, 1].",)

    def build_task(self, config: VAEConfig, data: ImageData, *, seed: int) -> VAETask:
        return build_task(config, val_batch=data.val_batch, seed=seed)

    def extra_metrics(self, model: VAEModel, real: torch.Tensor, labels: torch.Tensor | None,
                      options: EvalOptions) -> dict[str, float]:
        """The likelihood bounds of the held-out images: −ELBO and the IWAE bound with ``iwae_k`` samples."""
        return {"neg_elbo_nats": float(model.negative_elbo(real, labels)),
                f"iwae_nll_nats_k{options.iwae_k}": float(model.importance_weighted_nll(
                    real, labels, k=options.iwae_k, progress=options.progress))}


FAMILY = VAEFamily()
