"""Principal latent directions of an image generator, as in GANSpace (Härkönen et al. 2020).

A generator's latent z ~ N(0, I) is isotropic, so principal components of z itself mean nothing;
the structure is in what the network makes of it. GANSpace (§2.2) therefore

1. samples many latents z_j and runs the generator, keeping an early layer's activations y_j
   (or the output pictures);
2. runs PCA on the y_j: a mean μ and the top-k components V, and each sample's coordinates
   x_j = Vᵀ(y_j − μ);
3. transfers the basis back to the latent space by linear regression, z_j ≈ z̄ + Uᵀ x_j, so that row
   i of U is the latent direction whose step changes the i-th principal coordinate by one unit.

Moving z along those rows edits the picture along the main ways the generator's pictures vary
(for digits: stroke weight, slant, width); the coordinates of a latent along them are compact
features for a preference model (:mod:`atelier.taste.preference`). The generator is any callable
z (n, latent_dim) → tensor (n, …), so GANs (``model.generator``), VAEs (``model.decode``) and
anything else with a Gaussian latent work alike: :func:`principal_directions` takes a loaded GAN or
VAE, or a callable and its latent size.

Example, a linear "generator" whose main directions are known:
    >>> import torch
    >>> A = torch.zeros(5, 3); A[0, 0], A[1, 1] = 3.0, 1.0   # z₀ is stretched most, then z₁; z₂ unused
    >>> d = principal_directions(lambda z: z @ A.T, 3, k=2, num_samples=500)
    >>> abs(d.directions).round(1).tolist()   # one coordinate unit along z₀, then one along z₁
    [[0.3, 0.0, 0.0], [0.0, 1.0, 0.0]]
    >>> z = torch.zeros(1, 3)
    >>> (d.coordinates(d.move(z, [1.0, -2.0])) - d.coordinates(z)).round(6).tolist()   # in σ units
    [[1.0, -2.0]]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from atelier.errors import AtelierError, choose_one
from atelier.nn import seeded_normal

Generate = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True, eq=False)
class LatentDirections:
    """The top-k principal directions of a generator, in its latent space.

    ``directions`` (k, latent_dim): row i moves the i-th principal coordinate by one unit;
    ``mean`` (latent_dim,): the mean of the sampled latents; ``scale`` (k,): the standard deviation
    of each principal coordinate over the samples, so :meth:`coordinates` and :meth:`move` work in
    standard deviations (GANSpace's sliders, ±2σ, are steps of ±2 here); ``explained`` (k,): the
    share of the activations' variance each component explains (largest first).
    """

    directions: np.ndarray  # (k, latent_dim)
    mean: np.ndarray  # (latent_dim,)
    scale: np.ndarray  # (k,)
    explained: np.ndarray  # (k,)

    @property
    def k(self) -> int:
        return int(self.directions.shape[0])

    @property
    def latent_dim(self) -> int:
        return int(self.directions.shape[1])

    def coordinates(self, z: Any) -> np.ndarray:
        """Latents z (n, latent_dim) → their coordinates (n, k) along the directions, in standard
        deviations: the least-squares c with z ≈ mean + (c·scale) @ directions.

        Exact inverse of :meth:`move`: ``coordinates(move(z, s)) == coordinates(z) + s``. Random
        latents get coordinates with mean ≈ 0 and standard deviation ≈ 1.
        """
        z = self._latents(z)
        # pinv(U): U has full row rank, so U·pinv(U) = I and a step along row i changes only c_i
        return (z - self.mean) @ np.linalg.pinv(self.directions) / self.scale  # (n, k)

    def move(self, z: Any, steps: Any) -> Any:
        """Latents z (n, latent_dim) moved by ``steps`` standard deviations along the directions:
        ``steps`` (k,) for every latent alike or (n, k) one row each. Returns the type it was given
        (a tensor stays a tensor, on its device)."""
        arr = self._latents(z)
        steps = np.asarray(steps, dtype=np.float64)
        if steps.shape not in ((self.k,), (arr.shape[0], self.k)):
            raise AtelierError(f"steps of shape {steps.shape}; expected ({self.k},) or ({arr.shape[0]}, {self.k})")
        moved = arr + (steps * self.scale) @ self.directions  # (n, latent_dim)
        if torch.is_tensor(z):
            return torch.as_tensor(moved, dtype=z.dtype, device=z.device)
        return moved

    def _latents(self, z: Any) -> np.ndarray:
        arr = z.detach().cpu().numpy() if torch.is_tensor(z) else np.asarray(z)
        arr = arr.astype(np.float64)
        if arr.ndim != 2 or arr.shape[1] != self.latent_dim:
            raise AtelierError(f"latents of shape {arr.shape}; expected (n, {self.latent_dim})")
        return arr


@torch.no_grad()
def principal_directions(generator: Any, latent_dim: int | None = None, *, k: int = 4, num_samples: int = 1000,
                         layer: torch.nn.Module | None = None, label: int | None = None, seed: int = 0,
                         batch_size: int = 250) -> LatentDirections:
    """GANSpace directions of ``generator``: a loaded GAN or VAE, or any callable from latents
    z (n, latent_dim) ~ N(0, I) to tensors (n, …) with its ``latent_dim``.

    PCA runs on ``layer``'s output when given (a module inside the generator, captured with a
    forward hook). A GAN or VAE defaults to its :func:`early_layer`, as GANSpace does; a callable
    defaults to its own output. ``label``: the class a conditional model draws (None: the samples
    cycle through the classes). ``num_samples`` latents from ``seed``: a few hundred give the leading
    directions of MNIST-sized generators; GANSpace's BigGAN runs use far more.

    >>> d = principal_directions(lambda z: torch.tanh(z[:, :2] * 2), 8, k=2, num_samples=300)
    >>> d.directions.shape, d.scale.shape
    ((2, 8), (2,))
    """
    # 1. check inputs
    if isinstance(generator, torch.nn.Module) and getattr(generator, "kind", "") in ("gan", "vae"):
        layer = early_layer(generator) if layer is None else layer
        generator, latent_dim = generator_of(generator, label=label)
    if latent_dim is None or not callable(generator):
        raise AtelierError("principal_directions: pass a loaded GAN or VAE, or a callable z → tensor and its latent_dim")
    if latent_dim < 1:
        raise AtelierError(f"latent_dim={latent_dim}; must be a positive number of dimensions")
    if not 1 <= k <= min(latent_dim, num_samples - 1):
        raise AtelierError(f"k={k}; choose 1 to {min(latent_dim, num_samples - 1)} directions "
                           f"(at most latent_dim={latent_dim} and num_samples - 1)")
    if batch_size < 1:
        raise AtelierError(f"batch_size={batch_size}; must be at least 1")
    # 2. sample latents and the activations PCA runs on
    z = seeded_normal(num_samples, latent_dim, seed=seed)  # (N, latent_dim)
    y = _activations(generator, z, layer, batch_size)  # (N, F)
    if y.shape[1] < k:
        raise AtelierError(f"k={k}; the activations have only {y.shape[1]} features")
    # 3. PCA (an SVD of the centred activations; N ≪ F for image layers, so this is cheap)
    centred = y - y.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)  # vt (min(N, F), F)
    x = centred @ vt[:k].T  # (N, k) principal coordinates
    explained = s[:k] ** 2 / max(float((s ** 2).sum()), 1e-300)
    # 4. transfer to the latent space: least squares z − z̄ ≈ x @ U (GANSpace §2.2)
    zn = z.double().numpy()
    z_mean = zn.mean(axis=0)
    u, *_ = np.linalg.lstsq(x, zn - z_mean, rcond=None)  # (k, latent_dim)
    if np.any(np.linalg.norm(u, axis=1) < 1e-12) or np.any(s[:k] < 1e-12 * max(s[0], 1e-300)):
        raise AtelierError(f"the generator's activations vary along fewer than k={k} directions; choose a smaller k")
    # A PCA sign is arbitrary: make each direction's largest entry positive, so runs agree.
    signs = np.sign(u[np.arange(k), np.abs(u).argmax(axis=1)])
    u *= signs[:, None]
    d = LatentDirections(directions=u, mean=z_mean, scale=np.ones(k), explained=explained)
    scale = d.coordinates(zn).std(axis=0)  # σ of each coordinate over the samples
    return LatentDirections(directions=u, mean=z_mean, scale=scale, explained=explained)


def _activations(generate: Generate, z: torch.Tensor, layer: torch.nn.Module | None, batch_size: int) -> np.ndarray:
    captured: list[torch.Tensor] = []
    hook = None
    if layer is not None:
        hook = layer.register_forward_hook(lambda _module, _inputs, output: captured.append(output.detach()))
    outputs = []
    try:
        for start in range(0, z.shape[0], batch_size):
            out = generate(z[start:start + batch_size])
            outputs.append((captured.pop() if layer is not None else out).flatten(1).double().cpu())
    finally:
        if hook is not None:
            hook.remove()
    return torch.cat(outputs).numpy()


def generator_of(model: Any, *, label: int | None = None) -> tuple[Generate, int]:
    """The latent → picture map of a loaded GAN (``model.generator``) or VAE (``model.decode``) and
    its latent size. A conditional model draws class ``label``, or cycles through its classes when
    ``label`` is None.
    """
    kinds: dict[str, Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]] = {
        "gan": lambda z, y: model.generator(z, y),
        "vae": lambda z, y: model.decode(z, y),
    }
    kind = getattr(model, "kind", type(model).__name__)
    if kind not in kinds:
        raise choose_one("kind of image generator", kind, kinds)
    num_classes = model.config.num_classes
    if label is not None and not (num_classes and 0 <= label < num_classes):
        allowed = f"0..{num_classes - 1}" if num_classes else "none (this model is unconditional)"
        raise AtelierError(f"label={label}; not a class of this {kind}; allowed: {allowed}")
    device = next(model.parameters()).device
    decode = kinds[kind]

    def generate(z: torch.Tensor) -> torch.Tensor:
        labels = None
        if num_classes:
            labels = torch.arange(z.shape[0], device=device) % num_classes if label is None else \
                torch.full((z.shape[0],), label, dtype=torch.long, device=device)
        return decode(z.to(device), labels)

    return generate, int(model.config.z_dim)


def early_layer(model: Any) -> torch.nn.Module:
    """The first activation module of a GAN's generator or a VAE's decoder (right after its first
    layer), where GANSpace takes its PCA (Härkönen et al. 2020, §2.2, use BigGAN's first linear
    layer)."""
    networks: dict[str, Callable[[], torch.nn.Module]] = {
        "gan": lambda: model.generator,
        "vae": lambda: model.vae.decoder,
    }
    kind = getattr(model, "kind", type(model).__name__)
    if kind not in networks:
        raise choose_one("kind of image generator", kind, networks)
    for module in networks[kind]().modules():
        if isinstance(module, (torch.nn.ReLU, torch.nn.LeakyReLU)):
            return module
    raise AtelierError(f"this {kind}'s generator network has no activation layer to take the PCA on; pass layer=None")
