"""Where Atelier keeps what it can rebuild (``$ATELIER_CACHE``, else ``~/.cache/atelier``) and the
user's own things (:func:`studio_folder`)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str, create: bool = True) -> Path:
    """The cache folder (or a sub-folder of it), created on first use unless ``create`` is False
    (for a caller that can work without a writable cache and only warns when saving fails)."""
    root = Path(os.environ.get("ATELIER_CACHE") or Path.home() / ".cache" / "atelier")
    path = root.joinpath(*parts)
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def studio_folder() -> Path:
    """Where the user's own things live (the studio's history, the taste profile):
    ``$ATELIER_STUDIO_DIR``, else ``~/atelier-studio``. Unlike the cache, nothing here is rebuilt."""
    return Path(os.environ.get("ATELIER_STUDIO_DIR") or Path.home() / "atelier-studio")
