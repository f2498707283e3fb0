"""Style transfer: seconds and peak memory per method at 256 and 512 px; style and content distances.

Each (method, size) runs in a fresh process on 2 threads, so ru_maxrss is its own peak. The photo is
the bundled ``astronaut``, the painting the bundled ``starry_night``; fast and AdaIN use the shipped
models, Gatys its ``default`` preset (128 then 256 px, 100 L-BFGS steps each; for 512 px the same
ratios, 256 then 512 px).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

METHODS = ("gatys", "fast", "adain")
SIZES = (256, 512)
BACKBONES = ("random-vgg19", "random-multiscale")

_WORKER = textwrap.dedent("""
    import json, resource, sys, time, torch
    torch.set_num_threads(2)
    from atelier.style.transfer import stylize
    from atelier.style.data import load_image
    method, size, steps, repeats = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    kwargs = {"num_steps": int(steps)} if method == "gatys" and steps != "default" else {}
    style = ["starry_night"]
    if method != "gatys":  # load the model and warm up once
        stylize("astronaut", style, method=method, size=size)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        result = stylize("astronaut", style, method=method, size=size, **kwargs)
        times.append(time.perf_counter() - t)
    out = {"seconds": min(times), "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if size == 256:
        from atelier.metrics.style import content_distance, style_distance
        content, painting = load_image("astronaut"), load_image("starry_night")
        for backbone in sys.argv[5].split(","):
            key = backbone.replace("-", "_")
            out["style_" + key] = style_distance(result.tensor, painting, backbone=backbone)
            out["content_" + key] = content_distance(result.tensor, content, backbone=backbone)
            if method == "fast":  # the untouched photo, once: the baseline
                from atelier.style.data import resize_long_side
                photo = resize_long_side(content, 256)
                out["photo_style_" + key] = style_distance(photo, painting, backbone=backbone)
    print(json.dumps(out))
""")


def measure(method: str, size: int, *, steps: str = "default", repeats: int = 1) -> dict:
    proc = subprocess.run([sys.executable, "-c", _WORKER, method, str(size), steps, str(repeats), ",".join(BACKBONES)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"bench_style {method} {size}: {proc.stderr.strip().splitlines()[-1]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(quick: bool) -> str:
    # Quick: Gatys with 10 steps per scale instead of 100, one repetition (its time is then not the preset's).
    results = {}
    for method in METHODS:
        for size in SIZES:
            steps = "10" if quick and method == "gatys" else "default"
            results[method, size] = measure(method, size, steps=steps, repeats=1 if method == "gatys" or quick else 3)
    lines = ["## Style transfer", "",
             "Stylizing the bundled `astronaut` photo with the bundled `starry_night` painting: "
             "`atelier stylize astronaut --style starry_night --method METHOD --size SIZE --out out.png`. "
             "One fresh process per row, `torch.set_num_threads(2)`; seconds are the best of "
             f"{'1' if quick else '3'} runs after a warm-up (Gatys: one run), excluding model loading; "
             "peak RSS includes PyTorch itself (~300 MB)." + (" Quick run: Gatys with 10 steps per scale." if quick else ""),
             "", "| method | 256 px (s) | 512 px (s) | peak RSS 256 / 512 (MB) |", "|---|---:|---:|---:|"]
    for method in METHODS:
        a, b = results[method, 256], results[method, 512]
        lines.append(f"| {method} | {a['seconds']:.2f} | {b['seconds']:.2f} | "
                     f"{a['peak_rss_mb']:.0f} / {b['peak_rss_mb']:.0f} |")
    lines += ["", "### Style and content distance per backbone (256 px)", "",
              "Relative squared distances (`atelier.metrics.style`): the Gram matrices of the output against the "
              "painting's over the backbone's style layers, and its features against the photo's over the "
              "content layers. 0 is identical; the photo's own style distance is the baseline.", "",
              "| method | " + " | ".join(f"style ({b}) | content ({b})" for b in BACKBONES) + " |",
              "|---|" + "---:|" * (2 * len(BACKBONES))]
    base = results["fast", 256]
    lines.append("| the photo itself | " + " | ".join(f"{base['photo_style_' + b.replace('-', '_')]:.3f} | 0" for b in BACKBONES) + " |")
    for method in METHODS:
        r = results[method, 256]
        cells = [f"{r['style_' + b.replace('-', '_')]:.3f} | {r['content_' + b.replace('-', '_')]:.3f}" for b in BACKBONES]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
