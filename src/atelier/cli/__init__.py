"""``atelier``: thin subcommands over the library. Each parses its arguments and calls one function.

Errors in the user's input are :class:`~atelier.errors.AtelierError`s: printed as one line, exit 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import types
import typing
from collections.abc import Callable

from atelier.errors import AtelierError
from atelier.version import __version__

COMMAND_MODULES = ("atelier.cli.common", "atelier.cli.images", "atelier.cli.style", "atelier.cli.translate", "atelier.cli.music")


def add_dataclass_options(parser: argparse.ArgumentParser, cls: type, *, skip: tuple[str, ...] = (),
                          defaults_from_family: bool = False) -> None:
    """One ``--option`` per field of a config dataclass, typed and defaulted from the dataclass itself
    (``Optional[X]`` fields take an X). A field's ``metadata["help"]`` becomes its help text.

    ``defaults_from_family``: every option defaults to None, so the command can tell what was given
    from what was not and fill the rest from the model family's own defaults."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        flag = "--" + f.name.replace("_", "-")
        default = f.default if f.default is not dataclasses.MISSING else None
        kind = hints.get(f.name, str)
        if typing.get_origin(kind) in (typing.Union, types.UnionType):
            kind = next(a for a in typing.get_args(kind) if a is not type(None))
        text = f.metadata.get("help", "")
        shown = f"{text} (default: {default}{', or the model family' + chr(39) + 's own' if defaults_from_family else ''})"
        given = None if defaults_from_family else default
        if kind is bool:
            parser.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=given,
                                help=shown.strip())
        else:
            parser.add_argument(flag, dest=f.name, type=kind if kind in (int, float, str) else str,
                                default=given, help=shown.strip())


def dataclass_from_args(cls: type, args: argparse.Namespace, **extra):
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
    values.update(extra)
    return cls(**values)


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="atelier",
        description="Atelier: GANs, VAEs, style transfer and music, on your laptop.",
    )
    parser.add_argument("--version", action="version", version=f"atelier {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int | None] = args.handler
    try:
        return int(handler(args) or 0)
    except AtelierError as exc:
        print(f"atelier: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print(f"atelier: {exc or 'interrupted'}", file=sys.stderr)
        return 130
