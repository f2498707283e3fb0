"""Commands every family shares: train, presets, models, evaluate, interpolate, demo."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from atelier import zoo
from atelier.api import evaluate, train
from atelier.api.training import default_train_config, saved_run
from atelier.cli import add_dataclass_options
from atelier.family import DataOptions, EvalOptions, all_presets, get_preset
from atelier.style.gatys import GATYS_PRESETS
from atelier.io import write_text
from atelier.training import TrainConfig


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model from a preset on a dataset")
    p.add_argument("preset", help="a preset name (see `atelier presets`)")
    p.add_argument("--data", default=None, help="built-in dataset name or a path (default: the family's own)")
    p.add_argument("--out", default=None, help="run folder (default: runs/PRESET)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its newest checkpoint, with its own config, data and batch size")
    p.add_argument("--overwrite", action="store_true",
                   help="start over in an --out that holds a run (its checkpoints, losses and samples are replaced)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="change a field of the preset's config (repeatable), e.g. --set loss=hinge")
    add_dataclass_options(p, DataOptions, unset_means="the run's own with --resume")
    add_dataclass_options(p, TrainConfig, unset_means="the model family's own, or the run's with --resume")
    p.set_defaults(handler=_train)

    p = sub.add_parser("presets", help="list the named model presets, one line each on what sets it apart")
    p.set_defaults(handler=_presets)

    p = sub.add_parser("models", help="list the shipped models")
    p.set_defaults(handler=_models)

    p = sub.add_parser("evaluate", help="score a model on held-out data")
    p.add_argument("model", help="checkpoint path or shipped model name")
    p.add_argument("--data", default=None, help="evaluation dataset (default: the model's own kind of data)")
    p.add_argument("--num-samples", type=int, default=2000, help="generated samples to score (default: 2000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated samples (default: 0)")
    p.add_argument("--iwae-k", type=int, default=1000, help="importance samples for a VAE's NLL (default: 1000)")
    p.add_argument("--split-seed", type=int, default=0, help="seed of the held-out split (default: 0)")
    p.add_argument("--json", default=None, metavar="PATH", help="also write the report as JSON")
    p.set_defaults(handler=_evaluate)

    p = sub.add_parser("demo", help="build the gallery of shipped models (the main job of `make demo`)")
    p.add_argument("--out", default="gallery", help="output folder (default: gallery)")
    p.add_argument("--quick", action="store_true", help="fewer evaluation samples")
    p.set_defaults(handler=_demo)


def _train(args: argparse.Namespace) -> int:
    family, _ = get_preset(args.preset)
    loop = _given(args, TrainConfig)
    data_options = _given(args, DataOptions)
    if args.resume:  # the run's own settings, changed only where the command line says so
        run = saved_run(args.out) if args.out else None
        train_config = dataclasses.replace(run.train_config, **loop) if run and loop else None
        options = dataclasses.replace(run.options, **data_options) if run and data_options else None
    else:
        train_config = default_train_config(family, **loop)
        options = DataOptions(**data_options)
    result = train(args.preset, data=args.data, out=args.out, overrides=args.overrides, train_config=train_config,
                   resume=args.resume, overwrite=args.overwrite, options=options)
    last = {k: round(v, 4) for k, v in (result.history[-1] if result.history else {}).items() if k not in ("step", "metrics")}
    print(f"trained {args.preset} to step {result.step}: {last}")
    if result.metrics:
        print("validation: " + ", ".join(f"{k} {v:.4f}" for k, v in result.metrics.items()))
    print(f"checkpoint: {result.checkpoint}")
    return 0


def _given(args: argparse.Namespace, cls: type) -> dict:
    """The fields of ``cls`` given on the command line (unset options are None)."""
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if getattr(args, f.name) is not None}


def _presets(args: argparse.Namespace) -> int:
    # One line per preset: its family's note on it, which tells siblings apart (dcgan-32-rgb from
    # dcgan-64-rgb); a family that has none (one registered from outside) shows its description.
    for name, (family, config) in sorted(all_presets().items()):
        print(f"{name:<22} {family.kind:<11} {family.preset_notes.get(name, family.description)}")
    for name, gatys in GATYS_PRESETS.items():  # optimisation settings, told apart by their numbers
        scales = ", ".join(str(s) for s in gatys.scales)
        print(f"{'gatys-' + name if not name.startswith('gatys') else name:<22} {'gatys':<11} "
              f"Gatys optimisation at {scales} px, {gatys.num_steps} {gatys.optimizer} steps each; nothing to train "
              f"(`atelier stylize --method gatys --preset {name}`)")
    return 0


def _models(args: argparse.Namespace) -> int:
    entries = zoo.read_manifest()
    if not entries:
        print("no shipped models are installed")
    for name, e in sorted(entries.items()):
        print(f"{name:<22} {e.kind:<11} {e.description}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    report = evaluate(args.model, options=EvalOptions(data=args.data, num_samples=args.num_samples, seed=args.seed,
                                                      iwae_k=args.iwae_k, split_seed=args.split_seed))
    print(report.table())
    if args.json:
        write_text(Path(args.json), report.to_json() + "\n")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from atelier.gallery import build_gallery

    index = build_gallery(Path(args.out), quick=args.quick)
    print(f"gallery written: {index}")
    return 0

