"""``make demo``: a static HTML gallery of what the shipped models make.

Each section is a function ``section(out_dir, quick) -> Section`` that writes its pictures (and
sounds) into ``out_dir`` and returns the HTML that shows them. Image generation lives here; the
style and music packages contribute their own sections, listed in :data:`SECTIONS`.
"""

from __future__ import annotations

import html
import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from atelier.errors import AtelierError
from atelier.io import write_text

SECTIONS = (
    "atelier.gallery:image_generation_section",
    "atelier.style.gallery:style_section",
    "atelier.music.gallery:music_section",
)


@dataclass(frozen=True)
class Section:
    title: str
    html: str
    seconds: float = 0.0


def build_gallery(out: Path, *, quick: bool = False, sections: tuple[str, ...] = SECTIONS) -> Path:
    """Write every available section into ``out`` and ``out/index.html``; return the index path."""
    out.mkdir(parents=True, exist_ok=True)
    parts: list[Section] = []
    for ref in sections:
        fn = _resolve(ref)
        if fn is None:
            continue
        start = time.perf_counter()
        section = fn(out, quick)
        parts.append(Section(section.title, section.html, time.perf_counter() - start))
        print(f"  {section.title}: {parts[-1].seconds:.1f} s")
    body = "\n".join(f"<section><h2>{html.escape(s.title)}</h2>\n{s.html}\n</section>" for s in parts)
    page = _PAGE.format(body=body)
    return write_text(out / "index.html", page)


def _resolve(ref: str) -> Callable[[Path, bool], Section] | None:
    module_name, _, attr = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None
        raise
    return getattr(module, attr)


def figure(src: str, caption: str, *, width: int | None = None) -> str:
    w = f' width="{width}"' if width else ""
    return (f'<figure><img src="{html.escape(src)}"{w} style="image-rendering:pixelated">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def table(rows: list[dict[str, object]], columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_fmt(r.get(c, ''))}</td>" for c in columns) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    return html.escape(str(v))


# ---- image generation --------------------------------------------------------------------------

def image_generation_section(out: Path, quick: bool) -> Section:
    from atelier import zoo
    from atelier.api import evaluate, load
    from atelier.cli.images import write_gif, write_grid

    shipped = zoo.read_manifest()
    needed = ("mnist-dcgan", "mnist-cgan", "mnist-vae")
    missing = [n for n in needed if n not in shipped]
    if missing:
        raise AtelierError(f"the gallery needs the shipped models {', '.join(missing)}; run `make zoo`")
    img = out / "images"
    parts = []
    for name, entry in sorted(shipped.items()):
        if entry.kind not in ("gan", "vae"):
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
    from atelier.data.images import load_images

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
        if entry.kind not in ("gan", "vae"):
            continue
        report = evaluate(name, num_samples=250 if quick else 500, iwae_k=20 if quick else 50)
        rows.append({"model": name, **report.metrics})
    columns = ["model", "fd", "kid_mean", "is_mean", "precision", "recall", "neg_elbo_nats"]
    columns += sorted({k for r in rows for k in r if k.startswith("iwae")})
    note = ("Measured now (500 samples; IWAE with few importance samples) against 500 held-out MNIST digits, in the "
            "features of Atelier's own digit classifier "
            "(not comparable with Inception FID). The manifest holds the recipe's full-size numbers.")
    parts.append(table(rows, columns) + f"<p class=note>{html.escape(note)}</p>")
    return Section("Image generation: GANs and VAEs on MNIST", "\n".join(parts))


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Atelier gallery</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }}
h1 {{ font-weight: 600; }} section {{ margin-bottom: 3rem; }}
figure {{ display: inline-block; margin: 0 1rem 1rem 0; vertical-align: top; }}
figcaption {{ font-size: .85rem; color: #555; max-width: 560px; }}
table {{ border-collapse: collapse; font-size: .9rem; }} td, th {{ border-bottom: 1px solid #ddd; padding: .3rem .6rem; text-align: right; }}
td:first-child, th:first-child {{ text-align: left; }} .note {{ font-size: .85rem; color: #555; }}
</style></head><body>
<h1>Atelier gallery</h1>
<p>Everything on this page was made just now by the models shipped with Atelier, on this machine.</p>
{body}
</body></html>
"""
