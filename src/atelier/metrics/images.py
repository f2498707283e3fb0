"""Sample-quality metrics for generated images: Fréchet distance, KID, Inception Score, precision/recall.

All four are computed in the feature space of one of two networks, never Inception-v3's:

* digits (grey images): Atelier's own :class:`~atelier.images.classifier.DigitClassifier`, its
  penultimate layer standing in for Inception's pool features and its softmax for Inception's
  class probabilities (:func:`evaluate_images`);
* RGB images: EfficientNet-Lite0 with ImageNet weights (:mod:`atelier.style.efficientnet`), its
  average-pooled 1280-d head for the features and the softmax of its 1,000 ImageNet classes for
  the Inception Score, on images resized to the 224 px it was trained at (:func:`evaluate_rgb_images`).

The numbers are therefore **not comparable with Inception FID/KID/IS** reported in papers, nor
between the two feature spaces, nor between two different trained classifiers; they are
meaningful for comparing models scored in the same space. That is also why ``frechet_distance``
is not called FID here.

The metric functions take plain ``numpy`` arrays (computed in float64) so they work on any
features; :func:`evaluate_images` and :func:`evaluate_rgb_images` run their network over two
image batches and compute them all.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(size=(500, 8)), rng.normal(size=(500, 8)) + 1.0
    >>> round(frechet_distance(a, a), 6)
    0.0
    >>> frechet_distance(a, b) > 7.0  # close to ||mu_a - mu_b||^2 = 8
    True
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm
from scipy.special import rel_entr

from atelier.errors import AtelierError
from atelier.images.classifier import DigitClassifier
from atelier.style.efficientnet import build_efficientnet_lite0, preprocess
from atelier.training.loop import resolve_device

# Pairwise-distance blocks hold at most this many float64 entries (64 MiB), so precision/recall
# on 10k × 10k features never materialises the full 800 MB matrix.
_MAX_BLOCK_ENTRIES = 1 << 23

LITE0_SIZE = 224  # the side EfficientNet-Lite0 was trained at; RGB images are resized to it
LITE0_NOTE = ("FD/KID/precision/recall are measured in EfficientNet-Lite0's pooled 1280-d ImageNet features "
              "(images resized to 224 px), IS over its 1,000 ImageNet classes; they are not comparable with "
              "Inception-based FID, nor with the digit classifier's numbers.")  # for evaluation reports


# ---------------------------------------------------------------------------------------------
# Input checks


def _as_features(name: str, feat: np.ndarray, min_samples: int) -> np.ndarray:
    """Validate one (N, D) feature array and return it as float64."""
    feat = np.asarray(feat, dtype=np.float64)
    if feat.ndim != 2:
        raise AtelierError(f"{name} has shape {feat.shape}; expected a 2-D (num_samples, feature_dim) array")
    if feat.shape[0] < min_samples:
        raise AtelierError(f"{name} has {feat.shape[0]} samples; this metric needs at least {min_samples}")
    if not np.isfinite(feat).all():
        raise AtelierError(f"{name} contains NaN or infinite values; all features must be finite")
    return feat


def _as_feature_pair(feat_a: np.ndarray, feat_b: np.ndarray, min_samples: int,
                     names: tuple[str, str] = ("feat_a", "feat_b")) -> tuple[np.ndarray, np.ndarray]:
    a = _as_features(names[0], feat_a, min_samples)
    b = _as_features(names[1], feat_b, min_samples)
    if a.shape[1] != b.shape[1]:
        raise AtelierError(
            f"{names[0]} has feature_dim {a.shape[1]} but {names[1]} has {b.shape[1]}; they must match"
        )
    return a, b


# ---------------------------------------------------------------------------------------------
# Fréchet distance (Heusel et al. 2017, "GANs trained by a two time-scale update rule")


def _covariance_factor(feat: np.ndarray) -> np.ndarray:
    """A matrix F with Fᵀ F = Σ, the unbiased sample covariance of ``feat`` (N, D), and at most
    min(N, D) rows: the centred samples / √(N − 1) when N ≤ D (Σ then has rank < N), else the
    symmetric root from an eigendecomposition, √Λ Vᵀ (D, D)."""
    n, d = feat.shape
    centred = feat - feat.mean(axis=0)
    if n <= d:
        return centred / np.sqrt(n - 1)
    w, v = np.linalg.eigh(centred.T @ centred / (n - 1))
    return (v * np.sqrt(np.clip(w, 0.0, None))).T


def frechet_distance(feat_a: np.ndarray, feat_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets — the FID formula.

    d² = ||μ_a − μ_b||² + Tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^½), with Σ the unbiased sample covariances.

    The trace of the root is not taken from ``scipy.linalg.sqrtm(Σ_a Σ_b)``: that product is not
    symmetric, and when a covariance is singular — fewer samples than feature dimensions, or dead
    ReLU features — sqrtm returns sizeable imaginary parts and, on 1,280-d features, can take a
    minute. Instead, with factors Σ = Fᵀ F (see ``_covariance_factor``), the eigenvalues of
    Σ_a Σ_b are those of (F_a F_bᵀ)(F_a F_bᵀ)ᵀ, so Tr((Σ_a Σ_b)^½) is the sum of the singular values
    of F_a F_bᵀ: real, exact for singular covariances, and a problem of at most min(N, D)² entries.
    The result is clipped at 0, since rounding can make the distance of a set to itself −1e-12.

    feat_a: (N_a, D), feat_b: (N_b, D), with N_a, N_b ≥ 2.

    >>> import numpy as np
    >>> a = np.random.default_rng(0).normal(size=(100, 4))
    >>> round(frechet_distance(a, a + [3.0, 0, 0, 0]), 6)  # shifting the mean by 3 adds 3² = 9
    9.0
    """
    a, b = _as_feature_pair(feat_a, feat_b, min_samples=2)
    f_a, f_b = _covariance_factor(a), _covariance_factor(b)  # (≤ min(N, D), D) each
    trace_root = np.linalg.svd(f_a @ f_b.T, compute_uv=False).sum()  # Tr((Σ_a Σ_b)^½)
    diff = a.mean(axis=0) - b.mean(axis=0)  # (D,)
    distance = diff @ diff + (f_a * f_a).sum() + (f_b * f_b).sum() - 2.0 * trace_root  # Tr Σ = ||F||²
    return float(max(distance, 0.0))


# ---------------------------------------------------------------------------------------------
# Kernel Inception Distance (Bińkowski et al. 2018, "Demystifying MMD GANs")


def _polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """k(x, y) = (xᵀy / D + 1)³, the kernel of Bińkowski et al. 2018. (m, D), (n, D) → (m, n)."""
    t = x @ y.T / x.shape[1] + 1.0
    return t * t * t


def kernel_inception_distance(
    feat_a: np.ndarray,
    feat_b: np.ndarray,
    *,
    num_subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """Kernel distance: unbiased MMD² with a cubic polynomial kernel, averaged over random subsets.

    For each of ``num_subsets`` draws, ``m`` samples are taken without replacement from each set and

        MMD² = Σ_{i≠j} k(a_i, a_j) / m(m−1) + Σ_{i≠j} k(b_i, b_j) / m(m−1) − 2 Σ_{i,j} k(a_i, b_j) / m²

    Returns ``(mean, std)`` over the subsets. ``m`` is ``subset_size`` clipped to the smaller set,
    so small evaluations still work (with a noisier estimate). Being unbiased, the estimate can be
    slightly negative when both sets come from the same distribution.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> same = kernel_inception_distance(rng.normal(size=(200, 8)), rng.normal(size=(200, 8)), num_subsets=10)
    >>> shifted = kernel_inception_distance(rng.normal(size=(200, 8)), rng.normal(size=(200, 8)) + 1, num_subsets=10)
    >>> abs(same[0]) < 0.05 < shifted[0]
    True
    """
    a, b = _as_feature_pair(feat_a, feat_b, min_samples=2)
    if num_subsets < 1 or subset_size < 2:
        raise AtelierError(f"num_subsets={num_subsets}, subset_size={subset_size}; need num_subsets >= 1 and subset_size >= 2")
    m = min(subset_size, a.shape[0], b.shape[0])
    rng = np.random.default_rng(seed)

    # Up to a few thousand samples, the kernels of the whole sets are computed once and each subset
    # only indexes them (O(m²) a subset instead of O(m²·D)); beyond that memory would grow as n².
    full = max(a.shape[0], b.shape[0]) <= 4096
    if full:
        full_aa, full_bb, full_ab = _polynomial_kernel(a, a), _polynomial_kernel(b, b), _polynomial_kernel(a, b)
    estimates = np.empty(num_subsets)
    for s in range(num_subsets):
        i = rng.choice(a.shape[0], m, replace=False)
        j = rng.choice(b.shape[0], m, replace=False)
        if full:
            k_xx, k_yy, k_xy = full_aa[np.ix_(i, i)], full_bb[np.ix_(j, j)], full_ab[np.ix_(i, j)]
        else:
            k_xx, k_yy, k_xy = _polynomial_kernel(a[i], a[i]), _polynomial_kernel(b[j], b[j]), _polynomial_kernel(a[i], b[j])
        within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
        estimates[s] = within - 2.0 * k_xy.sum() / (m * m)
    return float(estimates.mean()), float(estimates.std())


# ---------------------------------------------------------------------------------------------
# Inception Score (Salimans et al. 2016, "Improved techniques for training GANs")


def inception_score(probs: np.ndarray, *, splits: int = 10) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) || p(y))), computed on ``splits`` equal chunks; returns ``(mean, std)``.

    ``probs`` is (N, num_classes), each row a probability vector (classifier softmax). The score
    runs from 1 (every sample gets the same prediction) to ``num_classes`` (confident predictions
    spread evenly over the classes). p(y) is estimated within each chunk, as in the original code.

    >>> import numpy as np
    >>> mean, std = inception_score(np.eye(10)[np.arange(100) % 10], splits=10)
    >>> round(mean, 6), round(std, 6)
    (10.0, 0.0)
    """
    p = _as_features("probs", probs, min_samples=1)
    if (p < 0).any() or not np.allclose(p.sum(axis=1), 1.0, atol=1e-4):
        raise AtelierError("probs rows must be non-negative and sum to 1 (pass softmax outputs, not logits)")
    if not 1 <= splits <= p.shape[0]:
        raise AtelierError(f"splits={splits}; allowed range is 1..{p.shape[0]} (the number of samples)")

    scores = []
    for part in np.array_split(p, splits):  # (~N/splits, C) each
        marginal = part.mean(axis=0, keepdims=True)  # p(y), (1, C)
        kl = rel_entr(part, marginal).sum(axis=1).mean()  # rel_entr treats 0·log 0 as 0
        scores.append(np.exp(kl))
    return float(np.mean(scores)), float(np.std(scores))


# ---------------------------------------------------------------------------------------------
# Improved precision and recall (Kynkäänniemi et al. 2019)


def _row_blocks(num_rows: int, num_cols: int) -> range:
    """Start indices of row blocks that keep a (block, num_cols) float64 matrix within budget."""
    return range(0, num_rows, max(1, _MAX_BLOCK_ENTRIES // max(num_cols, 1)))


def _squared_distances(x: np.ndarray, y: np.ndarray, y_sq: np.ndarray) -> np.ndarray:
    """||x_i − y_j||², (m, D), (n, D) → (m, n), via ||x||² − 2xᵀy + ||y||², clipped at 0."""
    d = (x * x).sum(axis=1)[:, None] - 2.0 * (x @ y.T) + y_sq[None, :]
    return np.maximum(d, 0.0)


def _knn_radii(feat: np.ndarray, k: int) -> np.ndarray:
    """Squared distance from each sample to its k-th nearest other sample, (N, D) → (N,)."""
    sq = (feat * feat).sum(axis=1)
    radii = np.empty(feat.shape[0])
    step = _row_blocks(feat.shape[0], feat.shape[0]).step
    for start in range(0, feat.shape[0], step):
        d = _squared_distances(feat[start:start + step], feat, sq)  # (block, N)
        # Index k, not k-1: each row's smallest entry is the sample's zero distance to itself.
        radii[start:start + step] = np.partition(d, k, axis=1)[:, k]
    return radii


def _coverage(manifold: np.ndarray, radii: np.ndarray, queries: np.ndarray) -> float:
    """Fraction of ``queries`` inside at least one ball (manifold_i, radius_i)."""
    sq = (manifold * manifold).sum(axis=1)
    inside = 0
    step = _row_blocks(queries.shape[0], manifold.shape[0]).step
    for start in range(0, queries.shape[0], step):
        d = _squared_distances(queries[start:start + step], manifold, sq)  # (block, N_manifold)
        inside += int((d <= radii[None, :]).any(axis=1).sum())
    return inside / queries.shape[0]


def precision_recall(real_feat: np.ndarray, fake_feat: np.ndarray, *, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall of Kynkäänniemi et al. 2019; returns ``(precision, recall)``.

    Each set's manifold is the union of balls around its samples, each ball reaching the sample's
    k-th nearest neighbour in the same set. Precision is the fraction of fake samples inside the
    real manifold (are samples realistic?); recall is the fraction of real samples inside the
    fake manifold (is the variety covered?). Distances are computed in row blocks, so memory stays
    bounded (~64 MiB per block) for 10k × 10k sets.

    >>> import numpy as np
    >>> real = np.random.default_rng(0).normal(size=(300, 4))
    >>> precision_recall(real, real)
    (1.0, 1.0)
    >>> precision_recall(real, real + 100.0)
    (0.0, 0.0)
    """
    if k < 1:
        raise AtelierError(f"k={k}; the neighbourhood size must be at least 1")
    real, fake = _as_feature_pair(real_feat, fake_feat, min_samples=k + 1, names=("real_feat", "fake_feat"))
    precision = _coverage(real, _knn_radii(real, k), fake)
    recall = _coverage(fake, _knn_radii(fake, k), real)
    return precision, recall


# ---------------------------------------------------------------------------------------------
# All metrics on images


@dataclass(frozen=True)
class ImageMetrics:
    """Every image metric at once, all in one network's feature space: the digit classifier's
    (:func:`evaluate_images`) or EfficientNet-Lite0's (:func:`evaluate_rgb_images`); see the module docstring."""

    fd: float  # Fréchet distance, lower is better
    kid_mean: float  # kernel distance (unbiased MMD²), lower is better
    kid_std: float
    is_mean: float  # Inception Score, 1..num_classes (10 digits or 1,000 ImageNet classes), higher is better
    is_std: float
    precision: float  # fraction of fakes on the real manifold, 0..1
    recall: float  # fraction of reals on the fake manifold, 0..1

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def _check_images(name: str, images: torch.Tensor, *, min_images: int = 2, low: float = -1.0) -> torch.Tensor:
    """Check (N, 1 or 3, H, W) images with values in [low, 1]: low is -1, or 0 for Lite0's inputs."""
    images = torch.as_tensor(images)
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise AtelierError(f"{name} has shape {tuple(images.shape)}; expected (N, 1 or 3, H, W)")
    if images.shape[0] < min_images:
        raise AtelierError(f"{name} has {images.shape[0]} images; the metrics need at least {min_images}")
    if not torch.isfinite(images).all():
        raise AtelierError(f"{name} contains NaN or infinite values")
    # A little slack for float rounding; [0, 255] images would give meaningless numbers.
    if images.min() < low - 0.001 or images.max() > 1.001:
        hint = " (Atelier's image models give [-1, 1]: pass (x + 1) / 2)" if low == 0 else ""
        raise AtelierError(
            f"{name} has values in [{images.min().item():.3g}, {images.max().item():.3g}]; "
            f"images must be scaled to [{low:g}, 1]{hint}"
        )
    return images


@torch.no_grad()
def classifier_outputs(classifier: DigitClassifier, images: torch.Tensor, *,
                       batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Features (N, feature_dim) and softmax probabilities (N, num_classes) as float64 arrays.

    >>> from atelier.images.classifier import ClassifierConfig
    >>> clf = DigitClassifier(ClassifierConfig(channels=(4, 8), feature_dim=16))
    >>> feats, probs = classifier_outputs(clf, torch.zeros(3, 1, 28, 28))
    >>> feats.shape, probs.shape
    ((3, 16), (3, 10))
    """
    was_training = classifier.training
    classifier.eval()
    device = next(classifier.parameters()).device
    feats, probs = [], []
    for start in range(0, images.shape[0], batch_size):
        f = classifier.features(images[start:start + batch_size].to(device))  # (B, feature_dim)
        feats.append(f.double().cpu())
        probs.append(torch.softmax(classifier.head(f).double(), dim=1).cpu())  # (B, num_classes)
    classifier.train(was_training)
    return torch.cat(feats).numpy(), torch.cat(probs).numpy()


def evaluate_images(
    fake_images: torch.Tensor,
    real_images: torch.Tensor,
    classifier: DigitClassifier,
    *,
    batch_size: int = 256,
) -> ImageMetrics:
    """Score generated images against real ones with every metric in this module.

    Both batches are (N, 1 or 3, H, W) in [-1, 1]; RGB and other sizes are converted by the
    classifier. KID uses subsets of up to 1,000, IS up to 10 splits, precision/recall k=3; use at
    least a few thousand images of each for stable numbers.

    >>> import torch
    >>> from atelier.images.classifier import ClassifierConfig
    >>> clf = DigitClassifier(ClassifierConfig(channels=(4, 8), feature_dim=16))
    >>> real = torch.rand(20, 1, 28, 28) * 2 - 1
    >>> metrics = evaluate_images(real, real, clf)
    >>> metrics.precision, metrics.recall
    (1.0, 1.0)
    """
    return _all_metrics(*_digit_outputs(fake_images, real_images, classifier, batch_size))


def _digit_outputs(fake_images: torch.Tensor, real_images: torch.Tensor, classifier: DigitClassifier,
                   batch_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The checked inputs' classifier outputs: fake features, fake probabilities, real features."""
    # 1. check inputs
    fake_images = _check_images("fake_images", fake_images)
    real_images = _check_images("real_images", real_images)
    if batch_size < 1:
        raise AtelierError(f"batch_size={batch_size}; must be at least 1")
    # 2. features and class probabilities in the classifier's space
    fake_feat, fake_probs = classifier_outputs(classifier, fake_images, batch_size=batch_size)
    real_feat, _ = classifier_outputs(classifier, real_images, batch_size=batch_size)
    return fake_feat, fake_probs, real_feat


CONFIDENT = 0.9  # the class probability above which a digit counts as readable


def readability(probs: np.ndarray, labels: Any = None) -> dict[str, float]:
    """How readable digits are, from the classifier's probabilities (N, 10): ``confident_share``,
    the share given ≥ 0.9 to one class, and with ``labels`` (the classes asked for)
    ``label_accuracy``, the share read as the asked-for class.

    >>> readability(np.array([[0.95, 0.05], [0.6, 0.4]]), [0, 1])
    {'confident_share': 0.5, 'label_accuracy': 0.5}
    """
    out = {"confident_share": float((probs.max(axis=1) >= CONFIDENT).mean())}
    if labels is not None:
        out["label_accuracy"] = float((probs.argmax(axis=1) == torch.as_tensor(labels).numpy()).mean())
    return out


def evaluate_digits(fake_images: torch.Tensor, real_images: torch.Tensor, classifier: DigitClassifier,
                    labels: Any = None, *, batch_size: int = 256) -> dict[str, float]:
    """:func:`evaluate_images` and :func:`readability` of the fakes, their classifier outputs computed
    once: what a grey digit model is scored by."""
    fake_feat, fake_probs, real_feat = _digit_outputs(fake_images, real_images, classifier, batch_size)
    return {**_all_metrics(fake_feat, fake_probs, real_feat).to_dict(), **readability(fake_probs, labels)}


def _all_metrics(fake_feat: np.ndarray, fake_probs: np.ndarray, real_feat: np.ndarray) -> ImageMetrics:
    """Every metric from the fakes' features and class probabilities and the reals' features."""
    kid_mean, kid_std = kernel_inception_distance(fake_feat, real_feat)
    is_mean, is_std = inception_score(fake_probs, splits=min(10, fake_probs.shape[0]))
    k = min(3, fake_feat.shape[0] - 1, real_feat.shape[0] - 1)
    precision, recall = precision_recall(real_feat, fake_feat, k=k)
    return ImageMetrics(
        fd=frechet_distance(fake_feat, real_feat),
        kid_mean=kid_mean,
        kid_std=kid_std,
        is_mean=is_mean,
        is_std=is_std,
        precision=precision,
        recall=recall,
    )


# ---------------------------------------------------------------------------------------------
# RGB images: EfficientNet-Lite0's feature space


@functools.lru_cache(maxsize=None)
def _lite0(device: torch.device):
    """The pretrained, frozen EfficientNet-Lite0 on ``device``, built once per process and device."""
    net = build_efficientnet_lite0().to(device)
    # Channels-last runs the depthwise convolutions about 1.6× faster on a CPU; same numbers.
    return net.to(memory_format=torch.channels_last)


@torch.no_grad()
def lite0_outputs(images: torch.Tensor, *, batch_size: int = 64, size: int = LITE0_SIZE,
                  device: str | torch.device | None = None, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """EfficientNet-Lite0's pooled head features (N, 1280) and ImageNet softmax (N, 1000), float64.

    ``images`` are (N, 1 or 3, H, W) in **[0, 1]**, as in :mod:`atelier.style` and
    :func:`atelier.style.efficientnet.preprocess`; samples of Atelier's image models and
    :meth:`~atelier.data.images.ImageDataset.get_batch` are in [-1, 1], so pass ``(x + 1) / 2``
    (:func:`evaluate_rgb_images` takes [-1, 1] and does that itself); other ranges are refused.
    Grey images are repeated to three channels. Each batch is resized to ``size`` × ``size``
    (antialiased bilinear; non-square images are stretched) and scaled as the network expects.
    ``device`` defaults to the best available (CUDA, then Apple's MPS, then the CPU); at 224 px one CPU core takes about
    0.06 s an image.

    >>> import torch
    >>> feats, probs = lite0_outputs(torch.zeros(2, 1, 28, 28), size=64)
    >>> feats.shape, probs.shape, bool(abs(probs.sum(axis=1) - 1).max() < 1e-9)
    ((2, 1280), (2, 1000), True)
    """
    images = _check_images("images", images, min_images=1, low=0.0)
    if batch_size < 1 or size < 1:
        raise AtelierError(f"batch_size={batch_size}, size={size}; both must be at least 1")
    device = resolve_device("auto") if device is None else torch.device(device)
    net = _lite0(device)
    feats, probs = [], []
    starts = range(0, images.shape[0], batch_size)
    for start in tqdm(starts, desc="EfficientNet-Lite0 features", unit="batch", disable=None if progress else True, leave=False):
        x = images[start:start + batch_size].to(device, torch.float32).expand(-1, 3, -1, -1)  # grey → RGB
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        f = net.pooled(preprocess(x).contiguous(memory_format=torch.channels_last))  # (B, 1280)
        feats.append(f.double().cpu())
        probs.append(torch.softmax(net._fc(f).double(), dim=1).cpu())  # (B, 1000) ImageNet classes
    return torch.cat(feats).numpy(), torch.cat(probs).numpy()


def lite0_features(images: torch.Tensor, *, batch_size: int = 64, size: int = LITE0_SIZE,
                   device: str | torch.device | None = None, progress: bool = False) -> np.ndarray:
    """EfficientNet-Lite0's 1280-d pooled head features of images (N, 1 or 3, H, W) in [0, 1].

    The features of :func:`lite0_outputs`, without the class probabilities: (N, 1280) float64.

    >>> import torch
    >>> lite0_features(torch.zeros(3, 3, 32, 32), size=64).shape
    (3, 1280)
    """
    return lite0_outputs(images, batch_size=batch_size, size=size, device=device, progress=progress)[0]


def evaluate_rgb_images(
    fake_images: torch.Tensor,
    real_images: torch.Tensor,
    *,
    batch_size: int = 64,
    size: int = LITE0_SIZE,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> ImageMetrics:
    """Score generated RGB images against real ones in EfficientNet-Lite0's feature space.

    Both batches are (N, 1 or 3, H, W) in [-1, 1], as :func:`evaluate_images` and the image
    models' samples, of any size (mapped to [0, 1] for :func:`lite0_outputs`). FD, KID
    and precision/recall use the 1280-d pooled head features; the Inception Score uses the softmax
    over Lite0's 1,000 ImageNet classes, so it runs from 1 to 1,000 — a sharp, varied ImageNet
    prediction, which pictures outside ImageNet's classes (faces, paintings) need not get. KID uses
    subsets of up to 1,000, IS up to 10 splits, precision/recall k=3; the features have 1,280
    dimensions, so FD needs a few thousand images of each to be stable.

    >>> import torch
    >>> real = torch.rand(8, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    >>> metrics = evaluate_rgb_images(real, real, size=64)
    >>> metrics.precision, metrics.recall, round(metrics.fd, 6)
    (1.0, 1.0, 0.0)
    """
    fake_images = _check_images("fake_images", fake_images)
    real_images = _check_images("real_images", real_images)
    settings = {"batch_size": batch_size, "size": size, "device": device, "progress": progress}
    fake_feat, fake_probs = lite0_outputs(((fake_images + 1) / 2).clamp(0, 1), **settings)  # [-1, 1] → [0, 1]
    real_feat = lite0_features(((real_images + 1) / 2).clamp(0, 1), **settings)
    return _all_metrics(fake_feat, fake_probs, real_feat)
