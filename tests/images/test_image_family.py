"""The image families' shared evaluation: readability of generated digits and the real-data floor."""

from __future__ import annotations

from atelier.data.images import load_images
from atelier.family import EvalOptions
from atelier.images.image_family import digit_readability, evaluate_real_data, load_classifier


def test_real_digits_are_read_as_their_own_labels_and_noise_is_not():
    classifier = load_classifier()
    _, held_out = load_images("mnist").split(seed=0)
    images, labels = held_out.all()
    real = digit_readability(classifier, images[:200], labels[:200])
    assert real["label_accuracy"] > 0.95 and real["confident_share"] > 0.9
    wrong = digit_readability(classifier, images[:200], (labels[:200] + 1) % 10)
    assert wrong["label_accuracy"] < 0.05
    # unconditional: no labels, no label accuracy (and no verdict on realism: that is FD's and precision's job,
    # a classifier can be confident about noise)
    assert set(digit_readability(classifier, images[:20])) == {"confident_share"}


def test_the_real_data_floor_is_close_to_held_out_digits():
    report = evaluate_real_data("mnist", options=EvalOptions(num_samples=1000))
    m = report.metrics
    assert report.num_samples == 1000 and report.kind == "real"
    assert m["fd"] < 40 and m["precision"] > 0.8 and m["recall"] > 0.8 and m["label_accuracy"] > 0.95
