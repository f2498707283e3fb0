"""Style-transfer commands: ``stylize``, ``train-style`` and ``export-onnx``.

Each parses its arguments and calls one library function: :func:`atelier.style.transfer.stylize`,
:func:`atelier.style.training.train_style` and :meth:`FastStyleModel.export_onnx`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from atelier.cli import add_dataclass_options, dataclass_from_args
from atelier.errors import AtelierError
from atelier.training import TrainConfig


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stylize", help="paint a photo in the style of one or more paintings")
    p.add_argument("content", help="the photo (png, jpg, webp, bmp, gif, tiff) or a bundled photo name")
    p.add_argument("--style", dest="styles", action="append", default=[], metavar="STYLE",
                   help="a painting file or bundled name (starry_night, the_scream, shipwreck); repeat to mix; "
                        "for --method fast, one of the model's styles")
    p.add_argument("--weights", default=None, metavar="W,W,…", help="one weight per --style, e.g. 0.7,0.3")
    p.add_argument("--method", default="fast", help="gatys (optimisation), fast (trained network) or adain "
                                                     "(any style) (default: fast)")
    p.add_argument("--strength", type=float, default=1.0, help="0 = the photo, 1 = full style (default: 1)")
    p.add_argument("--preserve-color", nargs="?", const="luminance", default=None, metavar="MODE",
                   help="keep the photo's colours: luminance (the default mode) or histogram")
    p.add_argument("--mask", default=None, help="a label picture: region i (i-th grey level, black first) gets style i")
    p.add_argument("--size", type=int, default=None,
                   help="long side of the output in px (default: the photo's, at most 512; gatys: its preset's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", default=None, help="fast/adain: a shipped model or checkpoint "
                                                  "(default: fast-paintings / adain-decoder)")
    p.add_argument("--backbone", default=None, help="gatys: efficientnet-lite0 (default, ImageNet-trained), random-vgg19, "
                                                        "random-multiscale or vgg19")
    p.add_argument("--vgg-weights", default=None, metavar="PATH", help="gatys with --backbone vgg19: ImageNet weights")
    p.add_argument("--preset", default="default", help="gatys: default, fast, quality or adam (default: default)")
    p.add_argument("--num-steps", type=int, default=None, help="gatys: optimisation steps per scale")
    p.add_argument("--max-pixels", type=int, default=None, help="decompression-bomb guard for every input picture")
    p.add_argument("--keep-alpha", action=argparse.BooleanOptionalAction, default=False,
                   help="keep the photo's transparency (png, webp); otherwise it is flattened onto white")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--out", required=True, help="output picture: .png, .jpg or .webp")
    p.set_defaults(handler=_stylize)

    p = sub.add_parser("train-style", help="train a fast-style network or an AdaIN decoder")
    p.add_argument("--styles", nargs="+", default=[], metavar="STYLE",
                   help="paintings (files or bundled names); fast: N styles share one network (CIN); "
                        "adain: training styles, folders allowed (default: the preset's)")
    p.add_argument("--method", default="fast", help="fast or adain (default: fast)")
    p.add_argument("--data", default="photos", help="content photos: a folder or files (default: the bundled photos)")
    p.add_argument("--preset", default=None, help="fast, fast-cin, fast-small, fast-vgg / adain, adain-vgg, adain-full, "
                                                        "adain-relu3")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="change a field of the preset's config, e.g. --set style_weight=20")
    p.add_argument("--out", default=None, help="run folder (default: runs/METHOD-style)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.safetensors")
    p.add_argument("--limit", type=int, default=None, help="use only the first N photos")
    p.add_argument("--batch-size", type=int, default=4, help="crops per step (default: 4, as Johnson et al.)")
    add_dataclass_options(p, TrainConfig, skip=("batch_size",))
    p.set_defaults(handler=_train_style)

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
    from atelier import __version__
    from atelier.imageio import DEFAULT_MAX_PIXELS, WRITE_FORMATS, write_image
    from atelier.style.transfer import stylize

    out = Path(args.out)
    if out.suffix.lower() not in WRITE_FORMATS:  # before minutes of painting, not after
        raise AtelierError(f"--out {out}: unsupported extension {out.suffix or '(none)'!r}; "
                           f"choose one of: {', '.join(WRITE_FORMATS)}")
    if args.max_pixels is not None and args.max_pixels <= 0:
        raise AtelierError(f"--max-pixels must be positive, got {args.max_pixels}")
    result = stylize(
        args.content, args.styles, method=args.method, weights=_weights(args.weights), strength=args.strength,
        preserve_color=args.preserve_color, mask=args.mask, size=args.size, seed=args.seed, model=args.model,
        backbone=args.backbone, vgg_weights=args.vgg_weights,
        preset=args.preset if args.method == "gatys" else "default", num_steps=args.num_steps,
        max_pixels=args.max_pixels or DEFAULT_MAX_PIXELS, keep_alpha=args.keep_alpha,
        progress=args.progress,
    )
    params = {k: v for k, v in vars(args).items() if k not in ("handler", "progress")}
    write_image(result.image, out, metadata={"atelier": __version__, "command": "stylize", "params": params,
                                             **result.metadata})
    w, h = result.image.size
    print(f"wrote {out} ({w}×{h}, {args.method})")
    return 0


def _train_style(args: argparse.Namespace) -> int:
    from atelier.style.training import train_style

    result = train_style(args.method, styles=args.styles, data=args.data, out=args.out, preset=args.preset,
                         overrides=args.overrides, train_config=dataclass_from_args(TrainConfig, args),
                         resume=args.resume, limit=args.limit)
    last = {k: round(v, 4) for k, v in (result.history[-1] if result.history else {}).items()
            if k not in ("step", "metrics")}
    print(f"trained {args.method} to step {result.step}: {last}")
    print(f"checkpoint: {result.checkpoint}")
    return 0


def _export_onnx(args: argparse.Namespace) -> int:
    from atelier.api import load

    model = load(args.model, kind="fast_style")
    path = model.export_onnx(args.out, size=args.size)
    print(f"wrote {path} (inputs: image (N, 3, H, W) in [0, 1] with H, W multiples of 4, "
          f"style_weights (N, {model.config.num_styles}); styles: {', '.join(model.style_names)})")
    return 0
