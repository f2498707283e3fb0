"""Subjects on the shipped models: candidates are the model's own works, measured and made again exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import atelier
from atelier.errors import AtelierError
from atelier.taste.subjects import ImageSubject, MelodySubject, StyleSubject, subject_for


@pytest.fixture(scope="module")
def dcgan():
    return atelier.load("mnist-dcgan")


def test_an_image_candidate_is_the_sample_of_its_seed(dcgan):
    subject = subject_for(dcgan, "mnist-dcgan")
    assert isinstance(subject, ImageSubject)
    pool = subject.pool(6, seed=3)
    assert pool == subject.pool(6, seed=3) and len({item.recipe["seed"] for item in pool}) == 6
    features = subject.matrix(pool)
    assert features.shape == (6, len(subject.feature_names)) and np.isfinite(features).all()
    works = subject.render(pool[:2])
    for item, work in zip(pool[:2], works):
        assert torch.equal(work, atelier.sample(dcgan, 1, seed=item.recipe["seed"])[0])
        command, params = subject.call(item.recipe)
        assert (command, params["n"], params["seed"]) == ("sample", 1, item.recipe["seed"])
        assert subject.recipe_of(command, params) == item.recipe
    assert subject.recipe_of("sample", {"n": 4, "seed": 1}) is None  # a grid is not one candidate
    assert subject.command(pool[0]).startswith(f"atelier sample mnist-dcgan --n 1 --seed {pool[0].recipe['seed']}")


def test_a_conditional_model_keeps_the_asked_class():
    cgan = atelier.load("mnist-cgan")
    subject = subject_for(cgan, "mnist-cgan", label=7)
    assert {item.recipe["label"] for item in subject.pool(4, seed=0)} == {7}
    with pytest.raises(AtelierError, match="label 12: not a class of mnist-cgan; allowed: 0..9"):
        subject_for(cgan, "mnist-cgan", label=12)


def test_a_melody_candidate_is_a_seed_and_a_temperature():
    rnn = atelier.load("essen-melody-rnn")
    subject = subject_for(rnn, "essen-melody-rnn", bars=2)
    assert isinstance(subject, MelodySubject)
    pool = subject.pool(3, seed=0)
    assert all(0.6 <= item.features["temperature"] <= 1.4 for item in pool)
    melody = subject.render(pool[:1])[0]
    command, params = subject.call(pool[0].recipe)
    assert melody == atelier.compose(rnn, **params)[0]
    assert subject.recipe_of(command, params) == pool[0].recipe


def test_a_style_candidate_is_a_blend_and_a_strength():
    fast = atelier.load("fast-paintings")
    photo = torch.rand(1, 3, 40, 56)
    subject = subject_for(fast, "fast-paintings", photo=photo, photo_name="noise", size=48)
    assert isinstance(subject, StyleSubject)
    pool = subject.pool(2, seed=1)
    shares = [sum(item.features[f"share_{s}"] for s in fast.style_names) for item in pool]
    assert np.allclose(shares, 1.0) and all(0.35 <= item.features["strength"] <= 1 for item in pool)
    assert subject.render(pool[:1])[0].size == (48, 34)
    with pytest.raises(AtelierError, match="give the photo"):
        subject_for(fast, "fast-paintings")
