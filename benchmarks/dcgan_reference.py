"""A faithful stand-in for pytorch/examples' ``dcgan/main.py`` run with ``--dataset fake``.

Written here from the paper and the script's documented behaviour (not its code), so that Atelier's
training speed can be compared with the script people know, without torchvision (whose wheels do not
import with this CPU torch). What it keeps, because it costs time or memory:

* the data: 1,000 random 3×64×64 images, each drawn from N(0, 1), turned into 8-bit pixels and back
  into [0, 1] floats item by item, served by a DataLoader with 2 worker processes, shuffled;
* the networks: the DCGAN paper's 64-px G (nz 100 → 4×4×8·ngf → … → 64×64×3, BatchNorm, ReLU, tanh)
  and D (strided convs, BatchNorm, LeakyReLU 0.2, a sigmoid at the end), ngf = ndf = 64, with
  N(0, 0.02) initialisation;
* the objective and optimiser: BCELoss on sigmoid outputs, Adam(lr 2e-4, β = (0.5, 0.999)) for both;
  D steps on a real and a fake batch (two backward passes), G on the same fakes;
* the per-iteration bookkeeping: four ``.item()`` calls and a printed line, a PNG grid of real and of
  fixed-noise fake images at the first iteration of each epoch, and G and D checkpoints at each
  epoch's end.

Run: ``python benchmarks/dcgan_reference.py --epochs 1 --out DIR`` (16 iterations of batch 64: the
last batch has 40 images). ``bench_dcgan_speed.py`` times it against ``atelier train dcgan-64-rgb``.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from PIL import Image
from torch import nn


class FakeImages(torch.utils.data.Dataset):
    """``size`` random RGB images: N(0, 1) noise per item, clipped to 8-bit pixels, back to [0, 1]."""

    def __init__(self, size: int = 1000, shape: tuple[int, int, int] = (3, 64, 64)) -> None:
        self.size, self.shape = size, shape

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        g = torch.Generator().manual_seed(index)
        noise = torch.randn(*self.shape, generator=g)
        pixels = (noise.clamp(0, 1) * 255).to(torch.uint8).permute(1, 2, 0).numpy()  # as a PIL image would
        image = torch.from_numpy(np.ascontiguousarray(pixels)).permute(2, 0, 1).float() / 255.0
        return image, int(torch.randint(10, (1,), generator=g))


def init_weights(m: nn.Module) -> None:
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def generator(nz: int, ngf: int, nc: int) -> nn.Module:
    chans = [nz, ngf * 8, ngf * 4, ngf * 2, ngf]
    layers: list[nn.Module] = []
    for i in range(4):
        stride, pad = (1, 0) if i == 0 else (2, 1)
        layers += [nn.ConvTranspose2d(chans[i], chans[i + 1], 4, stride, pad, bias=False),
                   nn.BatchNorm2d(chans[i + 1]), nn.ReLU(True)]
    layers += [nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh()]
    return nn.Sequential(*layers)


def discriminator(ndf: int, nc: int) -> nn.Module:
    chans = [nc, ndf, ndf * 2, ndf * 4, ndf * 8]
    layers: list[nn.Module] = []
    for i in range(4):
        layers.append(nn.Conv2d(chans[i], chans[i + 1], 4, 2, 1, bias=False))
        if i > 0:
            layers.append(nn.BatchNorm2d(chans[i + 1]))
        layers.append(nn.LeakyReLU(0.2, inplace=True))
    layers += [nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid()]
    return nn.Sequential(*layers)


def save_grid(images: torch.Tensor, path: str, nrow: int = 8) -> None:
    """A grid of (N, 3, H, W) images in [0, 1] (the reference normalises fakes from [-1, 1])."""
    n, c, h, w = images.shape
    rows = (n + nrow - 1) // nrow
    grid = torch.zeros(c, rows * (h + 2) + 2, nrow * (w + 2) + 2)
    for k in range(n):
        r, col = divmod(k, nrow)
        grid[:, 2 + r * (h + 2):2 + r * (h + 2) + h, 2 + col * (w + 2):2 + col * (w + 2) + w] = images[k]
    array = (grid.clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(1, 2, 0).numpy()
    Image.fromarray(array).save(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default="dcgan-reference-out")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(999)
    nz, ngf, ndf, nc = 100, 64, 64, 3
    loader = torch.utils.data.DataLoader(FakeImages(args.images), batch_size=args.batch_size, shuffle=True,
                                         num_workers=args.workers)
    G, D = generator(nz, ngf, nc), discriminator(ndf, nc)
    G.apply(init_weights)
    D.apply(init_weights)
    criterion = nn.BCELoss()
    fixed_noise = torch.randn(args.batch_size, nz, 1, 1)
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    start = time.perf_counter()
    iterations = 0
    for epoch in range(args.epochs):
        for i, (real, _) in enumerate(loader):
            b = real.size(0)
            # D: maximise log D(x) + log(1 − D(G(z)))
            D.zero_grad()
            label = torch.full((b,), 1.0)
            out = D(real).view(-1)
            err_real = criterion(out, label)
            err_real.backward()
            d_x = out.mean().item()
            fake = G(torch.randn(b, nz, 1, 1))
            label.fill_(0.0)
            out = D(fake.detach()).view(-1)
            err_fake = criterion(out, label)
            err_fake.backward()
            d_g_z1 = out.mean().item()
            opt_d.step()
            # G: maximise log D(G(z))
            G.zero_grad()
            label.fill_(1.0)
            out = D(fake).view(-1)
            err_g = criterion(out, label)
            err_g.backward()
            d_g_z2 = out.mean().item()
            opt_g.step()
            iterations += 1
            print(f"[{epoch}/{args.epochs}][{i}/{len(loader)}] Loss_D: {(err_real + err_fake).item():.4f} "
                  f"Loss_G: {err_g.item():.4f} D(x): {d_x:.4f} D(G(z)): {d_g_z1:.4f} / {d_g_z2:.4f}", flush=True)
            if i % 100 == 0:
                save_grid(real, os.path.join(args.out, "real_samples.png"))
                with torch.no_grad():
                    save_grid((G(fixed_noise) + 1) / 2, os.path.join(args.out, f"fake_samples_epoch_{epoch:03d}.png"))
        torch.save(G.state_dict(), os.path.join(args.out, f"netG_epoch_{epoch}.pth"))
        torch.save(D.state_dict(), os.path.join(args.out, f"netD_epoch_{epoch}.pth"))
    seconds = time.perf_counter() - start
    print(f"trained {iterations} iterations in {seconds:.2f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
