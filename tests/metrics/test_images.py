import numpy as np
import pytest
import torch

from atelier.errors import AtelierError
from atelier.images.classifier import ClassifierConfig, DigitClassifier
from atelier.metrics.images import (
    ImageMetrics,
    evaluate_images,
    evaluate_rgb_images,
    frechet_distance,
    inception_score,
    kernel_inception_distance,
    lite0_features,
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


# ---------------------------------------------------------------------------------------------
# EfficientNet-Lite0 feature space (RGB images)


def photo_crops(name: str, n: int, seed: int, side: int = 96) -> torch.Tensor:
    """n random side×side crops of a scikit-image photo, (n, 3, side, side) in [0, 1]."""
    import skimage.data

    photo = getattr(skimage.data, name)()  # (H, W, 3) uint8
    rng = np.random.default_rng(seed)
    tops = rng.integers(0, photo.shape[0] - side, n)
    lefts = rng.integers(0, photo.shape[1] - side, n)
    crops = np.stack([photo[t:t + side, s:s + side] for t, s in zip(tops, lefts)])
    return torch.from_numpy(crops).permute(0, 3, 1, 2).float() / 255.0


def test_lite0_features_are_pooled_head_features_and_deterministic():
    from atelier.style.efficientnet import build_efficientnet_lite0, preprocess

    images = photo_crops("chelsea", 5, seed=0, side=48)
    feats = lite0_features(images, batch_size=2, size=64, device="cpu")
    assert feats.shape == (5, 1280) and feats.dtype == np.float64
    assert np.array_equal(feats, lite0_features(images, batch_size=2, size=64, device="cpu"))
    np.testing.assert_allclose(feats, lite0_features(images, batch_size=5, size=64, device="cpu"), rtol=1e-5, atol=1e-6)
    # The same numbers as the network's own pooled head (on the CPU) on the resized, preprocessed batch.
    x = torch.nn.functional.interpolate(images, size=(64, 64), mode="bilinear", antialias=True)
    with torch.no_grad():
        reference = build_efficientnet_lite0().pooled(preprocess(x)).double().numpy()
    np.testing.assert_allclose(feats, reference, rtol=1e-4, atol=1e-5)
    # Grey images are repeated to three channels.
    grey = images.mean(dim=1, keepdim=True)
    np.testing.assert_allclose(lite0_features(grey, size=64), lite0_features(grey.expand(-1, 3, -1, -1), size=64),
                               rtol=1e-5, atol=1e-6)


def test_lite0_fd_separates_different_image_sets():
    # Two halves of crops of one photo are close; crops of another photo, noise or flat colours are
    # not. (At 96 px rather than 224 to stay fast; with 32 samples of 1,280 features the distance
    # is dominated by the covariance traces, so even the halves are far from 0.)
    gen = torch.Generator().manual_seed(0)
    coffee = lite0_features(photo_crops("coffee", 64, seed=0), size=96)
    others = {
        "astronaut": photo_crops("astronaut", 32, seed=1),
        "noise": torch.rand(32, 3, 96, 96, generator=gen),
        "flat": torch.rand(32, 3, 1, 1, generator=gen).expand(-1, -1, 96, 96),
    }
    assert frechet_distance(coffee, coffee) == pytest.approx(0.0, abs=1e-6)
    halves = frechet_distance(coffee[::2], coffee[1::2])
    for name, images in others.items():
        assert frechet_distance(coffee[::2], lite0_features(images, size=96)) > 2 * halves, name


def test_evaluate_rgb_images_scores_a_set_against_itself_as_perfect():
    images = photo_crops("rocket", 10, seed=0, side=32) * 2 - 1  # [-1, 1], as image models sample
    metrics = evaluate_rgb_images(images, images, size=64)
    assert isinstance(metrics, ImageMetrics)
    assert metrics.fd == pytest.approx(0.0, abs=1e-6)
    assert (metrics.precision, metrics.recall) == (1.0, 1.0)
    assert 1.0 <= metrics.is_mean <= 1000.0


def test_lite0_features_take_zero_to_one():
    with pytest.raises(AtelierError, match=r"scaled to \[0, 1\].*pass \(x \+ 1\) / 2"):
        lite0_features(torch.full((2, 3, 8, 8), -1.0))


def test_frechet_distance_matches_the_symmetric_root_on_few_wide_features():
    # 12 samples of 64 features: both covariances singular, as with Lite0's 1,280-d features on a
    # few pictures. Reference: Tr((S_a S_b)^1/2) = Tr((S_a^1/2 S_b S_a^1/2)^1/2), each root from eigh.
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(12, 64)) ** 2, rng.normal(size=(12, 64))

    def root(m):
        w, v = np.linalg.eigh(m)
        return (v * np.sqrt(np.clip(w, 0, None))) @ v.T

    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    ra = root(sa)
    expected = ((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(sa) + np.trace(sb) - 2 * np.trace(root(ra @ sb @ ra))
    value = frechet_distance(a, b)
    assert value == pytest.approx(expected, rel=1e-6)
    assert value == pytest.approx(frechet_distance(b, a), rel=1e-9)


# ---------------------------------------------------------------------------------------------
# atelier.evaluate on RGB models


def test_evaluate_scores_an_rgb_dcgan_in_lite0_space(tmp_path):
    from atelier import TrainConfig, evaluate, train

    rng = np.random.default_rng(0)
    np.savez(tmp_path / "rgb.npz", images=rng.integers(0, 256, (40, 16, 16, 3), dtype=np.uint8))
    train("dcgan-32-rgb", data=tmp_path / "rgb.npz", out=tmp_path / "run", overrides=["width=8", "z_dim=8"],
          train_config=TrainConfig(num_steps=2, batch_size=8, log_every=1, sample_every=0, eval_every=0,
                                   tensorboard=False, progress=False))
    report = evaluate(tmp_path / "run" / "checkpoint.safetensors", data=tmp_path / "rgb.npz", num_samples=6)
    assert set(report.metrics) == {"fd", "kid_mean", "kid_std", "is_mean", "is_std", "precision", "recall"}
    assert all(np.isfinite(v) for v in report.metrics.values())
    assert report.num_samples == 6 and any("EfficientNet-Lite0" in n for n in report.notes)


def test_evaluate_scores_a_cyclegan_in_lite0_space(tmp_path):
    import dataclasses

    from atelier import evaluate
    from atelier.checkpoint import save_checkpoint
    from atelier.style.cyclegan import KIND, PRESETS, build_task

    config = dataclasses.replace(PRESETS["cyclegan-tiny"], image_size=16, d_layers=1)
    path = save_checkpoint(tmp_path / "cg.safetensors", kind=KIND, config=dataclasses.asdict(config),
                           modules=build_task(config).modules)
    report = evaluate(path, data="synthetic:red-blue", num_samples=4)
    assert report.kind == "cyclegan" and report.num_samples == 8
    assert {"a2b_fd", "b2a_fd", "a2b_precision", "b2a_kid_mean"} <= set(report.metrics)
    assert all(np.isfinite(v) for v in report.metrics.values())
    assert any("EfficientNet-Lite0" in n for n in report.notes)
