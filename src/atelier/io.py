"""Small atomic file writers: write to a temporary file beside the target, then rename."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)`` and rename the result onto ``path``; nothing is left on failure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix or ".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual mode
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    return atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


NPZ_METADATA_KEY = "atelier"  # the .npz array that holds the recipe's JSON (one string, never a pickle)


def write_npz(path: str | os.PathLike, *, compressed: bool = True, metadata: dict | None = None, **arrays) -> Path:
    """Save NumPy arrays as ``.npz`` atomically (never with pickled objects). ``metadata`` (a recipe)
    goes in as a 0-d string array ``atelier`` holding its JSON, which :func:`read_npz_metadata` reads.

    >>> import os, tempfile, numpy as np
    >>> p = write_npz(os.path.join(tempfile.mkdtemp(), "z.npz"), mu=np.zeros((2, 3)), metadata={"seed": 1})
    >>> read_npz_metadata(p)
    {'seed': 1}
    """
    import json

    import numpy as np

    if metadata:
        arrays[NPZ_METADATA_KEY] = np.array(json.dumps(metadata, sort_keys=True, default=str))

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            (np.savez_compressed if compressed else np.savez)(fh, **arrays)

    return atomic_write(path, write)


def read_npz_metadata(path: str | os.PathLike) -> dict:
    """The metadata :func:`write_npz` embedded, or ``{}``; pickled arrays are refused, never loaded."""
    import json

    import numpy as np

    with np.load(path, allow_pickle=False) as npz:
        if NPZ_METADATA_KEY not in npz.files:
            return {}
        return json.loads(str(npz[NPZ_METADATA_KEY]))


FIGURE_FORMATS = ("png", "pdf", "svg")


def figure_format(path: str | os.PathLike) -> str:
    """The format a figure's file name asks for; anything but png, pdf or svg is an error (check it
    before drawing)."""
    from atelier.errors import choose_one

    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in FIGURE_FORMATS:
        raise choose_one("picture format", fmt or Path(path).name, FIGURE_FORMATS)
    return fmt


def write_figure(figure: Any, path: str | os.PathLike) -> Path:
    """Save a matplotlib figure atomically, in the format its suffix names (png, pdf or svg)."""
    fmt = figure_format(path)
    return atomic_write(path, lambda tmp: figure.savefig(tmp, format=fmt))
