"""Configs as data: ``key=value`` overrides of a frozen config (``--set``) and configs rebuilt from
the JSON a checkpoint holds. The families and their presets are registered in :mod:`atelier.family`."""

from __future__ import annotations

import dataclasses
import typing
import types
from typing import Any

from atelier.errors import AtelierError, choose_one


def config_from_dict(config_type: type, values: dict[str, Any]) -> Any:
    """Rebuild a frozen config from the JSON a checkpoint holds: lists back to tuples, an unknown
    field named in a one-line error.

    >>> @dataclasses.dataclass(frozen=True)
    ... class Tiny:
    ...     sizes: tuple[int, ...] = (4,)
    >>> config_from_dict(Tiny, {"sizes": [8, 8]})
    Tiny(sizes=(8, 8))
    """
    names = {f.name for f in dataclasses.fields(config_type)}
    unknown = set(values) - names
    if unknown:
        raise AtelierError(f"a {config_type.__name__} has no field(s): {', '.join(sorted(unknown))}; "
                           f"its fields: {', '.join(sorted(names))}")
    return config_type(**{k: _tuplify(v) for k, v in values.items()})


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
