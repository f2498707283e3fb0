"""Where Atelier keeps what it can rebuild: ``$ATELIER_CACHE``, else ``~/.cache/atelier``."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    """The cache folder (or a sub-folder of it), created on first use."""
    root = Path(os.environ.get("ATELIER_CACHE") or Path.home() / ".cache" / "atelier")
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
