"""A training run for fault injection: a toy task with a heavy frozen buffer, so that checkpoint
writes take a good share of the run and a random kill often lands inside one.

    python -m tests.training.killable OUT NUM_STEPS [--resume]
"""

from __future__ import annotations

import sys

import torch

from atelier.training import TrainConfig, fit
from tests.training.toy import ToyConfig, ToyData, ToyTask

CONFIG = ToyConfig(width=16)
LOOP = TrainConfig(num_steps=40, batch_size=16, log_every=1, sample_every=0, eval_every=0, checkpoint_every=1,
                   checkpoint_minutes=0, keep_checkpoints=3, tensorboard=False, progress=False)


def heavy_task() -> ToyTask:
    task = ToyTask(CONFIG)
    ballast = torch.nn.Module()
    ballast.register_buffer("weights", torch.arange(8_000_000, dtype=torch.float32))  # 32 MB a checkpoint
    task.modules["ballast"] = ballast
    return task


def run(out: str, num_steps: int, *, resume: bool, on_log=None) -> torch.Tensor:
    task = heavy_task()
    loop = TrainConfig(**{**LOOP.__dict__, "num_steps": num_steps})
    fit(task, ToyData(), config=loop, out_dir=out, resume=resume, on_log=on_log)
    return weights(task.modules["net"].state_dict())


def weights(state: dict[str, torch.Tensor]) -> torch.Tensor:
    """The network's weights as one vector, in a fixed order."""
    return torch.cat([state[k].flatten() for k in sorted(state)])


def _ready(step: int, losses: dict) -> None:
    if step == 1:  # the run is under way: from here on a kill interrupts training
        print("ready", flush=True)


if __name__ == "__main__":
    torch.set_num_threads(1)
    run(sys.argv[1], int(sys.argv[2]), resume="--resume" in sys.argv, on_log=_ready)
