"""The registry of model families and their named presets.

Each family lives in one module that defines a frozen config dataclass, a ``PRESETS`` dict of named
configs, ``build_task(config, ...)`` for training and a model class with ``from_checkpoint``. This
registry names those pieces so the API and the CLI can reach every family the same way; nothing is
imported until it is asked for.
"""

from __future__ import annotations

import dataclasses
import importlib
import typing
from dataclasses import dataclass
import types
from types import ModuleType
from typing import Any

from atelier.errors import AtelierError, choose_one


@dataclass(frozen=True)
class Family:
    """Where a model family lives and what it makes."""

    kind: str
    module: str
    config_class: str
    model_class: str
    domain: str  # "image" (generates images), "style" (image → image) or "music"
    description: str

    def load_module(self) -> ModuleType:
        return importlib.import_module(self.module)

    def config_type(self) -> type:
        return getattr(self.load_module(), self.config_class)

    def model_type(self) -> type:
        return getattr(self.load_module(), self.model_class)

    def presets(self) -> dict[str, Any]:
        return dict(getattr(self.load_module(), "PRESETS", {}))


FAMILIES: dict[str, Family] = {
    f.kind: f
    for f in (
        Family("gan", "atelier.images.gan", "GANConfig", "GANModel", "image",
               "GANs: the article's MLP GAN, DCGAN, class-conditional"),
        Family("vae", "atelier.images.vae", "VAEConfig", "VAEModel", "image",
               "VAEs: MLP, convolutional, conditional"),
        Family("fast_style", "atelier.style.feedforward", "FastStyleConfig", "FastStyleModel", "style",
               "fast style transfer: Johnson et al.'s network, N styles with conditional instance norm"),
        Family("adain", "atelier.style.adain", "AdaINConfig", "AdaINModel", "style",
               "arbitrary style transfer: AdaIN encoder-decoder (Huang & Belongie 2017)"),
        Family("melody_rnn", "atelier.music.melody_rnn", "MelodyRNNConfig", "MelodyRNNModel", "music",
               "melody RNN: an LSTM over melody events (basic and lookback)"),
        Family("music_vae", "atelier.music.music_vae", "MusicVAEConfig", "MusicVAEModel", "music",
               "MusicVAE: 2-bar flat and 16-bar hierarchical melody VAEs"),
        Family("cyclegan", "atelier.style.cyclegan", "CycleGANConfig", "CycleGANModel", "style",
               "CycleGAN: unpaired image-to-image translation between two folders"),
    )
}


def register_family(family: Family) -> None:
    """Add a family to the registry (the style and music families call this from their package)."""
    FAMILIES[family.kind] = family


def get_family(kind: str) -> Family:
    if kind not in FAMILIES:
        raise choose_one("model kind", kind, FAMILIES)
    return FAMILIES[kind]


def all_presets() -> dict[str, tuple[Family, Any]]:
    """Every named preset of every family: ``{name: (family, config)}``."""
    out: dict[str, tuple[Family, Any]] = {}
    for family in FAMILIES.values():
        try:
            presets = family.presets()
        except ModuleNotFoundError as exc:
            if exc.name != family.module:  # a real missing dependency, not an absent family
                raise
            continue
        for name, cfg in presets.items():
            out[name] = (family, cfg)
    return out


def get_preset(name: str) -> tuple[Family, Any]:
    """The family and config of preset ``name``; an unknown name lists the known ones."""
    presets = all_presets()
    if name not in presets:
        raise choose_one("preset", name, presets)
    return presets[name]


def config_from_dict(kind: str, values: dict[str, Any]) -> Any:
    """Rebuild a family's frozen config from the JSON a checkpoint holds (lists back to tuples)."""
    cls = get_family(kind).config_type()
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - names
    if unknown:
        raise AtelierError(f"a {kind} config has unknown fields: {', '.join(sorted(unknown))}")
    return cls(**{k: _tuplify(v) for k, v in values.items()})


def _tuplify(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuplify(v) for v in value)
    return value


def override(config: Any, assignments: list[str]) -> Any:
    """Apply ``key=value`` overrides (from ``--set``) to a frozen config with ``dataclasses.replace``.

    Values are parsed by the field's type: ints, floats, bools (true/false), strings, and tuples of
    those written with commas.
    """
    if not assignments:
        return config
    fields = {f.name: f for f in dataclasses.fields(config)}
    hints = typing.get_type_hints(type(config))
    changes: dict[str, Any] = {}
    for item in assignments:
        key, sep, raw = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep:
            raise AtelierError(f"--set {item!r}: expected key=value")
        if key not in fields:
            raise choose_one(f"{type(config).__name__} field", key, fields)
        changes[key] = _parse_value(key, raw.strip(), hints.get(key, str), getattr(config, key))
    return dataclasses.replace(config, **changes)


def _parse_value(key: str, raw: str, hint: Any, current: Any) -> Any:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):  # Optional[X]: "none" or an X
        if raw.lower() == "none":
            return None
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    origin = typing.get_origin(hint)
    if origin is tuple or isinstance(current, tuple):
        args = typing.get_args(hint)
        inner = args[0] if args else (type(current[0]) if current else str)
        return tuple(_parse_value(key, part.strip(), inner, None) for part in raw.split(",") if part.strip())
    target = hint if isinstance(hint, type) else type(current) if current is not None else str
    try:
        if target is bool:
            if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return raw.lower() in ("true", "1", "yes")
        if target is int:
            return int(raw)
        if target is float:
            return float(raw)
    except ValueError:
        raise AtelierError(f"--set {key}={raw}: expected a {target.__name__}") from None
    return raw
