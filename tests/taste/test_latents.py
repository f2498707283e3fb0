"""GANSpace directions: exact on a linear generator, meaningful on the shipped DCGAN, clear errors."""

import numpy as np
import pytest
import torch

from atelier.errors import AtelierError
from atelier.taste.latents import early_layer, generator_of, principal_directions


def _linear(singular_values, latent_dim=6, out_dim=10, seed=0):
    """G(z) = A z with A = P diag(s) Qᵀ: its principal directions are Q's columns, scaled 1/s."""
    rng = np.random.default_rng(seed)
    P, _ = np.linalg.qr(rng.normal(size=(out_dim, latent_dim)))
    Q, _ = np.linalg.qr(rng.normal(size=(latent_dim, latent_dim)))
    A = torch.tensor(P @ np.diag(singular_values) @ Q.T, dtype=torch.float32)
    return (lambda z: z @ A.T), Q


@pytest.fixture(scope="module")
def dcgan():
    import atelier

    return atelier.load("mnist-dcgan")


def test_a_linear_generator_gives_its_right_singular_vectors():
    s = np.array([5.0, 3.0, 2.0, 1.0, 0.5, 0.2])
    generate, Q = _linear(s)
    d = principal_directions(generate, 6, k=3, num_samples=4000, seed=0)
    for i in range(3):
        # direction i is Q's column i (up to sign) over s_i: one unit moves coordinate i by one
        cos = abs(d.directions[i] @ Q[:, i]) / np.linalg.norm(d.directions[i])
        assert cos > 0.99, (i, cos)
        assert np.linalg.norm(d.directions[i]) == pytest.approx(1 / s[i], rel=0.05)
    assert d.scale == pytest.approx(s[:3], rel=0.05)  # the spread of each coordinate is s_i
    assert d.explained == pytest.approx(s[:3] ** 2 / (s ** 2).sum(), abs=0.02)


def test_coordinates_and_move_are_inverse_and_standardised():
    generate, _ = _linear(np.array([4.0, 2.0, 1.0, 1.0, 1.0, 1.0]))
    d = principal_directions(generate, 6, k=2, num_samples=1000)
    z = np.random.default_rng(1).normal(size=(500, 6))
    c = d.coordinates(z)
    assert c.shape == (500, 2)
    assert c.std(axis=0) == pytest.approx([1.0, 1.0], abs=0.1)  # in standard deviations of the samples
    steps = np.array([[1.5, -0.5]])
    assert d.coordinates(d.move(z[:1], steps[0])) - c[:1] == pytest.approx(steps)
    moved = d.move(torch.zeros(3, 6), np.ones((3, 2)))
    assert torch.is_tensor(moved) and moved.shape == (3, 6)


def test_the_same_seed_gives_the_same_directions():
    generate, _ = _linear(np.array([3.0, 2.0, 1.0, 1.0, 0.5, 0.5]))
    a = principal_directions(generate, 6, k=2, num_samples=300, seed=4)
    b = principal_directions(generate, 6, k=2, num_samples=300, seed=4)
    assert np.array_equal(a.directions, b.directions) and np.array_equal(a.scale, b.scale)


def test_dcgan_pictures_change_more_along_its_principal_directions_than_at_random(dcgan):
    d = principal_directions(dcgan, k=4, num_samples=300, seed=0)  # PCA on the early layer (GANSpace)
    assert d.directions.shape == (4, dcgan.config.z_dim)
    assert np.all(np.diff(d.explained) <= 0)
    generate, z_dim = generator_of(dcgan)
    z = torch.randn(64, z_dim, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        base = generate(z)

        def change(v: torch.Tensor) -> float:  # mean |Δpixel| after a step of latent length 3
            return (generate(z + 3.0 * v / v.norm()) - base).abs().mean().item()

        principal = [change(torch.as_tensor(u, dtype=torch.float32)) for u in d.directions]
        rng = torch.Generator().manual_seed(0)
        random = [change(torch.randn(z_dim, generator=rng)) for _ in range(8)]
    assert min(principal) > 1.5 * max(random), (principal, random)


def test_a_vae_and_a_callable_work_too():
    from atelier.images.vae import PRESETS, VAEModel, build_task

    import dataclasses

    config = dataclasses.replace(PRESETS["mlp-vae"], hidden=(16, 8), z_dim=4)
    vae = VAEModel(config, build_task(config).vae)
    assert isinstance(early_layer(vae), torch.nn.ReLU)
    d = principal_directions(vae, k=2, num_samples=200)
    assert d.directions.shape == (2, 4)
    generate, z_dim = generator_of(vae)
    assert principal_directions(generate, z_dim, k=2, num_samples=200).directions.shape == (2, 4)


def test_bad_inputs_get_one_line_errors(dcgan):
    generate, _ = _linear(np.ones(6))
    with pytest.raises(AtelierError, match="k=7"):
        principal_directions(generate, 6, k=7, num_samples=100)
    with pytest.raises(AtelierError, match="latent_dim"):
        principal_directions(generate, k=2)
    d = principal_directions(generate, 6, k=2, num_samples=100)
    with pytest.raises(AtelierError, match=r"expected \(n, 6\)"):
        d.coordinates(np.zeros((2, 5)))
    with pytest.raises(AtelierError, match="steps of shape"):
        d.move(np.zeros((2, 6)), [1.0, 2.0, 3.0])
    with pytest.raises(AtelierError, match="label=3"):
        generator_of(dcgan, label=3)  # unconditional
    with pytest.raises(AtelierError, match="unknown kind of image generator"):
        generator_of(torch.nn.Linear(2, 2))
    with pytest.raises(AtelierError, match="fewer than k"):
        principal_directions(lambda z: z[:, :1].repeat(1, 3), 6, k=2, num_samples=50)  # one direction only
