"""Two unpaired image domains: the built-in synthetic pairs and their pairing."""

import torch

from atelier.data.unpaired import synthetic_domains, unpaired


def test_synthetic_domains_are_fixed_and_differ_as_named():
    a, b = synthetic_domains("red-blue", size=16, n=8)
    assert torch.equal(a.images, synthetic_domains("red-blue", size=16, n=8)[0].images)
    red_minus_blue = (a.images[:, 0].float() - a.images[:, 2].float()).amax(dim=(1, 2))  # (8,) per image
    blue_minus_red = (b.images[:, 2].float() - b.images[:, 0].float()).amax(dim=(1, 2))
    assert (red_minus_blue > 100).all() and (blue_minus_red > 100).all()
    grey_a, _ = synthetic_domains("squares-circles", size=16, n=2, channels=1)
    assert grey_a.images.shape == (2, 1, 16, 16)


def test_unpaired_shows_every_image_of_the_larger_domain_once_an_epoch():
    a, b = synthetic_domains("red-blue", size=8, n=5)
    data = unpaired(a, b.subset(torch.arange(3)), seed=0)
    assert len(data) == 5
    assert sorted(data.pairing.tolist()) == [0, 0, 1, 1, 2]  # 3 B images spread over 5 items
    assert torch.equal(unpaired(a, b, seed=0).pairing, unpaired(a, b, seed=0).pairing)
