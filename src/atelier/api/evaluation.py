"""``evaluate``: score a model against held-out data, each family by its own measure."""

from __future__ import annotations

import dataclasses
import os

from atelier.api.models import ModelRef, loaded
from atelier.errors import AtelierError, choose_one
from atelier.family import EvalOptions, EvaluationReport, family_of


def evaluate(model: ModelRef, *, options: EvalOptions | None = None, **fields) -> EvaluationReport:
    """Score a model on held-out data. ``options`` (or its fields as keywords: ``data``,
    ``num_samples``, ``seed``, ``split_seed``, ``iwae_k``, ``classifier``) say how.

    Image generators: FD/KID/IS/precision/recall against held-out images, in the digit classifier's
    feature space for grey models and EfficientNet-Lite0's for RGB ones; a VAE adds its negative
    ELBO and an importance-weighted NLL (nats). CycleGAN: the same metrics for each direction.
    Melody models: their held-out loss and note statistics. Style models: style and content
    distances on held-out photos.

    >>> import atelier
    >>> report = atelier.evaluate("mnist-dcgan", num_samples=200)
    >>> report.kind, [k for k in ("fd", "precision", "recall", "confident_share") if k in report.metrics]
    ('gan', ['fd', 'precision', 'recall', 'confident_share'])
    """
    allowed = {f.name for f in dataclasses.fields(EvalOptions)}
    if options is not None and fields:
        raise AtelierError("evaluate: give options=EvalOptions(...) or its fields as keywords, not both")
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise choose_one("evaluate option", unknown[0], allowed)
    options = options or EvalOptions(**fields)
    name = str(model) if isinstance(model, (str, os.PathLike)) else type(model).__name__
    model = loaded(model)
    return family_of(model).evaluate(model, name=name, options=options)
