"""The model-agnostic training loop shared by every family."""

from atelier.training.loop import StepContext, TrainConfig, TrainResult, fit

__all__ = ["StepContext", "TrainConfig", "TrainResult", "fit"]
