"""What the two melody models share as families: their training data, their evaluation, and the
checks of their sampling arguments.

Both train on bar-aligned windows of a corpus's training pieces and validate on a sample of its
held-out windows (:func:`atelier.data.melodies.melody_training_data`). Both are scored on the
held-out pieces of the split they were trained with, each by its own measure (likelihood for the
melody RNN, reconstruction for MusicVAE), and by comparing generated melodies with the training
pieces feature by feature (Yang & Lerch 2018). :class:`MelodyFamily` implements those steps once;
``melody_rnn.py`` and ``music_vae.py`` each subclass it with their own config, task and model.
"""

from __future__ import annotations

import math
import os
from abc import abstractmethod
from typing import Any, ClassVar

import torch

from atelier.data.melodies import (
    STEPS_PER_BAR,
    MelodyData,
    load_split,
    melody_training_data,
    training_source,
    window_tensor,
)
from atelier.errors import AtelierError
from atelier.family import DataOptions, EvalOptions, EvaluationReport, Family
from atelier.metrics.music import feature_comparison
from atelier.music.events import Melody


class MelodyFamily(Family):
    """The shared steps of the melody models; subclasses add config, presets, task and model, and
    say how long their windows are, how they score held-out windows and what they generate."""

    default_data = "essen"  # Essen folk songs: thousands of short tunes with clear, repeated phrases
    max_val_windows: ClassVar[int]  # held-out windows scored during training (evaluation scores them all)

    @abstractmethod
    def windows(self, config: Any) -> tuple[int, int]:
        """``(steps, min_notes)``: the length of a training window, and the fewest notes one keeps."""

    @abstractmethod
    def held_out_metrics(self, model: Any, windows: torch.Tensor) -> tuple[dict[str, float], list[str]]:
        """The family's own scores of held-out windows ``(N, T)``, and notes on their units."""

    @abstractmethod
    def evaluation_samples(self, model: Any, n: int, *, seed: int) -> tuple[list[Melody], int]:
        """``n`` generated melodies to compare with the training pieces, and their length in bars."""

    def prepare_data(self, config: Any, data: str | os.PathLike, options: DataOptions) -> MelodyData:
        """Every bar-aligned window of the training pieces (at each of ``config.transpose``), a
        seeded sample of held-out windows for validation, and the corpus fingerprint."""
        steps, min_notes = self.windows(config)
        return melody_training_data(data, config=config, window_steps=steps, min_notes=min_notes,
                                    max_val_windows=self.max_val_windows, options=options)

    def evaluate(self, model: Any, *, name: str, options: EvalOptions) -> EvaluationReport:
        """Held-out scores and Yang & Lerch feature comparison, for ``atelier evaluate``.

        1. the held-out pieces of the model's own corpus and split (or of ``options.data``), cut
           into non-overlapping windows of the model's training length;
        2. the family's own scores of those windows;
        3. ``options.num_samples`` generated melodies against windows of the training pieces,
           feature by feature (:func:`atelier.metrics.music.feature_comparison`).
        """
        cfg = model.config
        # 1. the held-out windows
        source, split_seed, val_fraction = training_source(model.provenance, options.data)
        train, val, _ = load_split(source, encoding=cfg.encoding, key=cfg.key, seed=split_seed,
                                   val_fraction=val_fraction)
        steps, min_notes = self.windows(cfg)
        held_out = window_tensor(val, encoding=cfg.encoding, window_steps=steps, min_notes=min_notes)
        # 2. the family's scores
        metrics, notes = self.held_out_metrics(model, held_out)
        # 3. generated melodies against the training pieces
        generated, bars = self.evaluation_samples(model, options.num_samples, seed=options.seed)
        features, feature_note = feature_comparison(generated, train, encoding=cfg.encoding, bars=bars,
                                                    seed=options.seed)
        metrics.update(features)
        held_out_note = (f"held-out: {len(val)} pieces of {source} (split seed {split_seed}), {held_out.shape[0]} "
                         f"windows of {steps // STEPS_PER_BAR} bars")
        return EvaluationReport(model=name, kind=self.kind, data=f"{source} (held-out {len(val)} pieces)",
                                num_samples=options.num_samples, metrics=metrics,
                                notes=[held_out_note, *notes, feature_note])


def check_count(name: str, value: Any) -> None:
    """A count (``n``, ``bars``, ``beam_size``…) must be a whole number of at least 1.

    >>> check_count("bars", 0)
    Traceback (most recent call last):
    atelier.errors.AtelierError: bars=0; must be a whole number of at least 1
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise AtelierError(f"{name}={value!r}; must be a whole number of at least 1")


def check_counts(**counts: Any) -> None:
    """:func:`check_count` for each ``name=value``."""
    for name, value in counts.items():
        check_count(name, value)


def check_temperature(temperature: Any, *, allow_none: bool = False) -> None:
    """A sampling temperature must be a finite number above 0 (``None`` where ``allow_none``: take
    the most likely event instead of sampling)."""
    if temperature is None and allow_none:
        return
    if not (isinstance(temperature, (int, float)) and not isinstance(temperature, bool)
            and math.isfinite(temperature) and temperature > 0):
        raise AtelierError(f"temperature={temperature!r}; must be a number greater than 0")
