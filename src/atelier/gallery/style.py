"""The gallery's style section: a bundled photo painted by the shipped fast-style and AdaIN models.

It shows the photo in several styles, a blend of two styles, a strip of strengths, colour-preserving
results and a two-region mask, all at 224 px (160 px with ``quick``), in about 20 s on two cores.
The photo, ``chelsea``, is one the shipped models never trained on.
"""

from __future__ import annotations

import html
from pathlib import Path

import torch
from PIL import Image
from torch import Tensor

from atelier.gallery.page import Section, figure, shipped_models, table
from atelier.data.photos import HELD_OUT_PHOTOS, PAINTINGS, load_image, resize_long_side, to_image

FAST_MODEL = "fast-paintings"
ADAIN_MODEL = "adain-decoder"
PHOTO = "chelsea"
GAP = 4  # white pixels between the pictures of a strip


def strip(pictures: list[Tensor]) -> Image.Image:
    """Pictures (1, 3, H, W) of equal height side by side, with white gaps.

    >>> strip([torch.zeros(1, 3, 8, 8), torch.ones(1, 3, 8, 6)]).size
    (18, 8)
    """
    tiles = [to_image(p) for p in pictures]
    out = Image.new("RGB", (sum(t.width for t in tiles) + GAP * (len(tiles) - 1), tiles[0].height), "white")
    x = 0
    for t in tiles:
        out.paste(t, (x, 0))
        x += t.width + GAP
    return out


def style_section(out: Path, quick: bool) -> Section:
    """Write ``out/style/*.png`` and return the section's HTML."""
    from atelier.api import load

    shipped = shipped_models(FAST_MODEL, ADAIN_MODEL)
    folder = out / "style"
    folder.mkdir(parents=True, exist_ok=True)
    size = 160 if quick else 224
    photo = resize_long_side(load_image(PHOTO), size)  # (1, 3, H, W)
    paintings = {n: resize_long_side(load_image(n), size) for n in PAINTINGS}
    fast, ada = load(FAST_MODEL), load(ADAIN_MODEL)
    parts: list[str] = []

    def save(name: str, pictures: list[Tensor], caption: str) -> None:
        strip(pictures).save(folder / f"{name}.png")
        parts.append(figure(f"style/{name}.png", caption))

    with torch.no_grad():
        # 1. The photo in each painting's style, by both models.
        save("paintings", [photo, *paintings.values()], f"{PHOTO} (a photo no model trained on) and the bundled "
             "paintings: " + ", ".join(PAINTINGS))
        save("fast-styles", [fast.stylize(photo, [n]) for n in fast.style_names],
             f"{FAST_MODEL}: one network, {len(fast.style_names)} styles ({', '.join(fast.style_names)}; "
             "conditional instance norm), ~0.1 s each")
        save("adain-styles", [ada.stylize(photo, [p]) for p in paintings.values()],
             f"{ADAIN_MODEL}: any painting, no training for it, ~1 s each")
        # 2. A blend of two styles.
        a, b = "starry_night", "the_scream"
        save("blend", [fast.stylize(photo, [a, b], weights=[1 - w, w]) for w in (0.0, 0.5, 1.0)],
             f"{FAST_MODEL}: {a}, half and half, {b} (mixed inside the network)")
        save("adain-blend", [ada.stylize(photo, [paintings[a], paintings[b]], weights=[1 - w, w])
                             for w in (0.0, 0.5, 1.0)], f"{ADAIN_MODEL}: the same blend, 1/0, 1/1, 0/1")
        # 3. A strip of strengths.
        save("strength", [fast.stylize(photo, [a], strength=s) for s in (0.0, 0.25, 0.5, 0.75, 1.0)],
             f"{FAST_MODEL}, {a}: strength 0, 0.25, 0.5, 0.75, 1")
        save("adain-strength", [ada.stylize(photo, [paintings["shipwreck"]], strength=s) for s in (0.0, 0.5, 1.0)],
             f"{ADAIN_MODEL}, shipwreck: alpha 0, 0.5, 1")
        # 4. Keeping the photo's colours.
        save("colour", [fast.stylize(photo, [b]),
                        fast.stylize(photo, [b], preserve_color="luminance"),
                        ada.stylize(photo, [paintings[b]]),
                        ada.stylize(photo, [paintings[b]], preserve_color="histogram")],
             f"{b}: {FAST_MODEL} plain and with luminance-only transfer; {ADAIN_MODEL} plain and with the "
             "painting's colours matched to the photo's histogram")
        # 5. One style per region.
        mask = torch.zeros(2, *photo.shape[-2:])
        mask[0, :, : photo.shape[-1] // 2], mask[1, :, photo.shape[-1] // 2:] = 1.0, 1.0
        full = torch.zeros(len(fast.style_names), *photo.shape[-2:])  # the fast model's own style order
        full[fast.style_names.index(a)], full[fast.style_names.index(b)] = mask[0], mask[1]
        save("mask", [fast.stylize(photo, mask=full), ada.stylize(photo, [paintings[a], paintings[b]], mask=mask)],
             f"a two-region mask: left {a}, right {b}; {FAST_MODEL} (left) and {ADAIN_MODEL} (right)")

    rows = []
    for name in (FAST_MODEL, ADAIN_MODEL):
        m = shipped[name].metrics
        rows.append({"model": name, "steps": shipped[name].recipe.get("num_steps"),
                     "train s": shipped[name].recipe.get("train_seconds"),
                     "style distance": m.get("style_distance_random_vgg19"),
                     "photo's style distance": m.get("photo_style_distance_random_vgg19"),
                     "content distance": m.get("content_distance_random_vgg19")})
    note = ("Distances (relative squared errors of Gram matrices and of features in the random VGG-19; "
            "see docs/style.md) measured by the recipe on the held-out photo at 256 px, averaged over the "
            "three paintings. The photo's own style distance is the baseline the models bring down.")
    parts.append(table(rows, list(rows[0])) + f"<p class=note>{html.escape(note)}</p>")
    return Section("Style transfer: fast (Johnson et al. + CIN) and AdaIN", "\n".join(parts))


# ---------------------------------------------------------------------------------------------
# The documentation's picture table
# ---------------------------------------------------------------------------------------------


def picture_table(out: Path, *, photos: tuple[str, ...] = HELD_OUT_PHOTOS,
                  paintings: dict[str, str] | None = None, size: int = 192) -> Path:
    """A table of pictures: for each method a block whose rows are ``photos`` and whose columns are
    the paintings (name → file or bundled name), the photos and paintings themselves on top.

    Every photo is one the shipped models never trained on. Gatys uses its ``default`` preset
    ending at ``size``; the fast model leaves the columns of paintings it was not trained on
    blank; AdaIN columns marked "unseen" hold paintings its decoder never saw in training.
    """
    from PIL import ImageDraw

    from atelier.api import load, stylize

    paintings = paintings or {n: n for n in PAINTINGS}
    fast, ada = load(FAST_MODEL), load(ADAIN_MODEL)
    label_w, label_h, cell = 90, 16, size + GAP
    pics = {p: resize_long_side(load_image(p), size) for p in photos}
    blocks = ["painting", "gatys", FAST_MODEL, ADAIN_MODEL]
    height = label_h + cell + (len(blocks) - 1) * (label_h + len(photos) * cell)
    table_img = Image.new("RGB", (label_w + len(paintings) * cell + cell, height), "white")
    draw = ImageDraw.Draw(table_img)

    def put(picture: Tensor, col: int, y: int) -> None:
        tile = to_image(picture)
        table_img.paste(tile, (label_w + col * cell + (size - tile.width) // 2, y + (size - tile.height) // 2))

    y = label_h
    draw.text((label_w + 2, 2), "photo", fill="black")
    for j, (name, source) in enumerate(paintings.items()):
        draw.text((label_w + (j + 1) * cell + 2, 2), name, fill="black")
        put(resize_long_side(load_image(source), size), j + 1, y)
    y += cell
    for block in blocks[1:]:
        label = block
        if block == ADAIN_MODEL:
            seen = set(ada.config.styles)
            unseen = [n for n in paintings if n not in seen]
            label += f" (never trained on: {', '.join(unseen)})" if unseen else ""
        draw.text((2, y + 2), label, fill="black")
        y += label_h
        for photo in photos:
            put(pics[photo], 0, y)
            draw.text((2, y + size // 2), photo, fill="black")
            for j, (name, source) in enumerate(paintings.items()):
                with torch.no_grad():
                    if block == "gatys":
                        out_t = stylize(pics[photo], [source], method="gatys", size=size).tensor
                    elif block == FAST_MODEL:
                        if name not in fast.style_names:
                            continue
                        out_t = fast.stylize(pics[photo], [name])
                    else:
                        out_t = ada.stylize(pics[photo], [load_image(source)])
                put(out_t, j + 1, y)
            y += cell
    out.parent.mkdir(parents=True, exist_ok=True)
    table_img.save(out)
    return out


def backbone_comparison(out: Path, *, photo: str = "chelsea", painting: str = "starry_night",
                        size: int = 256) -> Path:
    """Gatys (``default`` preset, ``size`` px) through each backbone, side by side with the photo,
    each labelled with its seconds and its style distance in the random multi-scale network."""
    import time

    from PIL import ImageDraw

    from atelier.metrics.style import style_distance
    from atelier.api import stylize
    from atelier.style.features import build_backbone

    judge = build_backbone("random-multiscale")
    content = resize_long_side(load_image(photo), size)
    style = load_image(painting)
    pictures, labels = [content], [f"{photo} (style {style_distance(content, style, backbone=judge):.2f})"]
    for name, smoothing in [("efficientnet-lite0", "none"), ("efficientnet-lite0", "softmax"),
                            ("random-vgg19", "none"), ("random-multiscale", "none")]:
        net = build_backbone(name, smoothing=smoothing)
        start = time.perf_counter()
        picture = stylize(content, [style], method="gatys", backbone=net, size=size).tensor
        seconds = time.perf_counter() - start
        pictures.append(picture)
        labels.append(f"{name.removeprefix('efficientnet-')}{'+softmax' if smoothing == 'softmax' else ''}: {seconds:.0f} s, "
                      f"style {style_distance(picture, style, backbone=judge):.2f}")
    image = strip(pictures)
    canvas = Image.new("RGB", (image.width, image.height + 16), "white")
    canvas.paste(image, (0, 16))
    draw = ImageDraw.Draw(canvas)
    x = 0
    for picture, label in zip(pictures, labels):
        draw.text((x + 2, 2), label, fill="black")
        x += picture.shape[-1] + GAP
    out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(out)
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m atelier.style.gallery", description=__doc__)
    parser.add_argument("--table", default=None, help="where to write the picture table (.png or .jpg)")
    parser.add_argument("--backbones", default=None, help="where to write the Gatys backbone comparison")
    parser.add_argument("--paintings", default="../shared/data/styles",
                        help="a folder of full-size paintings named like the bundled ones (used when present)")
    parser.add_argument("--size", type=int, default=192)
    args = parser.parse_args(argv)
    folder = Path(args.paintings)
    paintings = {n: str(folder / f"{n}.jpg") if (folder / f"{n}.jpg").is_file() else n for n in PAINTINGS}
    if args.backbones:
        print(f"wrote {backbone_comparison(Path(args.backbones))}")
    if args.table:
        print(f"wrote {picture_table(Path(args.table), paintings=paintings, size=args.size)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
