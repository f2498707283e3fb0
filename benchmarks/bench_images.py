"""Image generation: training throughput and peak memory per preset, and the shipped models' metrics."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

PRESETS = ("mlp-gan", "mlp-gan-wide", "dcgan", "cgan", "wgan-gp", "mlp-vae", "conv-vae", "cvae")

# One fresh process per preset, so ru_maxrss is that preset's own peak.
_WORKER = textwrap.dedent("""
    import json, resource, sys, time, torch
    torch.set_num_threads(int(sys.argv[5]))
    from atelier.api import resolve_config
    from atelier.family import DataOptions
    from atelier.training.loop import StepContext, batch_indices, resolve_device
    from atelier.training.distributed import DistInfo
    preset, steps, batch, device = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    family, config = resolve_config(preset)
    data = family.prepare_data(config, "mnist", DataOptions())
    ds = data.train
    task = family.build_task(config, data, seed=0)
    dev = resolve_device(device)
    for m in task.modules.values():
        m.to(dev)
    def step(s):
        x, y = ds.get_batch(batch_indices(len(ds), batch, 0, s))
        ctx = StepContext(step=s, seed=0, device=dev, dist=DistInfo(), optimizers=task.optimizers, global_batch=batch)
        task.train_step((x.to(dev), None if y is None else y.to(dev)), ctx)
    for s in range(3):
        step(s)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for s in range(3, 3 + steps):
        step(s)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    dt = time.perf_counter() - t
    print(json.dumps({"images_per_s": steps * batch / dt, "steps_per_s": steps / dt,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""")


def measure(preset: str, *, steps: int, batch: int = 64, device: str = "cpu", threads: int = 1) -> dict:
    out = subprocess.run([sys.executable, "-c", _WORKER, preset, str(steps), str(batch), device, str(threads)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(quick: bool) -> str:
    from atelier import zoo

    steps = 10 if quick else 40
    rows = ["| preset | images/s | steps/s | peak RSS (MB) |", "|---|---:|---:|---:|"]
    for preset in PRESETS:
        r = measure(preset, steps=steps)
        rows.append(f"| {preset} | {r['images_per_s']:.0f} | {r['steps_per_s']:.1f} | {r['peak_rss_mb']:.0f} |")
    lines = ["## Image generation", "",
             f"Training throughput on the CPU, batch 64 of 28×28 MNIST, {steps} steps after 3 warm-up steps, "
             "one fresh process per preset with one torch thread (the preset's full width, not the zoo's "
             "narrower recipes). With two threads on a 2-core machine that is also busy with other work, "
             "torch's thread pool thrashed and ran up to 100× slower here, so each row pins one thread.",
             "", *rows, ""]
    from atelier.checkpoint import read_header
    from atelier.images.image_family import evaluate_real_data

    def channels(e) -> int:
        return read_header(e.path)["config"].get("channels", 1)

    floor = evaluate_real_data("mnist").metrics
    lines += ["### Shipped models (from `src/atelier/zoo/manifest.json`, measured by `make zoo`)", "",
              "Held-out: the 500 MNIST digits of the seed-0 split; 2,000 samples; features of Atelier's own "
              "digit classifier (not comparable with Inception FID). NLL: IWAE bound with k = 1000, in nats. "
              "Readable: the share of samples the classifier gives ≥ 0.9 to one class; label: the share it reads "
              "as the class asked for (conditional models). The first row is the real-data floor: 2,000 digits "
              "of the training split scored against the same held-out digits, the best a generator of the "
              "training data can do here.", "",
              "| model | steps | train s | FD | KID | IS | precision | recall | readable | label | −ELBO | IWAE NLL |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    models = [("**real digits (floor)**", None, floor)]
    models += [(name, e, e.metrics) for name, e in sorted(zoo.read_manifest().items())
               if e.kind in ("gan", "vae") and channels(e) == 1]
    for name, e, m in models:
        def f(key, fmt="{:.3f}"):
            return fmt.format(m[key]) if key in m else "–"
        steps, seconds = (e.recipe.get("num_steps"), e.recipe.get("train_seconds", "–")) if e else ("–", "–")
        lines.append(f"| {name} | {steps} | {seconds} | {f('fd', '{:.1f}')} | "
                     f"{f('kid_mean', '{:.2f}')} | {f('is_mean', '{:.2f}')} | {f('precision')} | {f('recall')} | "
                     f"{f('confident_share')} | {f('label_accuracy')} | "
                     f"{f('neg_elbo_nats', '{:.1f}')} | {f('iwae_nll_nats_k1000', '{:.1f}')} |")
    lines += ["", *truncation_table("mnist-cgan")]
    rgb = [(name, e) for name, e in sorted(zoo.read_manifest().items())
           if e.kind == "gan" and channels(e) == 3]
    if rgb:
        lines += ["", "RGB models, in EfficientNet-Lite0's feature space against their own held-out images:", "",
                  "| model | data | steps | train s | FD | KID | precision | recall |", "|---|---|---:|---:|---:|---:|---:|---:|"]
        for name, e in rgb:
            m = e.metrics
            lines.append(f"| {name} | {m.get('measured_on', '–')} | {e.recipe.get('num_steps')} | "
                         f"{e.recipe.get('train_seconds', '–')} | {m['fd']:.1f} | {m['kid_mean']:.2f} | "
                         f"{m['precision']:.3f} | {m['recall']:.3f} |")
    return "\n".join(lines)


def truncation_table(name: str) -> list[str]:
    """FD, precision, recall and label accuracy of a shipped conditional GAN at several truncations:
    the evidence for its default (none)."""
    import torch

    from atelier.api import load
    from atelier.data.images import load_images
    from atelier.images.image_family import load_classifier
    from atelier.metrics.images import evaluate_digits

    model, classifier = load(name), load_classifier()
    _, held_out = load_images("mnist").split(seed=0)
    real, _ = held_out.all()
    labels = torch.arange(2000) % model.config.num_classes
    rows = [f"Truncation of `{name}` (2,000 samples, seed 3, against the same held-out digits): a smaller t trades "
            "variety (recall) for typicality (precision). FD is best without truncation, so sampling uses none "
            "unless asked (`--truncation`).", "",
            "| truncation | FD | precision | recall | label |", "|---|---:|---:|---:|---:|"]
    for t in (None, 2.0, 1.5, 1.0):
        images = model.sample(2000, seed=3, labels=labels, truncation=t)
        m = evaluate_digits(images, real, classifier, labels)
        rows.append(f"| {t or 'none'} | {m['fd']:.1f} | {m['precision']:.3f} | {m['recall']:.3f} | "
                    f"{m['label_accuracy']:.3f} |")
    return rows
