"""Models trained by Atelier's own recipes (``make zoo``) and shipped in this folder.

``manifest.json`` lists each model: its file, SHA-256, kind, the exact recipe that made it (preset,
data, steps, seed, command), the training data and the measured metrics. Loading a shipped model
checks its hash first, so a damaged file is reported instead of half-loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atelier.errors import AtelierError, choose_one

ZOO_DIR = Path(__file__).resolve().parent
MANIFEST = ZOO_DIR / "manifest.json"


@dataclass(frozen=True)
class ZooEntry:
    name: str
    file: str
    sha256: str
    kind: str
    description: str
    recipe: dict[str, Any]
    metrics: dict[str, Any]
    feature_network: str | None = None  # the pretrained network a model was trained through, credited

    @property
    def path(self) -> Path:
        return ZOO_DIR / self.file


def read_manifest() -> dict[str, ZooEntry]:
    if not MANIFEST.exists():
        return {}
    raw = json.loads(MANIFEST.read_text())
    return {name: ZooEntry(name=name, **entry) for name, entry in raw["models"].items()}


def available_models() -> list[str]:
    """Names of the shipped models, for ``atelier.load(name)``."""
    return sorted(read_manifest())


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def resolve(name: str) -> Path:
    """The verified path of shipped model ``name``."""
    entries = read_manifest()
    if name not in entries:
        raise choose_one("model", name, entries)
    entry = entries[name]
    if not entry.path.exists():
        raise AtelierError(f"model {name!r}: its file {entry.path} is missing from the installation")
    digest = sha256_file(entry.path)
    if digest != entry.sha256:
        raise AtelierError(f"model {name!r}: {entry.path} has SHA-256 {digest[:12]}…, the manifest says {entry.sha256[:12]}…")
    return entry.path


CHECKPOINT_SUFFIXES = (".safetensors", ".pt", ".pth", ".ckpt", ".pkl")


def locate(model: str | os.PathLike) -> Path:
    """A checkpoint path, or the verified file of a shipped model's name; anything else lists the names."""
    path = Path(model).expanduser()
    if path.exists() or path.suffix in CHECKPOINT_SUFFIXES:
        return path
    names = available_models()
    if str(model) not in names:
        raise AtelierError(f"model {str(model)!r}: no such checkpoint file and not a shipped model; "
                           f"shipped models: {', '.join(names) or '(none installed)'}")
    return resolve(str(model))


def model_sha256(model: str | os.PathLike) -> str:
    """The SHA-256 of a checkpoint file, or the manifest's for a shipped model's name."""
    path = Path(model).expanduser()
    if path.exists():
        return sha256_file(path)
    entries = read_manifest()
    if str(model) not in entries:
        raise choose_one("model", str(model), entries)
    return entries[str(model)].sha256
