"""A tiny regression task for testing the loop without any real model family."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class ToyConfig:
    width: int = 8
    lr: float = 0.05
    blow_up_at: int = -1  # make the loss NaN at this step (to test the guard)


class ToyTask:
    kind = "toy"

    def __init__(self, config: ToyConfig):
        self.config = config
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(4, config.width), torch.nn.Tanh(), torch.nn.Linear(config.width, 1))
        self.modules = {"net": net}
        self.optimizers = {"net": torch.optim.Adam(net.parameters(), lr=config.lr)}

    def train_step(self, batch, ctx):
        x, y = batch
        noise = ctx.randn(4) * 0.01  # exercises the per-step generator
        loss = torch.nn.functional.mse_loss(self.modules["net"](x + noise), y)
        if ctx.step == self.config.blow_up_at:
            loss = loss * float("nan")
        ctx.optimize("net", loss)
        return {"loss": loss.detach()}


class ToyData:
    def __init__(self, n: int = 96):
        g = torch.Generator().manual_seed(1)
        self.x = torch.randn(n, 4, generator=g)
        self.y = (self.x @ torch.tensor([[1.0], [-2.0], [0.5], [0.0]])).sin()

    def __len__(self):
        return len(self.x)

    def get_batch(self, idx):
        return self.x[idx], self.y[idx]
