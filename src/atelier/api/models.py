"""Loading a model and using it: ``load``, ``sample``, ``interpolate``.

Every verb takes a loaded model or a name (a shipped model's or a checkpoint's path) and reaches the
model only through the :class:`~atelier.family.TrainedModel` contract.
"""

from __future__ import annotations

import os
from typing import Any

import torch

from atelier import zoo
from atelier.checkpoint import load_checkpoint
from atelier.errors import AtelierError
from atelier.family import TrainedModel, get_family, kinds

ModelRef = str | os.PathLike | TrainedModel


def available_models() -> list[str]:
    """Names of the shipped models (``atelier.load`` takes these or a checkpoint path).

    >>> import atelier
    >>> "mnist-dcgan" in atelier.available_models()
    True
    """
    return zoo.available_models()


def load(model: str | os.PathLike, *, kind: str | tuple[str, ...] | None = None) -> TrainedModel:
    """Load a shipped model by name, or any Atelier checkpoint by path; ``kind`` refuses other kinds.

    >>> import atelier
    >>> gan = atelier.load("mnist-dcgan")
    >>> gan.kind, tuple(gan.sample(4, seed=0).shape)
    ('gan', (4, 1, 28, 28))
    """
    ckpt = load_checkpoint(zoo.locate(model), expect_kind=kind)
    if ckpt.kind not in kinds():
        raise AtelierError(f"model {model}: a {ckpt.kind!r} checkpoint, which no model family loads; "
                           f"atelier.load takes: {', '.join(kinds())}")
    return get_family(ckpt.kind).load(ckpt)


def loaded(model: ModelRef, *, kind: str | tuple[str, ...] | None = None) -> TrainedModel:
    """``model`` itself when it is already loaded, else :func:`load` of the name or path."""
    return model if isinstance(model, TrainedModel) else load(model, kind=kind)


def sample(model: ModelRef, n: int = 64, *, seed: int = 0, **options: Any) -> Any:
    """``n`` new works from a model: images (n, C, H, W) in [-1, 1] from a GAN or VAE, a list of
    melodies from a melody RNN or MusicVAE. ``options`` are the model's own sampling options
    (``model.sample_options``: e.g. ``labels`` and ``truncation`` for a GAN, ``temperature`` for
    a VAE); an option the model does not take is an error that lists the ones it does.

    >>> import atelier
    >>> images = atelier.sample("mnist-cgan", 10, seed=0, labels=7, truncation=0.8)
    >>> tuple(images.shape)
    (10, 1, 28, 28)
    """
    model = loaded(model)
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise AtelierError(f"n={n!r}: the number of samples must be a whole number of at least 1")
    options = {k: v for k, v in options.items() if v is not None}
    unknown = sorted(set(options) - set(model.sample_options))
    if unknown:
        allowed = ", ".join(model.sample_options) or "none"
        raise AtelierError(f"{unknown[0]}: not a sampling option of a {model.kind} model; "
                           f"its sampling options: {allowed}")
    with torch.no_grad():
        return model.sample(n, seed=seed, **options)


def interpolate(model: ModelRef, a: Any, b: Any, *, steps: int = 8, **options: Any) -> Any:
    """``steps`` works along a path through the model's latent space from ``a`` to ``b``, both ends
    included: two seeds (GAN, VAE), two images (VAE) or two melodies (MusicVAE).

    >>> import atelier
    >>> frames = atelier.interpolate("mnist-dcgan", 0, 1, steps=6)
    >>> tuple(frames.shape)
    (6, 1, 28, 28)
    """
    model = loaded(model)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise AtelierError(f"steps={steps!r}: must be a whole number of at least 2 (both ends included)")
    with torch.no_grad():
        return model.interpolate(a, b, steps=steps, **options)
