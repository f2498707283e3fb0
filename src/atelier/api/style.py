"""``stylize``: a photo in the style of paintings, by any of the three methods, models by name.

A thin dispatcher over the per-method functions of :mod:`atelier.style.transfer`: it checks the
method, sorts the keyword options into the controls every method shares
(:class:`~atelier.style.transfer.StylizeControls`) and the method's own
(:class:`~atelier.style.transfer.GatysOptions` for Gatys; the networks carry theirs), loads the
fast or AdaIN model by name, and records which model painted the picture.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Any

from atelier import zoo
from atelier.api.models import load
from atelier.errors import AtelierError, choose_one
from atelier.family import TrainedModel
from atelier.style.transfer import (
    METHODS,
    GatysOptions,
    StyleInput,
    StylizeControls,
    StylizeResult,
    paint_adain,
    paint_fast,
    paint_gatys,
)

DEFAULT_MODELS = {"fast": "fast-paintings", "adain": "adain-decoder"}  # shipped in atelier/zoo
MODEL_KINDS = {"fast": "fast_style", "adain": "adain"}
OWN_OPTIONS: dict[str, type | None] = {"gatys": GatysOptions, "fast": None, "adain": None}  # besides the controls


def stylize(content: StyleInput, styles: Sequence[StyleInput] | StyleInput = (), *, method: str = "fast",
            model: str | os.PathLike | TrainedModel | None = None, **options: Any) -> StylizeResult:
    """Paint ``content`` (a file, a bundled photo's name, a PIL image or a tensor (1, 3, H, W) in
    [0, 1]) in the style of ``styles`` with ``method``: ``"gatys"`` (optimisation, any painting),
    ``"fast"`` (a trained network, its own styles by name) or ``"adain"`` (any painting).

    ``options`` are the fields of :class:`~atelier.style.transfer.StylizeControls`, which every
    method takes (``weights``, ``strength``, ``preserve_color``, ``mask``, ``size``, ``seed``,
    ``max_pixels``, ``keep_alpha``), and Gatys's own, :class:`~atelier.style.transfer.GatysOptions`
    (``preset``, ``num_steps``, ``backbone``, ``vgg_weights``, ``progress``, ``on_step``: a callback
    after every optimisation step, which may raise to stop); an option that is None
    is not given. ``model`` (fast, adain): a shipped name, a checkpoint path or a loaded model;
    default ``fast-paintings`` / ``adain-decoder``.

    >>> import torch
    >>> result = stylize(torch.rand(1, 3, 48, 64), ["the_scream"], method="gatys", preset="fast", size=32,
    ...                  num_steps=2)
    >>> result.image.size, result.metadata["method"]
    ((32, 24), 'gatys')
    >>> stylize(torch.rand(1, 3, 40, 40), ["starry_night"], method="adain", weights=[1, 2])
    Traceback (most recent call last):
    atelier.errors.AtelierError: 2 weights for 1 styles; give one weight per style
    """
    # 1. The method, and its options: each options dataclass checks its own fields.
    if method not in METHODS:
        raise choose_one("method", method, METHODS)
    controls, own = _sort_options(method, {k: v for k, v in options.items() if v is not None})
    if method == "gatys":
        if model is not None:
            raise AtelierError("model applies to methods 'fast' and 'adain'; gatys needs none")
        return paint_gatys(content, styles, controls=controls, options=GatysOptions(**own))
    # 2. The model, by name, path or object, and where it came from.
    model = DEFAULT_MODELS[method] if model is None else model
    if isinstance(model, TrainedModel):
        loaded, provenance = model, {"model": type(model).__name__}
    else:
        loaded = load(model, kind=MODEL_KINDS[method])
        provenance = {"model": str(model), "model_sha256": zoo.model_sha256(model)}
    # 3. Paint.
    paint = paint_fast if method == "fast" else paint_adain
    result = paint(content, styles, loaded, controls=controls)
    return dataclasses.replace(result, metadata={**result.metadata, **provenance})


def _sort_options(method: str, options: dict[str, Any]) -> tuple[StylizeControls, dict[str, Any]]:
    """The options as the shared controls and the method's own; one that fits neither is named."""
    shared = {f.name for f in dataclasses.fields(StylizeControls)}
    own_type = OWN_OPTIONS[method]
    own_fields = {f.name for f in dataclasses.fields(own_type)} if own_type else set()
    unknown = sorted(set(options) - shared - own_fields)
    for name in unknown:
        owners = [m for m, t in OWN_OPTIONS.items() if t and name in {f.name for f in dataclasses.fields(t)}]
        if owners:
            others = sorted(k for k in unknown if k in {f.name for f in dataclasses.fields(OWN_OPTIONS[owners[0]])})
            raise AtelierError(f"{', '.join(others)}: options that apply to method {owners[0]!r} only; "
                               f"{method} models carry their own")
        raise choose_one(f"{method} option", name, sorted(shared | own_fields))
    controls = StylizeControls(**{k: v for k, v in options.items() if k in shared})
    return controls, {k: v for k, v in options.items() if k in own_fields}
