"""``atelier examples``: write the inputs the README's tour uses (digits, a photo, a painting, two tunes)."""

from __future__ import annotations

import argparse

from atelier.data.examples import write_examples


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("examples", help="write example inputs to try every command on (the README's tour uses them)")
    p.add_argument("--out", required=True,
                   help="folder to write into (made if needed): a.png and b.png (two MNIST digits), photo.jpg "
                        "(a bundled photo), my_painting.jpg (a bundled painting), a.mid and b.mid (two folk tunes)")
    p.add_argument("--overwrite", action="store_true", help="replace files of the same names in --out")
    p.set_defaults(handler=_examples)


def _examples(args: argparse.Namespace) -> int:
    paths = write_examples(args.out, overwrite=args.overwrite)
    print(f"wrote {', '.join(p.name for p in paths)} to {args.out}")
    return 0
