"""``translate``: turn image files of one domain into the other with a trained CycleGAN."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image, ImageOps
from tqdm.auto import tqdm

from atelier import zoo
from atelier.api.models import load
from atelier.errors import AtelierError, choose_one
from atelier.imageio import READ_EXTENSIONS, WRITE_FORMATS, read_image, to_array, write_image
from atelier.images.grid import to_pil
from atelier.style.cyclegan import DIRECTIONS, KIND, MAX_SIZE, CycleGANModel

MAX_SIDE = 2048  # the longest side a scaled input may have, pixels (bounds memory)


def translate(
    model: CycleGANModel | str | os.PathLike,
    inputs: Sequence[str | os.PathLike],
    *,
    out: str | os.PathLike,
    direction: str = "a2b",
    size: int | None = None,
    compare: bool = False,
    metadata: dict[str, Any] | None = None,
    progress: bool = True,
) -> list[Path]:
    """Translate image files (or the images in folders) and write the results; returns their paths.

    ``out`` is an image file (.png, .jpg, .webp) for a single input, or a folder, where each result
    is ``<input name>.png``. Inputs are scaled so their short side is ``size`` pixels (a multiple
    of 4; default: the model's training size), keeping the aspect ratio. ``compare`` writes each
    input beside its translation. Every input is read and checked before anything is written;
    each file carries ``metadata`` plus the input, direction, size and the model's SHA-256.

    >>> import dataclasses, os, tempfile
    >>> from PIL import Image
    >>> from atelier.style.cyclegan import PRESETS, CycleGANModel, build_task
    >>> config = dataclasses.replace(PRESETS["cyclegan-tiny"], image_size=16)
    >>> task = build_task(config)
    >>> folder = tempfile.mkdtemp()
    >>> Image.new("RGB", (40, 30), "red").save(os.path.join(folder, "photo.png"))
    >>> [p] = translate(CycleGANModel(config, task.G_AB, task.G_BA), [os.path.join(folder, "photo.png")],
    ...                 out=os.path.join(folder, "out"), size=16, progress=False)
    >>> p.name, Image.open(p).size
    ('photo.png', (20, 16))
    """
    # 1. Check the arguments and load the model.
    if direction not in DIRECTIONS:
        raise choose_one("direction", direction, DIRECTIONS)
    files = expand_inputs(inputs, READ_EXTENSIONS)
    out = Path(out)
    to_folder = out.suffix == ""
    if not to_folder and out.suffix.lower() not in WRITE_FORMATS:
        raise AtelierError(f"out {out}: unsupported extension {out.suffix!r}; give a folder or a file ending in "
                           f"{', '.join(WRITE_FORMATS)}")
    if not to_folder and len(files) != 1:
        raise AtelierError(f"out {out} names one file, but there are {len(files)} inputs; give a folder")
    if to_folder:
        names = [f.stem for f in files]
        clash = next((n for n in names if names.count(n) > 1), None)
        if clash is not None:
            raise AtelierError(f"two inputs are named {clash!r}; their results would overwrite each other in {out}")
    meta = dict(metadata or {})
    if not isinstance(model, CycleGANModel):
        if "model_sha256" not in meta:
            meta["model_sha256"] = zoo.model_sha256(model)
        model = load(model, kind=KIND)  # a path or a shipped model's name
    size = model.config.image_size if size is None else size
    if size % 4 or not 8 <= size <= MAX_SIZE:
        raise AtelierError(f"size={size}: must be a multiple of 4 from 8 to {MAX_SIZE} (the generator halves "
                           "the picture twice)")
    # 2. Read every input before writing anything, so a bad file stops the run with nothing written.
    mode = "L" if model.config.channels == 1 else "RGB"
    pictures = [_fit_short_side(read_image(f, mode=mode), size, f) for f in files]
    # 3. Translate, one picture at a time (their sizes differ).
    results = []
    for picture in tqdm(pictures, desc=f"translate {direction}", unit="image", disable=not progress):
        x = torch.from_numpy(to_array(picture)).float().div(127.5).sub(1.0)[None]  # (1, C, H, W)
        y = model.translate(x, direction=direction).cpu()
        results.append(torch.cat([x, y], dim=-1)[0] if compare else y[0])  # (C, H, W) or (C, H, 2W)
    # 4. Write.
    paths = []
    for f, picture, result in zip(files, pictures, results):
        target = out / f"{f.stem}.png" if to_folder else out
        info = {**meta, "input": str(f), "direction": direction, "size": list(picture.size), "compare": compare}
        paths.append(write_image(to_pil(result), target, metadata=info))
    return paths


def expand_inputs(inputs: Sequence[str | os.PathLike], extensions: Sequence[str]) -> list[Path]:
    """Files as given, folders as their images (sorted, not recursive); missing paths are errors."""
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    if not inputs:
        raise AtelierError("no input images given")
    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in extensions
                           and not p.name.startswith("."))
            if not found:
                raise AtelierError(f"input {path}: the folder holds no images ({', '.join(extensions)})")
            files.extend(found)
        elif not path.exists():
            raise AtelierError(f"input {path}: no such file or folder")
        else:
            files.append(path)
    return files


def _fit_short_side(img: Image.Image, size: int, path: Path) -> Image.Image:
    """Scale so the short side is ``size`` px, then crop both sides down to multiples of 4."""
    w, h = img.size
    scale = size / min(w, h)
    tw, th = round(w * scale) // 4 * 4, round(h * scale) // 4 * 4
    if max(tw, th) > MAX_SIDE:
        raise AtelierError(f"input {path}: {w}×{h} px would be {tw}×{th} at size={size}; the long side may be "
                           f"at most {MAX_SIDE} px, so lower the size")
    return ImageOps.fit(img, (tw, th), method=Image.Resampling.LANCZOS)
