"""Similarity in EfficientNet-Lite0's feature space: nearest works, and which painting a picture was styled after."""

from __future__ import annotations

import numpy as np
import pytest

from atelier import stylize
from atelier.analysis.similarity import (
    identify_style,
    image_embedding,
    nearest_works,
    style_references,
    style_signature,
)
from atelier.data.photos import PAINTINGS, load_image, resize_long_side
from atelier.errors import AtelierError

STYLES = {name: name for name in PAINTINGS}


@pytest.fixture(scope="module")
def references():
    return style_references(STYLES)


def test_embeddings_are_unit_vectors_and_a_picture_is_nearest_itself():
    e = image_embedding(["chelsea", "coffee", "chelsea"])
    assert e.shape == (3, 1280)
    assert np.linalg.norm(e, axis=1) == pytest.approx(1.0)
    assert float(e[0] @ e[2]) == pytest.approx(1.0) and float(e[0] @ e[1]) < 0.9
    ranked = nearest_works(resize_long_side(load_image("chelsea"), 200),
                           {"moon": "moon", "chelsea": "chelsea", "rocket": "rocket"}, k=2)
    assert ranked[0][0] == "chelsea" and len(ranked) == 2
    assert ranked[0][1] > 0.9 > ranked[1][1]


def test_nearest_works_takes_embeddings_computed_before():
    known = {"coffee": image_embedding("coffee")[0], "moon": "moon"}
    assert nearest_works("coffee", known, k=1) == [("coffee", pytest.approx(1.0))]
    with pytest.raises(AtelierError, match="shape"):
        nearest_works("coffee", {"bad": np.zeros(3)})
    with pytest.raises(AtelierError, match="no works"):
        nearest_works("coffee", {})
    with pytest.raises(AtelierError, match="at least 1"):
        nearest_works("coffee", {"moon": "moon"}, k=0)


def test_a_crop_of_each_painting_is_identified(references):
    for name in PAINTINGS:
        painting = load_image(name)
        h, w = painting.shape[-2:]
        crop = painting[..., h // 4: 3 * h // 4, w // 5: 4 * w // 5]  # the middle, a quarter of the picture
        ranked = identify_style(crop, references)
        assert ranked[0][0] == name, ranked
        assert ranked[0][1] > ranked[1][1] >= ranked[2][1]  # best first


def test_adain_stylised_photos_are_identified(references):
    photo = resize_long_side(load_image("chelsea"), 128)  # a photo the style models never trained on
    for name in PAINTINGS:
        out = stylize(photo, [name], method="adain", size=128).tensor
        assert identify_style(out, references)[0][0] == name


def test_references_and_pictures_give_the_same_ranking(references):
    photo = resize_long_side(load_image("coffee"), 96)
    by_refs = identify_style(photo, references)
    by_pictures = identify_style(photo, STYLES)
    assert [n for n, _ in by_refs] == [n for n, _ in by_pictures]
    assert [s for _, s in by_refs] == pytest.approx([s for _, s in by_pictures])


def test_style_signature_is_a_unit_vector_and_bad_inputs_are_refused():
    s = style_signature("the_scream")
    assert float(s @ s) == pytest.approx(1.0)
    assert float(s @ style_signature("starry_night")) < float(s @ style_signature("the_scream", long_side=200))
    with pytest.raises(AtelierError, match="no styles"):
        identify_style("coffee", {})
    with pytest.raises(AtelierError, match="16 px"):
        style_references(STYLES, scales=(8,))
