"""Commands every family shares: train, presets, models, evaluate, interpolate, demo."""

from __future__ import annotations

import argparse
from pathlib import Path

from atelier.cli import add_dataclass_options, dataclass_from_args
from atelier.training import TrainConfig


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model from a preset on a dataset")
    p.add_argument("preset", help="a preset name (see `atelier presets`)")
    p.add_argument("--data", default=None, help="built-in dataset name or a path (default: the family's own)")
    p.add_argument("--out", default=None, help="run folder (default: runs/PRESET)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.safetensors")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="change a field of the preset's config (repeatable), e.g. --set loss=hinge")
    p.add_argument("--val-fraction", type=float, default=0.1, help="held-out share of the data (default: 0.1)")
    p.add_argument("--split-seed", type=int, default=0, help="seed of the train/validation split (default: 0)")
    p.add_argument("--limit", type=int, default=None, help="use only the first N items of the data")
    p.add_argument("--strict", action="store_true", help="stop at the first unreadable image instead of skipping it")
    p.add_argument("--max-pixels", type=int, default=None, help="decompression-bomb guard for image files")
    add_dataclass_options(p, TrainConfig)
    p.set_defaults(handler=_train)

    p = sub.add_parser("presets", help="list the named model presets")
    p.set_defaults(handler=_presets)

    p = sub.add_parser("models", help="list the shipped models")
    p.set_defaults(handler=_models)

    p = sub.add_parser("evaluate", help="score a model on held-out data")
    p.add_argument("model", help="checkpoint path or shipped model name")
    p.add_argument("--data", default=None, help="evaluation dataset (default: the model's own kind of data)")
    p.add_argument("--num-samples", type=int, default=2000, help="generated samples to score (default: 2000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--iwae-k", type=int, default=1000, help="importance samples for a VAE's NLL (default: 1000)")
    p.add_argument("--split-seed", type=int, default=0, help="seed of the held-out split (default: 0)")
    p.add_argument("--json", default=None, metavar="PATH", help="also write the report as JSON")
    p.set_defaults(handler=_evaluate)

    p = sub.add_parser("demo", help="build the gallery of shipped models (the main job of `make demo`)")
    p.add_argument("--out", default="gallery", help="output folder (default: gallery)")
    p.add_argument("--quick", action="store_true", help="fewer evaluation samples")
    p.set_defaults(handler=_demo)


def _train(args: argparse.Namespace) -> int:
    from atelier.api import train
    from atelier.config import get_preset

    family, _ = get_preset(args.preset)
    data = args.data or getattr(family.load_module(), "DEFAULT_DATA", "mnist")
    config = dataclass_from_args(TrainConfig, args)
    result = train(args.preset, data=data, out=args.out, overrides=args.overrides, train_config=config,
                   resume=args.resume, val_fraction=args.val_fraction, split_seed=args.split_seed,
                   strict=args.strict, max_pixels=args.max_pixels, limit=args.limit)
    last = {k: round(v, 4) for k, v in (result.history[-1] if result.history else {}).items() if k not in ("step", "metrics")}
    print(f"trained {args.preset} to step {result.step}: {last}")
    if result.metrics:
        print("validation: " + ", ".join(f"{k} {v:.4f}" for k, v in result.metrics.items()))
    print(f"checkpoint: {result.checkpoint}")
    return 0


def _presets(args: argparse.Namespace) -> int:
    from atelier.config import all_presets

    for name, (family, config) in sorted(all_presets().items()):
        print(f"{name:<22} {family.kind:<11} {family.description}")
    return 0


def _models(args: argparse.Namespace) -> int:
    from atelier import zoo

    entries = zoo.read_manifest()
    if not entries:
        print("no shipped models are installed")
    for name, e in sorted(entries.items()):
        print(f"{name:<22} {e.kind:<11} {e.description}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from atelier.api import evaluate

    report = evaluate(args.model, data=args.data, num_samples=args.num_samples, seed=args.seed,
                      iwae_k=args.iwae_k, split_seed=args.split_seed)
    print(report.table())
    if args.json:
        from atelier.io import write_text

        write_text(Path(args.json), report.to_json() + "\n")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from atelier.gallery import build_gallery

    index = build_gallery(Path(args.out), quick=args.quick)
    print(f"gallery written: {index}")
    return 0

