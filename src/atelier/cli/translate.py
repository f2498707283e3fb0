"""``atelier translate``: turn pictures of one domain into the other with a trained CycleGAN.

Training uses the shared ``atelier train``: ``atelier train cyclegan-64 --data photos:paintings``.
"""

from __future__ import annotations

import argparse

from atelier.api import load, translate
from atelier.api.translate import expand_inputs
from atelier.imageio import READ_EXTENSIONS
from atelier.provenance import make_recipe
from atelier.style.cyclegan import KIND


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("translate", help="CycleGAN: translate images from domain A to B (or B to A)")
    p.add_argument("model", help="a CycleGAN checkpoint (from `atelier train cyclegan-…`) or shipped model name")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, or folders of images")
    p.add_argument("--direction", default="a2b", help="a2b (G_AB) or b2a (G_BA) (default: a2b)")
    p.add_argument("--size", type=int, default=None,
                   help="short side in pixels, a multiple of 4; aspect ratio kept (default: the training size)")
    p.add_argument("--out", required=True, help="an image file (.png/.jpg/.webp) for one input, or a folder")
    p.add_argument("--compare", action="store_true", help="write each input beside its translation")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True, help="show a progress bar")
    p.set_defaults(handler=_translate)


def _translate(args: argparse.Namespace) -> int:
    model = load(args.model, kind=KIND)  # first: a bad checkpoint is the first thing to report
    params = {"inputs": [str(f) for f in expand_inputs(args.inputs, READ_EXTENSIONS)], "direction": args.direction,
              "size": args.size, "compare": args.compare}
    # Each file records the one input it came from ("input", added by translate) among all of them.
    recipe = make_recipe("translate", params, model=args.model, input_params=["inputs"])
    paths = translate(model, args.inputs, out=args.out, direction=args.direction, size=args.size,
                      compare=args.compare, metadata=recipe, progress=args.progress)
    where = paths[0] if len(paths) == 1 else f"{paths[0].parent}/"
    print(f"translated {len(paths)} image{'s' if len(paths) != 1 else ''} {args.direction}: {where}")
    return 0
