
import pytest
import torch

# Two cores on CI: keep each test on one thread so parallel work does not thrash.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test writes its caches and taste profiles under temporary folders, never the user's home."""
    cache = tmp_path_factory.getbasetemp() / "atelier-cache"
    monkeypatch.setenv("ATELIER_CACHE", str(cache))
    monkeypatch.setenv("ATELIER_STUDIO_DIR", str(tmp_path_factory.mktemp("atelier-studio")))  # taste profiles
    monkeypatch.setenv("MPLBACKEND", "Agg")
    yield
