"""The gallery's image-generation section: samples, class rows, an interpolation, reconstructions
and live metrics of the shipped GANs and VAEs."""

from __future__ import annotations

import html
from pathlib import Path

import torch

from atelier.api import evaluate, load
from atelier.data.images import load_images
from atelier.gallery.page import Section, figure, shipped_models, table
from atelier.images.grid import write_gif, write_grid


def image_generation_section(out: Path, quick: bool) -> Section:
    shipped = shipped_models("mnist-dcgan", "mnist-cgan", "mnist-vae")
    img = out / "images"
    parts = []
    for name, entry in sorted(shipped.items()):
        if entry.kind not in ("gan", "vae") or name == FACES:
            continue
        model = load(name)
        labels = [i % 10 for i in range(64)] if model.config.num_classes else None
        with torch.no_grad():
            grid = model.sample(64, seed=0, labels=labels)
        write_grid(grid, img / f"{name}-samples.png", nrow=8)
        parts.append(figure(f"images/{name}-samples.png", f"{name}: 64 samples ({entry.description})", width=224))
    # Class-conditional: one row per digit.
    cgan = load("mnist-cgan")
    with torch.no_grad():
        rows = cgan.sample(100, seed=1, labels=[d for d in range(10) for _ in range(10)])
    write_grid(rows, img / "mnist-cgan-rows.png", nrow=10)
    parts.append(figure("images/mnist-cgan-rows.png", "mnist-cgan: row d shows the digit d, 0 to 9", width=280))
    # Interpolation: slerp between two seeds, strip and animation.
    gan = load("mnist-dcgan")
    with torch.no_grad():
        frames = gan.interpolate(3, 11, steps=10)
    write_grid(frames, img / "mnist-dcgan-interpolation.png", nrow=10)
    write_gif(frames, img / "mnist-dcgan-interpolation.gif")
    parts.append(figure("images/mnist-dcgan-interpolation.png", "mnist-dcgan: spherical interpolation, seed 3 → 11", width=560))
    parts.append(figure("images/mnist-dcgan-interpolation.gif", "the same, animated", width=112))
    # VAE reconstructions of held-out digits.
    vae = load("mnist-vae")
    _, held_out = load_images("mnist").split(seed=0)
    x, _ = held_out.get_batch(torch.arange(16))
    with torch.no_grad():
        recon = vae.reconstruct(x)
    write_grid(torch.stack([x, recon], 1).flatten(0, 1), img / "mnist-vae-reconstructions.png", nrow=16)
    parts.append(figure("images/mnist-vae-reconstructions.png", "mnist-vae: held-out digits (odd) and reconstructions (even)", width=560))
    # Evaluation, live, against the held-out split.
    rows = []
    for name, entry in sorted(shipped.items()):
        if entry.kind not in ("gan", "vae") or name == FACES:
            continue
        report = evaluate(name, num_samples=250 if quick else 500, iwae_k=20 if quick else 50, progress=False)
        rows.append({"model": name, **report.metrics})
    columns = ["model", "fd", "kid_mean", "is_mean", "precision", "recall", "neg_elbo_nats"]
    columns += sorted({k for r in rows for k in r if k.startswith("iwae")})
    note = ("Measured now (500 samples; IWAE with few importance samples) against 500 held-out MNIST digits, in the "
            "features of Atelier's own digit classifier "
            "(not comparable with Inception FID). The manifest holds the recipe's full-size numbers.")
    parts.append(table(rows, columns) + f"<p class=note>{html.escape(note)}</p>")
    if FACES in shipped:
        parts.append(_faces_row(shipped[FACES], img))
    return Section("Image generation: GANs and VAEs on MNIST", "\n".join(parts))


FACES = "faces-dcgan"


def _faces_row(entry, img: Path) -> str:
    """The 64-px RGB DCGAN trained on the bundled faces: 32 samples, a latent walk, and its RGB
    metrics from the manifest (EfficientNet-Lite0 features; too slow to measure live)."""
    model = load(FACES)
    with torch.no_grad():
        grid = model.sample(32, seed=0)
        walk = model.interpolate(2, 9, steps=8)
    write_grid(grid, img / f"{FACES}-samples.png", nrow=8)
    write_grid(walk, img / f"{FACES}-interpolation.png", nrow=8)
    m = entry.metrics
    row = {"model": FACES, "measured on": m.get("measured_on", "–"),
           **{k: m[k] for k in ("fd", "kid_mean", "precision", "recall") if k in m}}
    note = ("RGB metrics in EfficientNet-Lite0's pooled features (ImageNet weights), from the manifest: not "
            "comparable with the digit classifier's numbers above, nor with Inception FID. With so few held-out "
            "faces they are rough.")
    return "\n".join([
        figure(f"images/{FACES}-samples.png", f"{FACES}: 32 samples ({entry.description})", width=512),
        figure(f"images/{FACES}-interpolation.png", f"{FACES}: spherical interpolation, seed 2 → 9", width=512),
        table([row], list(row)) + f"<p class=note>{html.escape(note)}</p>"])
