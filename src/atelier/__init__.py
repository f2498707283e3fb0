"""Atelier: classic generative-art models — GANs, VAEs, style transfer and music — in one package.

>>> import atelier
>>> images = atelier.sample("mnist-dcgan", 16, seed=0)      # (16, 1, 28, 28) in [-1, 1]
>>> tuple(images.shape)
(16, 1, 28, 28)
"""

from atelier.version import __version__
from atelier.api import (
    analyze,
    available_models,
    compare,
    compose,
    evaluate,
    interpolate,
    load,
    reproduce,
    respond,
    sample,
    stylize,
    train,
    translate,
)
from atelier.errors import AtelierError
from atelier.family import DataOptions, EvalOptions
from atelier.training import TrainConfig

__all__ = ["AtelierError", "DataOptions", "EvalOptions", "TrainConfig", "__version__", "analyze", "available_models", "compare", "compose",
           "evaluate", "interpolate", "load", "reproduce", "respond", "sample", "stylize", "train", "translate"]
