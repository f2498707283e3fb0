"""What the image generators (GAN, VAE) share as families: their training data and their evaluation.

Both train on an image dataset (a built-in name, a folder, an ``.npz``) read at the config's size and
channels, split into training and held-out images by a seeded split; both are scored by generating
images and comparing them with the held-out ones in a feature space: Atelier's digit classifier for
grey models, EfficientNet-Lite0 for RGB ones. :class:`ImageFamily` implements those steps once;
``gan.py`` and ``vae.py`` each subclass it with their own config, task and model.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Any

import torch
from tqdm.auto import tqdm

from atelier.checkpoint import load_checkpoint
from atelier.config import config_from_dict
from atelier.data import check_held_out
from atelier.data.images import load_images
from atelier.errors import AtelierError
from atelier.family import DataOptions, EvalOptions, EvaluationReport, Family, TrainData
from atelier.imageio import DEFAULT_MAX_PIXELS
from atelier.images.classifier import ClassifierConfig, DigitClassifier
from atelier.metrics.images import LITE0_NOTE, classifier_outputs, evaluate_digits, evaluate_rgb_images, readability
from atelier import zoo

CLASSIFIER_NOTE = ("FD/KID/IS/precision/recall are measured in the features of Atelier's own digit classifier; "
                   "they are not comparable with Inception-based FID.")
SAMPLE_CHUNK = 500  # images generated per call while evaluating


@dataclass(frozen=True)
class ImageData(TrainData):
    """Training images, and the held-out batch (images, labels or None) the task validates on."""

    val_batch: tuple[torch.Tensor, torch.Tensor | None] | None = None


def load_classifier(model: str | os.PathLike = "digit-classifier") -> DigitClassifier:
    """The feature network of the grey-image metrics: Atelier's own digit classifier, in eval mode."""
    ckpt = load_checkpoint(zoo.locate(model), expect_kind="classifier")
    net = DigitClassifier(config_from_dict(ClassifierConfig, ckpt.config))
    net.load_state_dict(ckpt.module_state("classifier"))
    return net.eval()


READABILITY_NOTE = ("confident_share: the share of images the digit classifier gives ≥ 0.9 to one class; "
                    "label_accuracy (conditional models): the share it reads as the class asked for.")
def digit_readability(classifier: DigitClassifier, images: torch.Tensor,
                      labels: list[int] | torch.Tensor | None = None) -> dict[str, float]:
    """:func:`~atelier.metrics.images.readability` of ``images`` to the digit classifier.

    >>> from atelier.images.classifier import ClassifierConfig
    >>> clf = DigitClassifier(ClassifierConfig(channels=(4, 8), feature_dim=16))
    >>> sorted(digit_readability(clf, torch.zeros(4, 1, 28, 28), [0, 1, 2, 3]))
    ['confident_share', 'label_accuracy']
    """
    return readability(classifier_outputs(classifier, images)[1], labels)


def evaluate_real_data(data: str = "mnist", *, options: EvalOptions | None = None) -> EvaluationReport:
    """The real-data floor: ``num_samples`` images of the training split scored against the
    held-out split with the same metrics as a model (grey digits: the classifier's features,
    its readability with the true labels). What a perfect generator of the training data scores."""
    options = options or EvalOptions()
    check_held_out(options.val_fraction)
    ds = load_images(data, size=28, channels=1)
    train, held_out = ds.split(val_fraction=options.val_fraction, seed=options.split_seed)
    real, _ = held_out.all()
    images, labels = train.all()
    pick = torch.randperm(len(images), generator=torch.Generator().manual_seed(options.seed))[:options.num_samples]
    classifier = load_classifier(options.classifier)
    metrics = evaluate_digits(images[pick], real, classifier, None if labels is None else labels[pick])
    return EvaluationReport(model=f"real {data} (training split)", kind="real", data=f"{data} (held-out {len(held_out)})",
                            num_samples=len(pick), metrics=metrics, notes=[CLASSIFIER_NOTE, READABILITY_NOTE])


class ImageFamily(Family):
    """The shared steps of the image generators; subclasses add config, presets, task and model."""

    default_data = "mnist"

    def prepare_data(self, config: Any, data: Any, options: DataOptions) -> ImageData:
        ds = load_images(data, size=config.image_size, channels=config.channels, strict=options.strict,
                         max_pixels=options.max_pixels or DEFAULT_MAX_PIXELS, limit=options.limit)
        if ds.skipped:
            warnings.warn(f"skipped {len(ds.skipped)} unreadable or unsupported file(s) in {data}; "
                          f"first: {ds.skipped[0]}", stacklevel=2)
        if config.num_classes:
            if ds.labels is None:
                raise AtelierError(f"data {data}: a class-conditional model needs labels, and this data has none")
            if ds.num_classes > config.num_classes:
                raise AtelierError(f"data {data}: has {ds.num_classes} classes, more than the model's "
                                   f"num_classes={config.num_classes}")
        train, val = ds.split(val_fraction=options.val_fraction, seed=options.split_seed)
        return ImageData(train=train, fingerprint=ds.fingerprint(), val_batch=val.all() if len(val) else None)

    def evaluate(self, model: Any, *, name: str, options: EvalOptions) -> EvaluationReport:
        """FD/KID/IS/precision/recall of ``options.num_samples`` generated images against the
        held-out split of ``options.data`` (class-balanced for conditional models)."""
        cfg = model.config
        data = options.data or self.default_data
        # 1. The held-out real images, at the model's size.
        check_held_out(options.val_fraction)
        ds = load_images(data, size=cfg.image_size, channels=cfg.channels)
        _, held_out = ds.split(val_fraction=options.val_fraction, seed=options.split_seed)
        real, real_labels = held_out.all()
        # 2. Generated images.
        fake = self.generate(model, options.num_samples, seed=options.seed, progress=options.progress)
        # 3. Metrics: RGB models in EfficientNet-Lite0's feature space, grey ones in the classifier's.
        if cfg.channels == 3:
            metrics, notes = evaluate_rgb_images(fake, real, progress=options.progress).to_dict(), [LITE0_NOTE]
        else:
            classifier = load_classifier(options.classifier)
            metrics = evaluate_digits(fake, real, classifier, self.sample_labels(model, len(fake)))
            notes = [CLASSIFIER_NOTE, READABILITY_NOTE]
        metrics.update(self.extra_metrics(model, real, real_labels if cfg.num_classes else None, options))
        notes += list(self.extra_notes)
        return EvaluationReport(model=name, kind=self.kind, data=f"{data} (held-out {len(held_out)})",
                                num_samples=len(fake), metrics=metrics, notes=notes)

    @staticmethod
    def sample_labels(model: Any, n: int) -> list[int] | None:
        """The classes asked for by :meth:`generate`: 0, 1, …, K − 1 in turn; None if unconditional."""
        classes = model.config.num_classes
        return [i % classes for i in range(n)] if classes else None

    @classmethod
    def generate(cls, model: Any, n: int, *, seed: int, progress: bool = False) -> torch.Tensor:
        """``n`` images in chunks, the classes in turn for a conditional model."""
        labels = cls.sample_labels(model, n)
        chunks = []
        with torch.no_grad():
            bar = tqdm(range(0, n, SAMPLE_CHUNK), desc="sampling", unit="chunk", leave=False,
                       disable=None if progress else True)  # None: shown on a terminal only
            for i, start in enumerate(bar):
                size = min(SAMPLE_CHUNK, n - start)
                chunk_labels = labels[start:start + size] if labels else None
                chunks.append(model.sample(size, seed=seed + i, labels=chunk_labels))
        return torch.cat(chunks)

    extra_notes: tuple[str, ...] = ()

    def extra_metrics(self, model: Any, real: torch.Tensor, labels: torch.Tensor | None,
                      options: EvalOptions) -> dict[str, float]:
        """Metrics of the family's own (a VAE's likelihood bounds); none by default."""
        return {}
