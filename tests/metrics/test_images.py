import numpy as np
import pytest
import torch

from atelier.errors import AtelierError
from atelier.images.classifier import ClassifierConfig, DigitClassifier
from atelier.metrics.images import (
    ImageMetrics,
    evaluate_images,
    frechet_distance,
    inception_score,
    kernel_inception_distance,
    precision_recall,
)

torch.set_num_threads(1)


def whitened(n: int, d: int, seed: int) -> np.ndarray:
    """n samples whose sample mean is exactly 0 and sample covariance exactly I."""
    x = np.random.default_rng(seed).normal(size=(n, d))
    x -= x.mean(axis=0)
    cov = np.cov(x, rowvar=False)
    return x @ np.linalg.inv(np.linalg.cholesky(cov)).T


def frechet_reference(a: np.ndarray, b: np.ndarray) -> float:
    """The same distance through a symmetric eigendecomposition: Tr((Σa Σb)^½) = Σ sqrt(eig(Σa^½ Σb Σa^½))."""
    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(sa)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    eig = np.clip(np.linalg.eigvalsh(root_a @ sb @ root_a), 0, None)
    diff = a.mean(axis=0) - b.mean(axis=0)
    return float(diff @ diff + np.trace(sa) + np.trace(sb) - 2 * np.sqrt(eig).sum())


# ---------------------------------------------------------------------------------------------
# Fréchet distance


def test_frechet_distance_of_a_set_with_itself_is_zero():
    feats = np.random.default_rng(0).normal(size=(500, 32))
    assert frechet_distance(feats, feats) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_matches_closed_form_for_shifted_means():
    # Identical (identity) covariances: the distance is exactly ||mu_a - mu_b||^2.
    base = whitened(400, 16, seed=0)
    shift = np.linspace(-1.0, 2.0, 16)
    assert frechet_distance(base, base + shift) == pytest.approx(shift @ shift, rel=1e-9)


def test_frechet_distance_matches_closed_form_for_different_covariances():
    # Diagonal covariances s_a^2 and s_b^2: Tr(Sa + Sb - 2 (Sa Sb)^1/2) = sum (s_a - s_b)^2.
    s_a, s_b = np.linspace(0.5, 2.0, 8), np.linspace(3.0, 1.0, 8)
    a, b = whitened(300, 8, seed=1) * s_a, whitened(300, 8, seed=2) * s_b + 1.0
    expected = 8 * 1.0 + ((s_a - s_b) ** 2).sum()
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_is_symmetric():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(200, 10)), rng.gamma(2.0, size=(150, 10))
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-9)


def test_frechet_distance_stays_finite_and_accurate_with_singular_covariances():
    # Fewer samples than dimensions plus dead (all-zero) features, as ReLU features often have.
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(3, 128)) ** 2, rng.normal(size=(40, 128)) * 1.5 + 0.3
    a[:, :32] = 0.0
    b[:, :32] = 0.0
    value = frechet_distance(a, b)
    assert np.isfinite(value)
    assert value == pytest.approx(frechet_reference(a, b), rel=1e-3)


# ---------------------------------------------------------------------------------------------
# KID


def test_kid_is_near_zero_for_same_distribution_and_positive_when_shifted():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(600, 16)), rng.normal(size=(600, 16))
    same_mean, same_std = kernel_inception_distance(a, b, num_subsets=20, subset_size=300)
    shifted_mean, _ = kernel_inception_distance(a, b + 0.5, num_subsets=20, subset_size=300)
    assert abs(same_mean) < 3 * same_std + 1e-3
    assert shifted_mean > 0.1
    assert shifted_mean > 20 * abs(same_mean)


def test_kid_clips_subset_size_and_is_reproducible():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(30, 4)), rng.normal(size=(50, 4))
    first = kernel_inception_distance(a, b, num_subsets=5, subset_size=1000, seed=7)
    assert first == kernel_inception_distance(a, b, num_subsets=5, subset_size=1000, seed=7)
    assert all(np.isfinite(first))


# ---------------------------------------------------------------------------------------------
# Inception Score


def test_inception_score_is_num_classes_for_confident_uniform_predictions():
    probs = np.eye(10)[np.arange(200) % 10]  # each split of 20 holds every class twice
    mean, std = inception_score(probs, splits=10)
    assert mean == pytest.approx(10.0)
    assert std == pytest.approx(0.0, abs=1e-12)


def test_inception_score_is_one_for_identical_predictions():
    probs = np.tile([0.7, 0.2, 0.1], (60, 1))
    mean, std = inception_score(probs, splits=3)
    assert mean == pytest.approx(1.0)
    assert std == pytest.approx(0.0, abs=1e-12)


# ---------------------------------------------------------------------------------------------
# Precision and recall


def test_precision_recall_are_one_on_identical_sets():
    feats = np.random.default_rng(0).normal(size=(300, 8))
    assert precision_recall(feats, feats) == (1.0, 1.0)


def test_precision_recall_are_zero_for_disjoint_sets():
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(200, 8)), rng.normal(size=(250, 8)) + 50.0
    assert precision_recall(real, fake) == (0.0, 0.0)


def test_precision_recall_separate_quality_from_coverage():
    # Fakes collapsed into one region of the real data: realistic (high precision) but not varied.
    rng = np.random.default_rng(2)
    real = rng.normal(size=(500, 2))
    fake = rng.normal(size=(500, 2)) * 0.3 + [0.5, 0.0]
    precision, recall = precision_recall(real, fake, k=3)
    assert precision > 0.9
    assert recall < 0.5


def test_precision_recall_batches_large_sets(monkeypatch):
    # A tiny block budget forces many row blocks; the answer must not change.
    import atelier.metrics.images as images_metrics

    rng = np.random.default_rng(3)
    real, fake = rng.normal(size=(120, 4)), rng.normal(size=(90, 4)) + 0.5
    whole = precision_recall(real, fake)
    monkeypatch.setattr(images_metrics, "_MAX_BLOCK_ENTRIES", 500)
    assert precision_recall(real, fake) == whole


# ---------------------------------------------------------------------------------------------
# evaluate_images


def tiny_classifier() -> DigitClassifier:
    torch.manual_seed(0)
    return DigitClassifier(ClassifierConfig(channels=(4, 8), feature_dim=16))


def test_evaluate_images_scores_a_set_against_itself_as_perfect():
    images = torch.rand(40, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    metrics = evaluate_images(images, images, tiny_classifier(), batch_size=16)
    assert isinstance(metrics, ImageMetrics)
    assert metrics.fd == pytest.approx(0.0, abs=1e-6)
    assert (metrics.precision, metrics.recall) == (1.0, 1.0)
    assert 1.0 <= metrics.is_mean <= 10.0
    assert set(metrics.to_dict()) == {"fd", "kid_mean", "kid_std", "is_mean", "is_std", "precision", "recall"}


def test_evaluate_images_accepts_rgb_and_other_sizes():
    gen = torch.Generator().manual_seed(1)
    fake = torch.rand(12, 3, 32, 32, generator=gen) * 2 - 1
    real = torch.rand(15, 1, 28, 28, generator=gen) * 2 - 1
    metrics = evaluate_images(fake, real, tiny_classifier())
    assert all(np.isfinite(v) for v in metrics.to_dict().values())


# ---------------------------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: frechet_distance(np.zeros((5, 3)), np.zeros((5, 4))), "feature_dim 3 but feat_b has 4"),
        (lambda: frechet_distance(np.zeros((1, 3)), np.zeros((5, 3))), "feat_a has 1 samples"),
        (lambda: frechet_distance(np.zeros(5), np.zeros((5, 1))), "expected a 2-D"),
        (lambda: frechet_distance(np.full((4, 2), np.nan), np.zeros((4, 2))), "NaN"),
        (lambda: kernel_inception_distance(np.zeros((5, 2)), np.zeros((5, 3))), "must match"),
        (lambda: kernel_inception_distance(np.zeros((5, 2)), np.zeros((5, 2)), num_subsets=0), "num_subsets=0"),
        (lambda: inception_score(np.ones((4, 3))), "sum to 1"),
        (lambda: inception_score(np.eye(3), splits=5), "splits=5"),
        (lambda: precision_recall(np.zeros((3, 2)), np.zeros((10, 2)), k=3), "real_feat has 3 samples"),
        (lambda: precision_recall(np.zeros((10, 2)), np.zeros((10, 2)), k=0), "k=0"),
    ],
)
def test_metric_input_errors_name_the_problem(call, message):
    with pytest.raises(AtelierError, match=message):
        call()


def test_evaluate_images_rejects_images_outside_minus_one_to_one():
    real = torch.zeros(4, 1, 28, 28)
    fake = torch.zeros(4, 1, 28, 28)
    fake[0, 0, 0, 0] = 255.0  # an uint8-scaled image
    with pytest.raises(AtelierError, match=r"fake_images has values in \[0, 255\]"):
        evaluate_images(fake, real, tiny_classifier())
    with pytest.raises(AtelierError, match="real_images has 1 images"):
        evaluate_images(real, real[:1], tiny_classifier())
