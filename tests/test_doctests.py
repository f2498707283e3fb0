"""The examples in the docstrings run: every module of atelier (and the benchmark runner)."""

import doctest
import importlib
import importlib.util
import pkgutil
from pathlib import Path

import pytest

import atelier

MODULES = sorted(m.name for m in pkgutil.walk_packages(atelier.__path__, "atelier.") if not m.name.endswith("__main__"))


def _check(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {module.__name__}"


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    _check(importlib.import_module(name))


def test_benchmark_runner_examples():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"
    spec = importlib.util.spec_from_file_location("bench_run", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _check(module)
