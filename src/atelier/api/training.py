"""``train``: a preset (or a config) on a dataset, through the family contract and the one loop."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from atelier.config import override
from atelier.errors import AtelierError
from atelier.family import DataOptions, Family, all_presets, get_family, get_preset
from atelier.training import TrainConfig, TrainResult, fit


def resolve_config(preset: str | Any, overrides: list[str] | None = None) -> tuple[Family, Any]:
    """A preset name (or a family's config object) plus ``key=value`` overrides → (family, config).

    >>> family, config = resolve_config("dcgan", ["loss=hinge"])
    >>> family.kind, config.loss
    ('gan', 'hinge')
    """
    if isinstance(preset, str):
        family, config = get_preset(preset)
    else:
        family = next((f for f, _ in all_presets().values() if isinstance(preset, f.config_type)), None)
        if family is None:
            raise AtelierError(f"train: {type(preset).__name__} is not the config of any model family")
    return family, override(config if isinstance(preset, str) else preset, overrides or [])


def default_train_config(family: Family, **changes: Any) -> TrainConfig:
    """The loop's settings for ``family``: TrainConfig's defaults, the family's own (``train_defaults``,
    e.g. 4 crops a step for fast style), then ``changes``."""
    return dataclasses.replace(TrainConfig(), **{**family.train_defaults, **changes})


def train(
    preset: str | Any,
    *,
    data: Any = None,
    out: str | os.PathLike | None = None,
    overrides: list[str] | None = None,
    train_config: TrainConfig | None = None,
    resume: bool = False,
    options: DataOptions | None = None,
) -> TrainResult:
    """Train a preset (or config) on a dataset; checkpoints, samples and logs go to ``out``.

    ``data`` defaults to the family's own (``mnist`` for the image models, ``essen`` for the melody
    models, the bundled photos for style); ``options`` says how it is read (validation share, split
    seed, a limit).

    >>> import atelier, tempfile
    >>> result = atelier.train("mlp-gan", data="digits", out=tempfile.mkdtemp(),
    ...                        train_config=atelier.TrainConfig(num_steps=3, batch_size=8, progress=False,
    ...                                                         tensorboard=False, sample_every=0))
    >>> result.step
    3
    """
    # 1. Resolve the model config, the loop's settings and the data.
    family, config = resolve_config(preset, overrides)
    train_config = train_config or default_train_config(family)
    options = options or DataOptions()
    data = family.default_data if data is None else data
    out = Path(out or f"runs/{preset if isinstance(preset, str) else family.kind}")
    # 2. Prepare the data the family trains on.
    prepared = family.prepare_data(config, data, options)
    # 3. Build the task and run the loop.
    task = family.build_task(config, prepared, seed=train_config.seed)
    provenance = {"preset": preset if isinstance(preset, str) else None, "data": str(data),
                  "split_seed": options.split_seed, "val_fraction": options.val_fraction,
                  "overrides": list(overrides or [])}
    return fit(task, prepared.train, config=train_config, out_dir=out, resume=resume,
               data_fingerprint=prepared.fingerprint, provenance=provenance)


__all__ = ["default_train_config", "get_family", "resolve_config", "train"]
