"""``atelier``: thin subcommands over the library. Each parses its arguments and calls one function.

Errors in the user's input are :class:`~atelier.errors.AtelierError`s: printed as one line, exit 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import types
import typing
import warnings
from collections.abc import Callable

from atelier.errors import AtelierError
from atelier.version import __version__

COMMAND_MODULES = ("atelier.cli.common", "atelier.cli.images", "atelier.cli.style", "atelier.cli.translate",
                   "atelier.cli.music", "atelier.cli.examples", "atelier.cli.reproduce",
                   "atelier.cli.studio", "atelier.cli.taste", "atelier.cli.analysis")


def add_dataclass_options(parser: argparse.ArgumentParser, cls: type, *, skip: tuple[str, ...] = (),
                          unset_means: str | None = None) -> None:
    """One ``--option`` per field of a config dataclass, typed and defaulted from the dataclass itself
    (``Optional[X]`` fields take an X). A field's ``metadata["help"]`` becomes its help text.

    ``unset_means``: every option defaults to None, so the command can tell what was given from what
    was not and fill the rest from elsewhere; the text says from where (e.g. "the run's own")."""
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
        shown = f"{text} (default: {default}{', or ' + unset_means if unset_means else ''})"
        given = None if unset_means else default
        if kind is bool:
            parser.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=given,
                                help=shown.strip())
        else:
            parser.add_argument(flag, dest=f.name, type=kind if kind in (int, float, str) else str,
                                default=given, help=shown.strip())


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


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A library warning as the command line shows it: one line on stderr, no source path."""
    text = " ".join(str(message).split())  # one line, whatever the library wrote
    print(f"atelier: warning: {text}", file=sys.stderr if file is None else file)


def main(argv: list[str] | None = None) -> int:
    """Run one ``atelier`` command; returns the exit status (2 for a user error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int | None] = args.handler
    # Library code warns (skipped files, fallbacks); a user reads those as one line, like errors.
    # Restored afterwards: main() also runs inside Python sessions and tests.
    previous = warnings.showwarning
    warnings.showwarning = _show_warning
    try:
        return int(handler(args) or 0)
    except AtelierError as exc:
        print(f"atelier: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print(f"atelier: {exc or 'interrupted'}", file=sys.stderr)
        return 130
    finally:
        warnings.showwarning = previous
