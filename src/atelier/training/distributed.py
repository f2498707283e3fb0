"""Data-parallel training under ``torchrun``: process group set-up and gradient averaging.

Run the same command with ``torchrun --nproc_per_node=N -m atelier train ...``: torchrun sets
``RANK``/``WORLD_SIZE``/``LOCAL_RANK``, each process takes its slice of every global batch, and
gradients are averaged across processes before each optimizer step — the synchronisation
DistributedDataParallel performs. We average explicitly in :func:`average_gradients` instead of
wrapping modules in ``DistributedDataParallel`` because GAN steps run the discriminator several times
per backward pass and WGAN-GP differentiates through a gradient, two patterns DDP's reducer does not
support; the arithmetic (an all-reduce of every gradient, divided by the world size) is the same.
Only rank 0 logs, writes samples and checkpoints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False  # this process group was started by init_from_env, so it ends it

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_from_env(device: torch.device) -> DistInfo:
    """Join the process group torchrun described in the environment; a no-op for one process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    rank = int(os.environ["RANK"])
    local = int(os.environ.get("LOCAL_RANK", "0"))
    owns = not dist.is_initialized()
    if owns:
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
    return DistInfo(rank=rank, world_size=world, local_rank=local, owns_group=owns)


def broadcast_modules(modules: dict[str, torch.nn.Module], info: DistInfo) -> None:
    """Give every rank rank 0's parameters and buffers."""
    if not info.enabled:
        return
    for module in modules.values():
        for tensor in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(tensor.data, src=0)


def average_gradients(params: list[torch.nn.Parameter], info: DistInfo) -> None:
    """All-reduce and average gradients in place (what DDP does after backward)."""
    if not info.enabled:
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= info.world_size
    offset = 0
    for g in grads:
        n = g.numel()
        g.copy_(flat[offset:offset + n].view_as(g))
        offset += n


def average_scalars(values: dict[str, float], info: DistInfo) -> dict[str, float]:
    """Mean of each logged scalar over ranks, so rank 0 logs the global-batch loss."""
    if not info.enabled or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    t /= info.world_size
    return dict(zip(keys, t.tolist()))


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def shutdown(info: DistInfo) -> None:
    """End the process group ``init_from_env`` started. Leaving it to the interpreter's exit can
    abort the process (SIGABRT) while gloo tears down its threads; a group the caller started is
    the caller's to end."""
    if info.owns_group and dist.is_initialized():
        dist.destroy_process_group()
