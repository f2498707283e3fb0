"""Atelier: classic generative-art models — GANs, VAEs, style transfer and music — in one package."""

__version__ = "0.1.0"

from atelier.api import available_models, evaluate, load, sample, train  # noqa: E402
from atelier.errors import AtelierError  # noqa: E402
from atelier.training import TrainConfig  # noqa: E402

__all__ = ["AtelierError", "TrainConfig", "available_models", "evaluate", "load", "sample", "train"]
