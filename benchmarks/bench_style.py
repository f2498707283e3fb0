"""Style transfer: time per method at 256 and 512 px, and quality on photos no model trained on.

Speed. Gatys is timed as the whole command a user types (``atelier stylize ... --method gatys``,
a fresh process: imports, loading, optimisation, writing the file). Fast and AdaIN are timed in
process, the best of 3 after a warm-up, model loading excluded. Each runs in its own process on
2 threads, so ru_maxrss is its own peak.

Quality. Each held-out photo (``HELD_OUT_PHOTOS``) in each bundled painting by each method, at
256 px. Every method optimises in EfficientNet-Lite0's features, so the style distance is measured
in two feature spaces none of them was optimised in (the random VGG-19 and the random multi-scale
network, :mod:`atelier.metrics.style`), as a ratio to the photo's own distance (1 = no change, 0 =
the painting's statistics). Content is kept if the SSIM of the output's luminance with the
photo's stays high (1 = identical). The Lite0 Fréchet distance compares 96 px crops of all of a
method's pictures with crops of the paintings, against the photos' own.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

METHODS = ("gatys", "fast", "adain")
SIZES = (256, 512)
BACKBONES = ("random-vgg19", "random-multiscale")

_SPEED = textwrap.dedent("""
    import json, resource, sys, time, torch
    torch.set_num_threads(2)
    from atelier import stylize
    method, size, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    stylize("astronaut", ["starry_night"], method=method, size=size)  # load the model, warm up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        stylize("astronaut", ["starry_night"], method=method, size=size)
        times.append(time.perf_counter() - t)
    print(json.dumps({"seconds": min(times), "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""")

_QUALITY = textwrap.dedent("""
    import json, sys, torch
    torch.set_num_threads(2)
    import numpy as np
    from skimage.metrics import structural_similarity
    from atelier.api import load
    from atelier.metrics.style import style_distance
    from atelier import stylize
    from atelier.data.photos import HELD_OUT_PHOTOS, PAINTINGS, load_image, resize_long_side
    from atelier.style.features import build_backbone
    backbones = {b: build_backbone(b) for b in sys.argv[2].split(",")}
    method, out_dir = sys.argv[1], sys.argv[3]
    luma = lambda t: (0.299 * t[0, 0] + 0.587 * t[0, 1] + 0.114 * t[0, 2]).numpy().astype(np.float64)
    rows = []
    trained_on = set(load("adain-decoder").config.styles) if method == "adain" else set(PAINTINGS)
    for photo_name in HELD_OUT_PHOTOS:
        photo = resize_long_side(load_image(photo_name), 256)
        for painting_name in PAINTINGS:
            painting = load_image(painting_name)
            out = stylize(photo, [painting_name], method=method).tensor
            torch.save(out, f"{out_dir}/{method}-{photo_name}-{painting_name}.pt")
            row = {"photo": photo_name, "painting": painting_name, "seen": painting_name in trained_on,
                   "ssim": float(structural_similarity(luma(out), luma(photo), data_range=1.0))}
            for b, net in backbones.items():
                row[b] = style_distance(out, painting, backbone=net) / style_distance(photo, painting, backbone=net)
            rows.append(row)
    print(json.dumps(rows))
""")


def _python(code: str, *args: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"bench_style {args}: {proc.stderr.strip().splitlines()[-1]}")
    return proc.stdout.strip().splitlines()[-1]


def gatys_command(size: int, out: Path) -> float:
    """Wall seconds of the whole ``atelier stylize --method gatys`` command."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "atelier", "stylize", "astronaut", "--style", "starry_night",
                           "--method", "gatys", "--size", str(size), "--no-progress", "--out", str(out)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"bench_style gatys {size}: {proc.stderr.strip()}")
    return time.perf_counter() - start


def _crops(pictures, n_each: int, seed: int):
    """``n_each`` seeded random 96 px crops of each picture (1, 3, H, W): (N, 3, 96, 96)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    out = []
    for p in pictures:
        h, w = p.shape[-2:]
        for _ in range(n_each):
            top = int(torch.randint(0, h - 96 + 1, (1,), generator=g))
            left = int(torch.randint(0, w - 96 + 1, (1,), generator=g))
            out.append(p[:, :, top:top + 96, left:left + 96])
    return torch.cat(out)


def lite0_fds(out_dir: Path) -> dict[str, float]:
    """Lite0 Fréchet distance between 96 px crops of each method's pictures (and of the photos
    themselves, key ``"photo"``) and crops of the paintings."""
    import torch

    from atelier.metrics.images import frechet_distance, lite0_features
    from atelier.data.photos import HELD_OUT_PHOTOS, PAINTINGS, load_image, resize_long_side

    paintings = lite0_features(_crops([resize_long_side(load_image(n), 256) for n in PAINTINGS], 64, 1))
    sets = {"photo": ([resize_long_side(load_image(p), 256) for p in HELD_OUT_PHOTOS], 48)}
    for method in METHODS:
        sets[method] = ([torch.load(f) for f in sorted(out_dir.glob(f"{method}-*.pt"))], 16)
    return {name: frechet_distance(lite0_features(_crops(pictures, n_each, 0)), paintings)
            for name, (pictures, n_each) in sets.items()}


def run(quick: bool) -> str:
    # 1. Speed.
    speed = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in SIZES:
            speed["gatys", size] = {"seconds": gatys_command(size, Path(tmp) / "g.png")}
            for method in ("fast", "adain"):
                speed[method, size] = json.loads(_python(_SPEED, method, str(size), "1" if quick else "3"))
        # 2. Quality on the held-out photos.
        rows = {m: json.loads(_python(_QUALITY, m, ",".join(BACKBONES), tmp)) for m in METHODS}
        fd = lite0_fds(Path(tmp))

    lines = ["## Style transfer", "",
             "### Speed", "",
             "The bundled `astronaut` photo in `starry_night`, 2 threads. Gatys: the whole command "
             "`atelier stylize astronaut --style starry_night --method gatys --size SIZE --out out.png` "
             "(a fresh process: imports, EfficientNet-Lite0, optimisation, the file). Fast and AdaIN: in process, "
             f"best of {'1' if quick else '3'} after a warm-up, model loading excluded; peak RSS includes PyTorch "
             "(~300 MB). Goals: Gatys ≤ 15 s at 256 px and ≤ 60 s at 512 px; fast ≤ 0.3 s and AdaIN ≤ 0.5 s at 512 px.",
             "", "| method | 256 px (s) | 512 px (s) | peak RSS 256 / 512 (MB) |", "|---|---:|---:|---:|"]
    for method in METHODS:
        a, b = speed[method, 256], speed[method, 512]
        rss = f"{a['peak_rss_mb']:.0f} / {b['peak_rss_mb']:.0f}" if "peak_rss_mb" in a else "–"
        lines.append(f"| {method} | {a['seconds']:.2f} | {b['seconds']:.2f} | {rss} |")
    lines += ["", "### Quality on photos no model trained on (256 px)", "",
              "Each of the held-out photos (chelsea, coffee, rocket, motorcycle) in each bundled painting. Style: "
              "the Gram distance to the painting in a feature space the method was not optimised in, as a ratio "
              "to the photo's own (1 = unchanged, lower = closer to the painting). Content: SSIM of the luminance "
              "with the photo's (1 = identical). Lite0 FD: Fréchet distance in EfficientNet-Lite0's pooled "
              "features between 96 px crops of the method's pictures and of the paintings (the photos' own: "
              f"{fd['photo']:.1f}). The AdaIN decoder never trained on the_scream or shipwreck.", "",
              "| method | style ratio, random VGG-19 | style ratio, random multi-scale | content SSIM | Lite0 FD |",
              "|---|---:|---:|---:|---:|"]

    def mean(xs):
        return sum(xs) / len(xs)

    for method in METHODS:
        r = rows[method]
        lines.append(f"| {method} | {mean([x[BACKBONES[0]] for x in r]):.3f} | {mean([x[BACKBONES[1]] for x in r]):.3f} "
                     f"| {mean([x['ssim'] for x in r]):.3f} | {fd[method]:.1f} |")
    unseen = [x for x in rows["adain"] if not x["seen"]]
    if unseen:
        lines.append(f"| adain, unseen paintings only | {mean([x[BACKBONES[0]] for x in unseen]):.3f} | "
                     f"{mean([x[BACKBONES[1]] for x in unseen]):.3f} | {mean([x['ssim'] for x in unseen]):.3f} | – |")
    lines += ["", "Per painting (style ratio in the random VGG-19 / SSIM), mean over the four photos:", "",
              "| method | " + " | ".join(sorted({x['painting'] for x in rows['fast']})) + " |",
              "|---|" + "---:|" * 3]
    for method in METHODS:
        cells = []
        for p in sorted({x["painting"] for x in rows[method]}):
            sel = [x for x in rows[method] if x["painting"] == p]
            cells.append(f"{mean([x[BACKBONES[0]] for x in sel]):.3f} / {mean([x['ssim'] for x in sel]):.2f}")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
