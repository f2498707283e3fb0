"""``train_style``: train a fast-style network or an AdaIN decoder on your own paintings.

Both families train through :func:`atelier.api.train` like every other model; this only turns
"these paintings, this method" into the right config.

>>> from atelier.training import TrainConfig
>>> result = train_style("fast", styles=["my_painting.jpg"], data="photos", out="runs/mine",
...                      train_config=TrainConfig(num_steps=2000, batch_size=4))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

from atelier.config import override
from atelier.errors import AtelierError, choose_one
from atelier.style.data import BUILTIN_CONTENT, is_builtin, load_image, load_photos
from atelier.training import TrainConfig, TrainResult

TRAIN_METHODS = ("fast", "adain")


def style_config(method: str, *, styles: Sequence[str | os.PathLike] = (), preset: str | None = None,
                 overrides: Sequence[str] = ()):
    """The config ``train_style`` would train: ``preset`` (default: the method's first), the
    ``key=value`` overrides, and ``styles`` in place of the preset's when given.

    >>> style_config("fast", styles=["starry_night", "the_scream"]).num_styles
    2
    """
    if method not in TRAIN_METHODS:
        raise choose_one("training method", method, TRAIN_METHODS)
    if method == "fast":
        from atelier.style.feedforward import PRESETS
    else:
        from atelier.style.adain import PRESETS
    preset = preset or next(iter(PRESETS))
    if preset not in PRESETS:
        raise choose_one(f"{method} preset", preset, PRESETS)
    config = override(PRESETS[preset], list(overrides))
    if styles:
        config = dataclasses.replace(config, styles=tuple(str(s) for s in styles))
    return config


def _check_styles(method: str, styles: Sequence[str]) -> None:
    """Read every style picture now, so a bad file fails before training starts."""
    for s in styles:
        if method == "adain" and Path(s).is_dir():
            load_photos(s)
        elif is_builtin(s) or Path(s).exists():
            load_image(s, what=f"style {s}")
        else:
            raise AtelierError(f"style {s}: no such file (or bundled painting)")


def train_style(
    method: str,
    *,
    styles: Sequence[str | os.PathLike] = (),
    data: str | os.PathLike = BUILTIN_CONTENT,
    out: str | os.PathLike | None = None,
    preset: str | None = None,
    overrides: Sequence[str] = (),
    train_config: TrainConfig | None = None,
    resume: bool = False,
    limit: int | None = None,
) -> TrainResult:
    """Train ``method`` (``"fast"``: one network for the given styles, several styles sharing it
    through conditional instance norm; ``"adain"``: a decoder for any style, trained on
    ``styles``) on the photos ``data``. Writes checkpoints, samples and losses into ``out``."""
    from atelier.api import train

    # 1. The config, its paintings checked before anything runs.
    config = style_config(method, styles=styles, preset=preset, overrides=overrides)
    _check_styles(method, config.styles)
    # 2. Train.
    out = Path(out or f"runs/{method}-style")
    return train(config, data=data, out=out, train_config=train_config or TrainConfig(batch_size=4),
                 resume=resume, limit=limit)
