"""Artistic style transfer: feature backbones, shared losses, Gatys optimisation.

>>> from atelier.style import build_backbone, stylize_gatys, GATYS_PRESETS
"""

from atelier.style.features import BACKBONES, DEFAULT_BACKBONE, FeatureNet, build_backbone
from atelier.style.gatys import GATYS_PRESETS, GatysConfig, GatysStep, stylize_gatys

__all__ = [
    "BACKBONES",
    "DEFAULT_BACKBONE",
    "GATYS_PRESETS",
    "FeatureNet",
    "GatysConfig",
    "GatysStep",
    "build_backbone",
    "stylize_gatys",
]
