"""Music: corpus parsing (cold and cached), training speed per preset, batched generation, and the
held-out metrics of the shipped music models (read from the zoo manifest)."""

from __future__ import annotations

import tempfile
import time

import torch

PARSE_SOURCE = "bach-soprano"  # 350 MusicXML chorales; the cold parse runs in a fresh cache folder
QUICK_PARSE_LIMIT = 40
GENERATE_N, GENERATE_BARS = 1000, 16
SHIPPED_RNN, SHIPPED_VAE = "essen-melody-rnn", "essen-musicvae-2bar"


def _seconds(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _parse_times(quick: bool) -> tuple[list[str], object]:
    from atelier.data.music import load_melodies

    limit = QUICK_PARSE_LIMIT if quick else None
    with tempfile.TemporaryDirectory() as cache:
        cold, corpus = _seconds(lambda: load_melodies(PARSE_SOURCE, limit=limit, cache_dir=cache))
        cached, _ = _seconds(lambda: load_melodies(PARSE_SOURCE, limit=limit, cache_dir=cache))
    what = f"{PARSE_SOURCE}, first {limit} files" if limit else f"{PARSE_SOURCE}, all files"
    rows = [f"| {what} | {len(corpus)} | {cold:.1f} | {cached:.2f} |"]
    lines = ["### Corpus parsing", "",
             "music21 parses the files once; the notes are then cached as `.npz` (never a pickle).", "",
             "| corpus | melodies | cold (s) | cached (s) |", "|---|---:|---:|---:|", *rows, ""]
    return lines, corpus


def _training_speed(corpus, quick: bool) -> list[str]:
    from atelier.data.melodies import STEPS_PER_BAR, MelodyData, window_tensor
    from atelier.family import get_preset
    from atelier.training.distributed import DistInfo
    from atelier.training.loop import StepContext

    steps = 3 if quick else 15
    rows = []
    for preset, batch_size in (("melody-rnn", 64), ("melody-rnn-lookback", 64), ("melody-rnn-attention", 64),
                               ("musicvae-2bar", 64), ("musicvae-16bar", 32)):
        family, config = get_preset(preset)
        length, _ = family.windows(config)
        windows = window_tensor(corpus, encoding=config.encoding, window_steps=length, hop_steps=STEPS_PER_BAR)
        while windows.shape[0] < batch_size:
            windows = torch.cat([windows, windows])
        task = family.build_task(config, MelodyData(train=windows, fingerprint=""), seed=0)

        def step(s: int) -> None:
            ctx = StepContext(step=s, seed=0, device=torch.device("cpu"), dist=DistInfo(),
                              optimizers=task.optimizers, global_batch=batch_size)
            task.train_step(windows[(torch.arange(batch_size) + s * batch_size) % windows.shape[0]], ctx)

        step(0)  # warm-up
        elapsed, _ = _seconds(lambda: [step(s) for s in range(1, steps + 1)])
        params = sum(p.numel() for p in task.network.parameters())
        rows.append(f"| {preset} | {params:,} | {batch_size} × {length} | {steps / elapsed:.2f} |")
    return ["### Training speed", "",
            f"Optimizer steps per second on the CPU, mean of {steps} steps "
            "after one warm-up, on windows of real chorales.", "",
            "| preset | parameters | batch × steps | steps/s |", "|---|---:|---:|---:|", *rows, ""]


def _generation(quick: bool) -> list[str]:
    from atelier import zoo
    from atelier.api import load

    shipped = zoo.read_manifest()
    n = 100 if quick else GENERATE_N
    rows = []
    if SHIPPED_RNN in shipped:
        model = load(SHIPPED_RNN)
        elapsed, melodies = _seconds(lambda: model.sample(n, bars=GENERATE_BARS, temperature=1.0, seed=0))
        rows.append(f"| {SHIPPED_RNN} | {n} × {GENERATE_BARS} bars | {elapsed:.1f} | {n / elapsed:.0f} |")
        elapsed, _ = _seconds(lambda: model.sample(n // 10, bars=GENERATE_BARS, seed=0, beam_size=2, branch_factor=2,
                                                   steps_per_iteration=16))
        rows.append(f"| {SHIPPED_RNN}, beam 2 × branch 2 | {n // 10} × {GENERATE_BARS} bars | {elapsed:.1f} | "
                    f"{n // 10 / elapsed:.0f} |")
    for name in (SHIPPED_VAE, "essen-musicvae-16bar"):
        if name in shipped:
            model = load(name)
            elapsed, _ = _seconds(lambda: model.sample(n, seed=0))
            rows.append(f"| {name} | {n} × {model.bars} bars | {elapsed:.1f} | {n / elapsed:.0f} |")
    if not rows:
        return ["### Generation", "", "No shipped music model is installed; run `make zoo`.", ""]
    return ["### Generation", "",
            "One batch, sampled event by event at temperature 1 (the MusicVAE: from the prior).", "",
            "| model | melodies | seconds | melodies/s |", "|---|---:|---:|---:|", *rows, ""]


def _shipped_metrics() -> list[str]:
    from atelier import zoo

    keys = [("held_out_loss", "loss (nats/step)"), ("held_out_perplexity", "perplexity"),
            ("held_out_accuracy", "accuracy"), ("held_out_event_accuracy", "event acc."),
            ("held_out_no_event_accuracy", "no-event acc."),
            ("held_out_teacher_forced_accuracy", "recon. teacher-forced"),
            ("held_out_sampled_accuracy", "recon. sampled"), ("held_out_neg_elbo", "−ELBO (nats/melody)"),
            ("feature_overlap_mean", "feature overlap")]
    rows = []
    for name, entry in sorted(zoo.read_manifest().items()):
        if entry.kind not in ("melody_rnn", "music_vae"):
            continue
        cells = [f"{entry.metrics[k]:.3f}" if k in entry.metrics else "" for k, _ in keys]
        steps = entry.recipe.get("num_steps", "")
        rows.append(f"| {name} | {entry.recipe.get('data', '')} | {steps} | " + " | ".join(cells) + " |")
    if not rows:
        return ["### Shipped models", "", "No shipped music model is installed; run `make zoo`.", ""]
    return ["### Shipped models on held-out pieces", "",
            "From `src/atelier/zoo/manifest.json`, measured by each recipe's `atelier evaluate` on the pieces "
            "its split held out (seed 0, 10 %). The MusicVAE paper's 2-bar melody model: 0.986 teacher-forced, "
            "0.951 sampled, trained on far more data.", "",
            "| model | data | steps | " + " | ".join(label for _, label in keys) + " |",
            "|---|---|---:|" + "---:|" * len(keys), *rows, ""]


def run(quick: bool) -> str:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: a shared 2-core machine gives steadier numbers
    try:
        lines = ["## Music", "", "Measured with one torch thread.", ""]
        parse_lines, corpus = _parse_times(quick)
        lines += parse_lines
        lines += _training_speed(corpus, quick)
        lines += _generation(quick)
        lines += _shipped_metrics()
    finally:
        torch.set_num_threads(threads)
    return "\n".join(lines)
