"""Inputs to try every command on: the files the README's tour names, written by
``atelier examples --out DIR`` (or :func:`write_examples`).

* ``a.png``, ``b.png``: two held-out MNIST digits, 28×28 grey (a 3 and an 8), for the VAE's
  ``interpolate``, ``encode`` and ``reconstruct`` and a CycleGAN's ``translate``;
* ``photo.jpg``: scikit-image's ``chelsea`` (a cat), a photo no shipped style model trained on;
* ``my_painting.jpg``: Turner's *The Shipwreck*, a bundled painting, standing in for one of yours;
* ``a.mid``, ``b.mid``: two held-out Essen folk tunes of 8 bars (:mod:`atelier.music.examples`).

Everything is bundled or built in, so this works offline. The MIDI files are read by path from
``atelier/music/examples`` (package data, like the paintings), not by importing the music models.

>>> import tempfile
>>> [p.name for p in write_examples(tempfile.mkdtemp())]
['a.png', 'b.png', 'photo.jpg', 'my_painting.jpg', 'a.mid', 'b.mid']
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import torch
from PIL import Image

from atelier.data.images import load_images
from atelier.data.photos import builtin_image, painting_path
from atelier.errors import AtelierError
from atelier.imageio import write_image
from atelier.io import atomic_write

DIGITS = {"a.png": 3, "b.png": 8}  # file → digit class; a 3 and an 8 morph into each other visibly
PHOTO = "chelsea"  # held out from every shipped style model's training photos
PAINTING = "shipwreck"  # the bundled painting the tour's "my_painting.jpg" stands for
MUSIC_DIR = Path(__file__).resolve().parents[1] / "music" / "examples"  # shipped with the music models
TUNES = {"a.mid": "tune_a.mid", "b.mid": "tune_b.mid"}
NAMES = (*DIGITS, "photo.jpg", "my_painting.jpg", *TUNES)


def write_examples(out: str | os.PathLike, *, overwrite: bool = False) -> list[Path]:
    """Write the example inputs into the folder ``out`` (made if needed); returns their paths.

    A file of the same name already there is an error naming it (nothing is written), unless
    ``overwrite``.
    """
    # 1. Check the folder before writing anything.
    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise AtelierError(f"out {out}: exists and is not a folder")
    taken = [name for name in NAMES if (out / name).exists()]
    if taken and not overwrite:
        raise AtelierError(f"out {out}: already holds {', '.join(taken)}; choose another folder or overwrite them")
    # 2. The digits: the first of each class in the held-out split every shipped model uses (seed 0).
    _, held_out = load_images("mnist").split(seed=0)
    paths = []
    for name, digit in DIGITS.items():
        index = int(torch.nonzero(held_out.labels == digit)[0])
        pixels = held_out.images[index, 0].numpy()  # (28, 28) uint8
        paths.append(write_image(Image.fromarray(pixels, "L"), out / name))
    # 3. The photo, the painting and the tunes.
    paths.append(write_image(builtin_image(PHOTO), out / "photo.jpg"))
    paths.append(_copy(painting_path(PAINTING), out / "my_painting.jpg"))
    paths += [_copy(MUSIC_DIR / source, out / name) for name, source in TUNES.items()]
    return paths


def _copy(source: Path, target: Path) -> Path:
    return atomic_write(target, lambda tmp: shutil.copyfile(source, tmp))
