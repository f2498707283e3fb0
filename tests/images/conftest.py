import numpy as np
import pytest
import torch


@pytest.fixture(scope="session")
def digits() -> tuple[torch.Tensor, torch.Tensor]:
    """200 real MNIST digits in [-1, 1] with their labels (shuffled: the 5,000 are sorted by class)."""
    from atelier.data.images import load_images

    ds = load_images("mnist")
    return ds.get_batch(torch.from_numpy(np.random.default_rng(0).permutation(len(ds))[:200]))
