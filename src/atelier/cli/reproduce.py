"""``atelier reproduce FILE``: regenerate an artefact from the recipe inside it and compare."""

from __future__ import annotations

import argparse

from atelier.api import reproduce


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reproduce", help="regenerate an artefact (picture, GIF, MIDI, WAV, MusicXML, .npz) from the recipe inside it")
    p.add_argument("file", help="a PNG, JPEG, WebP, GIF, MIDI, WAV, MusicXML or .npz file Atelier wrote")
    p.add_argument("--out", default=None, help="where the regenerated file goes (default: FILE.reproduced.EXT)")
    p.set_defaults(handler=_reproduce)


def _reproduce(args: argparse.Namespace) -> int:
    report = reproduce(args.file, out=args.out)
    print(f"{report}: {report.reproduced}")
    return 0 if report.identical else 1  # scripts can tell a drift from a match
