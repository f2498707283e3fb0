"""A small CNN digit classifier whose penultimate layer is Atelier's image-metric feature space.

FID, KID, Inception Score and precision/recall are usually computed with Inception-v3 trained on
ImageNet. For 28×28 greyscale digits that network is both out of domain and far too heavy for a
CPU, so Atelier measures generated images with this classifier instead: ``features(x)`` plays the
role of Inception's pool features and ``softmax(forward(x))`` that of its class probabilities.
Numbers computed this way are only comparable with other numbers from the same trained classifier.

The network (two conv blocks, one hidden layer) is the classic MNIST CNN; trained for ~1,500 steps
on 4,000 MNIST digits it reaches ≥97% held-out accuracy. It trains through the one loop,
:func:`atelier.training.fit`, as :class:`ClassifierTask`.

Example:
    >>> import torch
    >>> from atelier.images.classifier import ClassifierConfig, DigitClassifier
    >>> model = DigitClassifier(ClassifierConfig(channels=(8, 16), feature_dim=32))
    >>> x = torch.rand(4, 1, 28, 28) * 2 - 1
    >>> model(x).shape, model.features(x).shape
    (torch.Size([4, 10]), torch.Size([4, 32]))
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset

from atelier.data import fingerprint
from atelier.errors import AtelierError
from atelier.training import TrainConfig, fit

KIND = "classifier"  # the checkpoint kind of a trained classifier
IMAGE_SIZE = 28  # the network always sees 28×28; other sizes are resized in `prepare_images`
# ITU-R BT.601 luma weights, the usual RGB → grey conversion (PIL's "L" mode uses the same).
_LUMA = (0.299, 0.587, 0.114)


# ---------------------------------------------------------------------------------------------
# Parts


def prepare_images(x: torch.Tensor) -> torch.Tensor:
    """Bring any image batch in [-1, 1] to the classifier's input: greyscale, 28×28.

    (N, 1 or 3, H, W) → (N, 1, 28, 28). RGB becomes grey by BT.601 luma; other sizes are resized
    bilinearly (antialiased when shrinking, so thin strokes are averaged rather than skipped).

    >>> prepare_images(torch.zeros(2, 3, 64, 64)).shape
    torch.Size([2, 1, 28, 28])
    """
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise AtelierError(
            f"images have shape {tuple(x.shape)}; expected (N, 1, H, W) greyscale or (N, 3, H, W) RGB"
        )
    x = x.float()
    if x.shape[1] == 3:
        luma = torch.tensor(_LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        x = (x * luma).sum(dim=1, keepdim=True)  # (N, 1, H, W)
    if x.shape[-2:] != (IMAGE_SIZE, IMAGE_SIZE):
        shrinking = min(x.shape[-2:]) > IMAGE_SIZE
        x = F.interpolate(x, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear",
                          align_corners=False, antialias=shrinking)
    return x


def random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Translate each image by its own random (dy, dx) in [-max_shift, max_shift], filling with -1.

    Padding with the background value and cropping (rather than ``torch.roll``) keeps strokes from
    wrapping around the border. (N, 1, H, W) → (N, 1, H, W).
    """
    if max_shift == 0:
        return x
    n, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4, value=-1.0)  # (N, 1, H+2s, W+2s)
    dy, dx = torch.randint(0, 2 * max_shift + 1, (2, n), generator=generator)
    rows = (dy[:, None] + torch.arange(h))[:, :, None]  # (N, H, 1)
    cols = (dx[:, None] + torch.arange(w))[:, None, :]  # (N, 1, W)
    batch = torch.arange(n)[:, None, None]  # (N, 1, 1)
    return padded[batch, 0, rows, cols].unsqueeze(1)  # (N, 1, H, W)


# ---------------------------------------------------------------------------------------------
# Config


@dataclass(frozen=True)
class ClassifierConfig:
    channels: tuple[int, int] = (32, 64)  # conv widths of the two 3×3 blocks (28→14→7)
    feature_dim: int = 128  # width of the penultimate layer = metric feature size
    num_classes: int = 10
    dropout: float = 0.25  # before the last layer only, so `features` is unaffected
    max_shift: int = 2  # training augmentation: random translation in pixels

    def __post_init__(self) -> None:
        if len(self.channels) != 2 or min(self.channels) < 1:
            raise AtelierError(f"channels {self.channels!r}; expected two positive conv widths")
        if self.feature_dim < 1 or self.num_classes < 2:
            raise AtelierError(
                f"feature_dim={self.feature_dim}, num_classes={self.num_classes}; "
                "need feature_dim >= 1 and num_classes >= 2"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise AtelierError(f"dropout={self.dropout}; allowed range is [0, 1)")
        if not 0 <= self.max_shift < IMAGE_SIZE // 2:
            raise AtelierError(f"max_shift={self.max_shift}; allowed range is 0..{IMAGE_SIZE // 2 - 1}")


# ---------------------------------------------------------------------------------------------
# Model


class DigitClassifier(nn.Module):
    """conv-relu-pool ×2 → linear-relu (features) → dropout → linear (logits)."""

    def __init__(self, config: ClassifierConfig = ClassifierConfig()) -> None:
        super().__init__()
        self.config = config
        c1, c2 = config.channels
        self.body = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (N, c1, 14, 14)
            nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (N, c2, 7, 7)
            nn.Flatten(),  # (N, c2*49)
            nn.Linear(c2 * 7 * 7, config.feature_dim), nn.ReLU(),  # (N, feature_dim)
        )
        # Public so metrics can turn features into logits without a second pass through `body`.
        self.head = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(config.feature_dim, config.num_classes))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate activations, (N, C, H, W) in [-1, 1] → (N, feature_dim)."""
        return self.body(prepare_images(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits, (N, C, H, W) in [-1, 1] → (N, num_classes)."""
        return self.head(self.features(x))


# ---------------------------------------------------------------------------------------------
# Training


class ClassifierTask:
    """The classifier for :func:`atelier.training.fit`: module and Adam ``classifier``, its learning
    rate decayed to 0 along a cosine over ``num_steps``."""

    kind = KIND

    def __init__(self, config: ClassifierConfig, *, lr: float, num_steps: int) -> None:
        self.config = config
        self.net = DigitClassifier(config)
        self.modules: dict[str, nn.Module] = {"classifier": self.net}
        optimizer = torch.optim.Adam(self.net.parameters(), lr=lr)
        self.optimizers = {"classifier": optimizer}
        # Cosine decay to 0: measured 97.7% → 98.0% held-out on 1,000 MNIST digits (seed 0).
        self.schedulers = {"classifier": torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=num_steps)}

    def train_step(self, batch: tuple[torch.Tensor, torch.Tensor], ctx: Any) -> dict[str, float]:
        """One Adam step on cross-entropy(model(shift(x)), y), each image shifted by its own random offset."""
        x, y = batch  # (B, 1, 28, 28) in [-1, 1], (B,)
        x = random_shift(x, self.config.max_shift, ctx.generator)
        logits = self.net(x)  # (B, num_classes)
        loss = F.cross_entropy(logits, y)
        ctx.optimize("classifier", loss)
        return {"loss": loss.item(), "accuracy": (logits.argmax(dim=1) == y).float().mean().item()}


def build_task(config: ClassifierConfig, *, lr: float = 1e-3, num_steps: int, seed: int = 0) -> ClassifierTask:
    """The training task, its weights initialised from ``seed``.

    >>> task = build_task(ClassifierConfig(channels=(4, 8), feature_dim=16), num_steps=10)
    >>> sorted(task.modules), sorted(task.schedulers)
    (['classifier'], ['classifier'])
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return ClassifierTask(config, lr=lr, num_steps=num_steps)


@dataclass
class ClassifierHistory:
    """Per-step training loss and batch accuracy of :func:`train_classifier`."""

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)


def _check_labelled_images(images: torch.Tensor, labels: torch.Tensor, num_classes: int) -> None:
    if images.ndim != 4 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise AtelierError(
            f"images {tuple(images.shape)} and labels {tuple(labels.shape)}; "
            "expected images (N, C, H, W) and labels (N,) with the same N"
        )
    if images.shape[0] == 0:
        raise AtelierError("images is empty; need at least one labelled image")
    if labels.dtype.is_floating_point or labels.min() < 0 or labels.max() >= num_classes:
        raise AtelierError(f"labels must be integers in 0..{num_classes - 1}")
    if not torch.isfinite(images).all() or images.min() < -1.0 or images.max() > 1.0:
        raise AtelierError("images must be finite and scaled to [-1, 1]")


def train_classifier(
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    config: ClassifierConfig = ClassifierConfig(),
    num_steps: int = 1500,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = True,
    out_dir: str | os.PathLike | None = None,
) -> tuple[DigitClassifier, ClassifierHistory]:
    """Train a :class:`DigitClassifier` with Adam (cosine-decayed ``lr``) on cross-entropy, with
    random-shift augmentation, through :func:`atelier.training.fit`.

    ``images`` is (N, 1 or 3, H, W) in [-1, 1], ``labels`` (N,) integer classes. Batches are the
    loop's seeded reshuffles of the data each epoch. The run (checkpoint, losses) goes to
    ``out_dir``, or to a temporary folder that is removed afterwards; the returned model is in
    eval mode.

    >>> import torch
    >>> x, y = torch.rand(32, 1, 28, 28) * 2 - 1, torch.arange(32) % 10
    >>> model, history = train_classifier(x, y, config=ClassifierConfig(channels=(4, 8), feature_dim=16),
    ...                                   num_steps=3, batch_size=8, progress=False)
    >>> len(history.loss)
    3
    """
    # 1. Check inputs.
    images, labels = torch.as_tensor(images), torch.as_tensor(labels)
    _check_labelled_images(images, labels, config.num_classes)
    if num_steps < 1 or batch_size < 1 or lr <= 0:
        raise AtelierError(
            f"num_steps={num_steps}, batch_size={batch_size}, lr={lr}; all must be positive"
        )
    # 2. The task and the data: resized once, not every step.
    task = build_task(config, lr=lr, num_steps=num_steps, seed=seed)
    inputs, labels = prepare_images(images), labels.long()  # (N, 1, 28, 28), (N,)
    loop = TrainConfig(num_steps=num_steps, batch_size=min(batch_size, len(labels)), seed=seed, device=device,
                       log_every=1, sample_every=0, eval_every=0, checkpoint_every=0, tensorboard=False,
                       progress=progress)
    # 3. The loop: every step logged.
    folder = tempfile.TemporaryDirectory() if out_dir is None else contextlib.nullcontext(out_dir)
    with folder as out:
        result = fit(task, TensorDataset(inputs, labels), config=loop, out_dir=out,
                     data_fingerprint=fingerprint(inputs, labels))
    history = ClassifierHistory(loss=[h["loss"] for h in result.history],
                                accuracy=[h["accuracy"] for h in result.history])
    return task.net.cpu().eval(), history


@torch.no_grad()
def accuracy(model: DigitClassifier, images: torch.Tensor, labels: torch.Tensor, *, batch_size: int = 256) -> float:
    """Fraction of ``images`` whose argmax class equals ``labels``, evaluated in eval mode.

    >>> import torch
    >>> model = DigitClassifier(ClassifierConfig(channels=(4, 8), feature_dim=16))
    >>> 0.0 <= accuracy(model, torch.zeros(5, 1, 28, 28), torch.zeros(5, dtype=torch.long)) <= 1.0
    True
    """
    images, labels = torch.as_tensor(images), torch.as_tensor(labels)
    _check_labelled_images(images, labels, model.config.num_classes)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    correct = 0
    for start in range(0, images.shape[0], batch_size):
        logits = model(images[start:start + batch_size].to(device))  # (B, num_classes)
        correct += (logits.argmax(dim=1).cpu() == labels[start:start + batch_size]).sum().item()
    model.train(was_training)
    return correct / images.shape[0]
