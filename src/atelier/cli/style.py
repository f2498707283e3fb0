"""Style-transfer commands: ``stylize`` and ``export-onnx``.

Each parses its arguments and calls one library function: :func:`atelier.stylize` and
:meth:`FastStyleModel.export_onnx`. Fast-style networks and AdaIN decoders train with
``atelier train`` like every other model (``atelier train fast --set styles=a.jpg,b.jpg``).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from atelier.api import load
from atelier.api.style import DEFAULT_MODELS, stylize
from atelier.cli.taste import add_taste_option
from atelier.errors import AtelierError
from atelier.imageio import ALPHA_EXTENSIONS, WRITE_FORMATS, write_image
from atelier.provenance import make_recipe


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stylize", help="paint a photo in the style of one or more paintings")
    p.add_argument("content", help="the photo (png, jpg, webp, bmp, gif, tiff) or a bundled photo name")
    p.add_argument("--style", dest="styles", action="append", default=[], metavar="STYLE",
                   help="a painting file or bundled name (starry_night, the_scream, shipwreck); repeat to mix; "
                        "for --method fast, one of the model's styles")
    p.add_argument("--weights", default=None, metavar="W,W,…", help="one weight per --style, e.g. 0.7,0.3")
    # argparse reads "-1,2" as an unknown option (its negative-number pattern takes only "-1" or
    # "-0.5") and says "expected one argument"; a list of numbers starting with a minus sign is a
    # value here, so --weights -1,2 reaches Atelier's own check ("must be >= 0").
    p._negative_number_matcher = re.compile(r"^-\.?\d[\d.,]*$")
    p.add_argument("--method", default="fast", help="gatys (optimisation), fast (trained network) or adain "
                                                     "(any style) (default: fast)")
    p.add_argument("--strength", type=float, default=1.0, help="0 = the photo, 1 = full style (default: 1)")
    p.add_argument("--preserve-color", nargs="?", const="luminance", default=None, metavar="MODE",
                   help="keep the photo's colours: luminance (the default mode) or histogram")
    p.add_argument("--mask", default=None, help="a label picture: region i (i-th grey level, black first) gets style i")
    p.add_argument("--size", type=int, default=None,
                   help="long side of the output in px (default: the photo's, at most 512; gatys: its preset's)")
    p.add_argument("--seed", type=int, default=0,
                   help="gatys: seed of the random backbones and the starting noise; the networks are "
                        "deterministic (default: 0)")
    p.add_argument("--model", default=None, help="fast/adain: a shipped model or checkpoint "
                                                  "(default: fast-paintings / adain-decoder)")
    p.add_argument("--backbone", default=None, help="gatys: efficientnet-lite0 (default, ImageNet-trained), random-vgg19, "
                                                        "random-multiscale or vgg19")
    p.add_argument("--vgg-weights", default=None, metavar="PATH", help="gatys with --backbone vgg19: ImageNet weights")
    p.add_argument("--preset", default="default", help="gatys: default, fast, quality or adam (default: default)")
    p.add_argument("--num-steps", type=int, default=None, help="gatys: optimisation steps per scale")
    p.add_argument("--max-pixels", type=int, default=None, help="decompression-bomb guard for every input picture")
    p.add_argument("--keep-alpha", action=argparse.BooleanOptionalAction, default=False,
                   help="keep the photo's transparency (an --out of .png or .webp); otherwise it is flattened "
                        "onto white")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                   help="gatys: show a progress bar of the optimisation")
    p.add_argument("--out", required=True, help="output picture: .png, .jpg or .webp")
    add_taste_option(p, "(fast styles) the blend and strength this person is predicted to like most for this photo")
    p.set_defaults(handler=_stylize)

    p = sub.add_parser("export-onnx", help="export a fast-style network to ONNX")
    p.add_argument("model", help="a shipped fast-style model or a checkpoint")
    p.add_argument("--out", required=True, help="the .onnx file")
    p.add_argument("--size", type=int, default=256, help="side of the tracing example, a multiple of 4 (default: 256)")
    p.set_defaults(handler=_export_onnx)


def _weights(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(w) for w in text.split(",")]
    except ValueError:
        raise AtelierError(f"--weights {text!r}: expected numbers separated by commas, e.g. 0.7,0.3") from None


def _stylize(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.suffix.lower() not in WRITE_FORMATS:  # before minutes of painting, not after
        raise AtelierError(f"--out {out}: unsupported extension {out.suffix or '(none)'!r}; "
                           f"choose one of: {', '.join(WRITE_FORMATS)}")
    if args.keep_alpha and out.suffix.lower() not in ALPHA_EXTENSIONS:
        raise AtelierError(f"--keep-alpha: {out.suffix.lower()} files have no transparency; write a "
                           f"{' or '.join(ALPHA_EXTENSIONS)} file, or leave --keep-alpha out")
    if args.max_pixels is not None and args.max_pixels <= 0:
        raise AtelierError(f"--max-pixels must be positive, got {args.max_pixels}")
    if args.taste is not None:
        from atelier.cli.taste import for_me_command

        if args.method != "fast" or args.weights is not None or args.mask is not None:
            raise AtelierError("--taste chooses a fast network's blend and strength for you; use --method fast and "
                               "leave out --weights and --mask")
        args.model = args.model or DEFAULT_MODELS["fast"]
        return for_me_command(args, n=1, photo=args.content)
    # --preset and --progress have defaults; they reach the library only for the method they belong to.
    gatys = {"preset": args.preset} if args.method == "gatys" else {}
    options = dict(weights=_weights(args.weights), strength=args.strength, preserve_color=args.preserve_color,
                   mask=args.mask, size=args.size, seed=args.seed, backbone=args.backbone,
                   vgg_weights=args.vgg_weights, num_steps=args.num_steps, max_pixels=args.max_pixels,
                   keep_alpha=args.keep_alpha, **gatys)
    model = args.model or DEFAULT_MODELS.get(args.method)  # recorded by name, so reproduce finds the same one
    result = stylize(args.content, args.styles, method=args.method, model=model,
                     progress=args.progress if gatys else None, **options)
    params = {"content": args.content, "styles": args.styles, "method": args.method, **options}
    recipe = make_recipe("stylize", params, model=model, input_params=["content", "styles", "mask", "vgg_weights"])
    write_image(result.image, out, metadata={**result.metadata, **recipe})
    w, h = result.image.size
    print(f"wrote {out} ({w}×{h}, {args.method})")
    return 0


def _export_onnx(args: argparse.Namespace) -> int:
    model = load(args.model, kind="fast_style")
    path = model.export_onnx(args.out, size=args.size)
    print(f"wrote {path} (inputs: image (N, 3, H, W) in [0, 1] with H, W multiples of 4, "
          f"style_weights (N, {model.config.num_styles}); styles: {', '.join(model.style_names)})")
    return 0
