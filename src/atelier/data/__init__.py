"""Every dataset Atelier trains on: images, style photos and paintings, unpaired folders, music.

The helpers every dataset needs live here: :func:`fingerprint`, the identity of a training set
that checkpoints record (``--resume`` refuses a run whose data changed); :func:`check_val_fraction`,
the one rule for the held-out share of a split (0: no validation); and :func:`check_held_out`,
which refuses to evaluate on a split that holds nothing out.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from atelier.errors import AtelierError
from atelier.family import EvalOptions


def fingerprint(*arrays: Any) -> str:
    """SHA-256 over the shape and the bytes of each array (a torch tensor or a NumPy array), in order.

    Two datasets get the same fingerprint only if they hold the same arrays in the same order;
    a reshaped array changes it even when its bytes do not.

    >>> import torch
    >>> a = torch.arange(6, dtype=torch.uint8)
    >>> fingerprint(a) == fingerprint(a.numpy())
    True
    >>> fingerprint(a) == fingerprint(a.view(2, 3))
    False
    """
    h = hashlib.sha256()
    for array in arrays:
        if hasattr(array, "detach"):  # a torch tensor, on any device
            array = array.detach().cpu().numpy()
        array = np.ascontiguousarray(array)
        h.update(str(tuple(array.shape)).encode())
        h.update(array.tobytes())
    return h.hexdigest()


def check_val_fraction(val_fraction: float) -> None:
    """The held-out share of a split: at least 0 (no validation) and below 1.

    >>> check_val_fraction(1.0)
    Traceback (most recent call last):
    atelier.errors.AtelierError: val_fraction=1.0: must be at least 0 (no validation) and below 1
    """
    if not 0.0 <= val_fraction < 1.0:
        raise AtelierError(f"val_fraction={val_fraction}: must be at least 0 (no validation) and below 1")


def check_held_out(val_fraction: float, *, what: str = "images") -> None:
    """Evaluation scores a model on held-out data: a split that holds nothing out is refused.

    >>> check_held_out(0.0)
    Traceback (most recent call last):
    atelier.errors.AtelierError: val_fraction=0.0 holds no images out, and evaluation scores a model on held-out images; give a fraction above 0 (the default is 0.1)
    """
    check_val_fraction(val_fraction)
    if val_fraction == 0:
        raise AtelierError(f"val_fraction={val_fraction} holds no {what} out, and evaluation scores a model on "
                           f"held-out {what}; give a fraction above 0 (the default is {EvalOptions.val_fraction})")
