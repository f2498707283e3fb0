"""atelier.load / sample / interpolate: one contract for every model, and one-line errors."""

import pytest

import atelier


def test_every_shipped_family_model_loads_as_a_trained_model():
    from atelier.family import TrainedModel, kinds
    from atelier.zoo import read_manifest

    for name, entry in read_manifest().items():
        if entry.kind in kinds():
            model = atelier.load(name)
            assert isinstance(model, TrainedModel) and model.kind == entry.kind


def test_a_checkpoint_no_family_loads_is_named():
    with pytest.raises(atelier.AtelierError, match="model digit-classifier: a 'classifier' checkpoint, which no "
                                                   "model family loads; atelier.load takes: adain, cyclegan"):
        atelier.load("digit-classifier")


def test_sampling_options_are_the_models_own():
    images = atelier.sample("mnist-vae", 4, seed=0, temperature=0.5)
    assert tuple(images.shape) == (4, 1, 28, 28)
    with pytest.raises(atelier.AtelierError, match="truncation: not a sampling option of a vae model; its "
                                                   "sampling options: labels, temperature"):
        atelier.sample("mnist-vae", 4, truncation=0.5)
    with pytest.raises(atelier.AtelierError, match="n=0: the number of samples must be a whole number of at least 1"):
        atelier.sample("mnist-vae", 0)


def test_verbs_a_model_lacks_say_who_has_them():
    with pytest.raises(atelier.AtelierError, match="a gan model cannot encode; VAEs and MusicVAEs can"):
        atelier.load("mnist-dcgan").encode(None)
    with pytest.raises(atelier.AtelierError, match="a melody_rnn model cannot interpolate; GANs, VAEs and MusicVAEs can"):
        atelier.interpolate("essen-melody-rnn", 0, 1)
    with pytest.raises(atelier.AtelierError, match="steps=1: must be a whole number of at least 2"):
        atelier.interpolate("mnist-dcgan", 0, 1, steps=1)
