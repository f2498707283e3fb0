"""CycleGAN: training steps/s and peak memory at 64 and 128 px, translation images/s at 256 px."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

# (preset, training image size, batch size): the presets CPU users train, at batch 1 as in the paper.
TRAIN_CASES = (("cyclegan-tiny", 32, 1), ("cyclegan-64", 64, 1), ("cyclegan-64", 128, 1))
TRANSLATE_CASES = (("cyclegan-64", 256), ("cyclegan-256", 256))  # the generator's preset, picture side

# One fresh process per case, so ru_maxrss is that case's own peak. Random weights: speed only.
_TRAIN_WORKER = textwrap.dedent("""
    import dataclasses, json, resource, sys, time, torch
    torch.set_num_threads(1)
    from atelier.data.unpaired import synthetic_domains, unpaired
    from atelier.style import cyclegan as cg
    from atelier.training.loop import StepContext, resolve_device
    from atelier.training.distributed import DistInfo
    preset, size, batch, steps, device = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    config = dataclasses.replace(cg.PRESETS[preset], image_size=size)
    a, b = synthetic_domains("squares-circles", size=size, n=16)
    data = unpaired(a, b)
    task = cg.build_task(config, seed=0)
    dev = resolve_device(device)
    for m in task.modules.values():
        m.to(dev)
    def step(s):
        x_a, x_b = data.get_batch(torch.arange(s * batch, (s + 1) * batch) % len(data))
        ctx = StepContext(step=s, seed=0, device=dev, dist=DistInfo(), optimizers=task.optimizers, global_batch=batch)
        task.train_step((x_a.to(dev), x_b.to(dev)), ctx)
    step(0)  # warm-up
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t, cpu = time.perf_counter(), time.process_time()
    for s in range(1, 1 + steps):
        step(s)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    dt, dcpu = time.perf_counter() - t, time.process_time() - cpu
    print(json.dumps({"steps_per_s": steps / dt, "cpu_s_per_step": dcpu / steps,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""")

_TRANSLATE_WORKER = textwrap.dedent("""
    import json, resource, sys, time, torch
    torch.set_num_threads(1)
    from atelier.data.unpaired import synthetic_domains, unpaired
    from atelier.style import cyclegan as cg
    preset, size, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    config = cg.PRESETS[preset]
    task = cg.build_task(config, seed=0)
    model = cg.CycleGANModel(config, task.G_AB, task.G_BA)
    x = torch.rand(1, config.channels, size, size) * 2 - 1
    model.translate(x)  # warm-up
    t, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        model.translate(x)
    dt, dcpu = time.perf_counter() - t, time.process_time() - cpu
    print(json.dumps({"images_per_s": n / dt, "cpu_s_per_image": dcpu / n,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""")


def _run(worker: str, *args: object) -> dict:
    out = subprocess.run([sys.executable, "-c", worker, *map(str, args)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(quick: bool) -> str:
    steps, n_images = (2, 2) if quick else (5, 4)
    rows = ["| preset | image size | batch | steps/s | CPU s/step | peak RSS (MB) |", "|---|---:|---:|---:|---:|---:|"]
    for preset, size, batch in TRAIN_CASES:
        r = _run(_TRAIN_WORKER, preset, size, batch, steps, "cpu")
        rows.append(f"| {preset} | {size} | {batch} | {r['steps_per_s']:.2f} | {r['cpu_s_per_step']:.2f} | "
                    f"{r['peak_rss_mb']:.0f} |")
    trans = ["| generator of | picture | images/s | CPU s/image | peak RSS (MB) |", "|---|---:|---:|---:|---:|"]
    for preset, size in TRANSLATE_CASES:
        r = _run(_TRANSLATE_WORKER, preset, size, n_images)
        trans.append(f"| {preset} | {size}×{size} | {r['images_per_s']:.2f} | {r['cpu_s_per_image']:.2f} | "
                     f"{r['peak_rss_mb']:.0f} |")
    return "\n".join([
        "## CycleGAN", "",
        f"Training on the CPU: one step updates both generators and both discriminators (two images, one "
        f"per domain, per batch item); {steps} steps after a warm-up step, one fresh process with one thread "
        "per row, random weights on the built-in squares/discs domains. `cyclegan-64` at 128 px is the same "
        "network on larger crops. steps/s is wall time; CPU s/step is the process's CPU time, which other "
        "work on a shared machine slows less.", "", *rows, "",
        f"Translation (`CycleGANModel.translate`, one picture at a time, {n_images} after a warm-up), the "
        "generator of each preset (`cyclegan-256` is the paper's 9-block network):", "", *trans,
    ])
