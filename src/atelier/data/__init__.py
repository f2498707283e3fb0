"""Every dataset Atelier trains on: images, style photos and paintings, unpaired folders, music.

One helper lives here because every dataset needs it: :func:`fingerprint`, the identity of a
training set that checkpoints record (``--resume`` refuses a run whose data changed).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np


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
