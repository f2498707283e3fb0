"""The layers import only downward: core ← data ← models ← api ← apps.

Every module under src/atelier is parsed (ast, nothing is imported) and each of its imports of
another Atelier module, at the top or inside a function, is checked against the layer table of
docs/architecture.md. A lower layer importing a higher one fails with the line that does it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

LAYERS = ("core", "data", "models", "api", "apps")

# The most specific (longest) prefix decides a module's layer.
LAYER_OF_PREFIX = {
    "atelier.errors": "core", "atelier.io": "core", "atelier.cache": "core", "atelier.version": "core",
    "atelier.config": "core", "atelier.checkpoint": "core", "atelier.family": "core", "atelier.imageio": "core",
    "atelier.nn": "core", "atelier.zoo": "core", "atelier.training": "core", "atelier.provenance": "core",
    # representations every layer above reads and writes: picture grids, melodies, MIDI, keys
    "atelier.images.grid": "core", "atelier.music.events": "core", "atelier.music.midi": "core",
    "atelier.music.theory": "core",
    "atelier.data": "data",
    "atelier.images": "models", "atelier.style": "models", "atelier.music": "models", "atelier.metrics": "models",
    "atelier.analysis": "models", "atelier.taste": "models",
    "atelier.api": "api", "atelier": "api",  # the package itself is the public API
    "atelier.cli": "apps", "atelier.gallery": "apps", "atelier.studio": "apps", "atelier.zoo.recipes": "apps", "atelier.__main__": "apps",
}


def layer_of(module: str) -> str:
    best = max((p for p in LAYER_OF_PREFIX if module == p or module.startswith(p + ".")), key=len, default=None)
    if best is None:
        raise AssertionError(f"module {module} has no layer; add it to LAYER_OF_PREFIX and docs/architecture.md")
    return LAYER_OF_PREFIX[best]


def modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted((SRC / "atelier").rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out.append((name, path))
    return out


def atelier_imports(name: str, path: Path) -> list[tuple[int, str]]:
    """(line, imported module) for every import of an Atelier module, relative ones resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "atelier"]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
            if base.split(".")[0] != "atelier":
                continue
            for alias in node.names:  # `from atelier import zoo` imports the module atelier.zoo
                candidate = f"{base}.{alias.name}"
                is_module = any(candidate == m for m, _ in MODULES)
                found.append((node.lineno, candidate if is_module else base))
    return sorted(set(found))


MODULES = modules()


@pytest.mark.parametrize("name, path", MODULES, ids=[m for m, _ in MODULES])
def test_no_module_imports_a_higher_layer(name, path):
    own = LAYERS.index(layer_of(name))
    upward = [f"{path.relative_to(SRC.parent)}:{line} imports {target} ({layer_of(target)})"
              for line, target in atelier_imports(name, path) if LAYERS.index(layer_of(target)) > own]
    assert not upward, f"{name} is in layer {layer_of(name)}, yet: " + "; ".join(upward)


def test_the_checker_sees_an_upward_import(tmp_path):
    """The check itself can fail: a model module importing the API is caught."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from atelier.api import load\n    from atelier import cli\n")
    targets = [t for _, t in atelier_imports("atelier.images.bad", bad)]
    assert targets == ["atelier.api", "atelier.cli"]
    assert all(LAYERS.index(layer_of(t)) > LAYERS.index(layer_of("atelier.images.bad")) for t in targets)


def test_no_module_is_over_about_600_lines():
    long = {name: n for name, path in MODULES if (n := len(path.read_text().splitlines())) > 650}
    assert not long, f"split these modules (lines): {long}"
