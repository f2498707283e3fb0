"""Image generation: GANs, VAEs and the digit classifier behind the image metrics.

Each family lives in its own module — :mod:`atelier.images.gan`, :mod:`atelier.images.vae` — with
its config dataclass, named ``PRESETS``, a ``build_task`` for :func:`atelier.training.fit` and a
trained-model class to sample from; :mod:`atelier.images.grid` turns image batches into pictures.
"""

from atelier.images.gan import GANConfig, GANModel
from atelier.images.grid import make_grid, write_grid, to_pil
from atelier.images.vae import VAEConfig, VAEModel

__all__ = ["GANConfig", "GANModel", "VAEConfig", "VAEModel", "make_grid", "write_grid", "to_pil"]
