#!/usr/bin/env python3
"""Train the PyTorch twin of one of tinygan's MNIST GANs (shared/MODELS.md)
with the same procedure, and write samples for tinygan-score.

    /usr/bin/python3 bench/torch_twin.py --model dcgan --iters 937 --out /tmp/torch_dcgan

Needs Debian's python3-torch and python3-numpy, and MNIST's four IDX files
(data/mnist, as the tinygan programs fetch them). Install libopenblas0-pthread
too: Debian's torch calls the system libblas.so.3, which is otherwise the
reference BLAS (a tiny MLP step then costs 26 ms instead of 4.6 ms). Writes OUT/samples.npy
(float32, N x 28 x 28, in the generator's output range) and OUT/log.csv
(iteration, d_loss, g_loss, seconds).
"""

import argparse
import os
import struct
import time

import numpy as np
import torch
from torch import nn


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    zero, dtype, rank = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise SystemExit(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * rank).reshape(dims)


def dcgan():
    g = nn.Sequential(
        nn.Linear(100, 12544, bias=False), nn.BatchNorm1d(12544), nn.LeakyReLU(0.2),
        nn.Unflatten(1, (256, 7, 7)),
        nn.ConvTranspose2d(256, 128, 5, 1, 2, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(128, 64, 5, 2, 2, output_padding=1, bias=False), nn.BatchNorm2d(64),
        nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(64, 1, 5, 2, 2, output_padding=1, bias=False), nn.Tanh())
    d = nn.Sequential(
        nn.Conv2d(1, 64, 5, 2, 2), nn.LeakyReLU(0.2), nn.Dropout(0.3),
        nn.Conv2d(64, 128, 5, 2, 2), nn.BatchNorm2d(128), nn.LeakyReLU(0.2), nn.Dropout(0.3),
        nn.Flatten(), nn.Linear(6272, 1), nn.Sigmoid())

    def init(m):  # DCGAN's normal(0, 0.02), as tinygan's dcgan_normal
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    g.apply(init)
    d.apply(init)
    return g, d


def dense():
    g = nn.Sequential(nn.Linear(100, 256), nn.ReLU(), nn.Linear(256, 512), nn.ReLU(),
                      nn.Linear(512, 1024), nn.ReLU(), nn.Linear(1024, 784), nn.Tanh())
    d = nn.Sequential(nn.Linear(784, 1024), nn.LeakyReLU(0.2), nn.Linear(1024, 512), nn.LeakyReLU(0.2),
                      nn.Linear(512, 256), nn.LeakyReLU(0.2), nn.Linear(256, 1), nn.Sigmoid())
    return g, d


def dense_bn():
    g = nn.Sequential(nn.Linear(100, 256), nn.ReLU(), nn.BatchNorm1d(256),
                      nn.Linear(256, 512), nn.ReLU(), nn.BatchNorm1d(512),
                      nn.Linear(512, 1024), nn.ReLU(), nn.BatchNorm1d(1024),
                      nn.Linear(1024, 784), nn.Tanh())
    d = nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Dropout(0.4), nn.Linear(1024, 512), nn.ReLU(),
                      nn.Dropout(0.4), nn.Linear(512, 256), nn.ReLU(), nn.Dropout(0.4),
                      nn.Linear(256, 1), nn.Sigmoid())
    return g, d


def minimal():
    g = nn.Sequential(nn.Linear(100, 256), nn.ReLU(), nn.Linear(256, 784), nn.Sigmoid())
    d = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 1), nn.Sigmoid())
    return g, d


# name: (networks, image shape for D, pixels in [0,1]?, real/fake batch, G batch, lr, beta1, default iterations)
MODELS = {
    "dcgan": (dcgan, (1, 28, 28), False, 64, 64, 2e-4, 0.5, 937),
    "dense": (dense, (784,), False, 64, 64, 2e-4, 0.5, 50 * 937),
    "dense-bn": (dense_bn, (784,), False, 32, 64, 2e-4, 0.5, 20000),
    "minimal": (minimal, (784,), True, 32, 32, 1e-3, 0.9, 10000),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="dcgan")
    parser.add_argument("--iters", type=int)
    parser.add_argument("--data", default="data/mnist")
    parser.add_argument("--out", required=True)
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    make, shape, unit, batch, g_batch, lr, beta1, default_iters = MODELS[args.model]
    iters = args.iters or default_iters
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)

    images = read_idx(os.path.join(args.data, "train-images-idx3-ubyte")).astype(np.float32) / 255.0
    if not unit:
        images = images * 2 - 1
    x = torch.from_numpy(images).reshape(-1, *shape)
    g, d = make()
    opt_g = torch.optim.Adam(g.parameters(), lr=lr, betas=(beta1, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=lr, betas=(beta1, 0.999))
    bce = nn.BCELoss()
    ones, zeros, g_ones = torch.ones(batch, 1), torch.zeros(batch, 1), torch.ones(g_batch, 1)

    start, it = time.time(), 0
    log = ["iteration,d_loss,g_loss,seconds"]
    while it < iters:
        order = torch.randperm(len(x))
        for k in range(len(x) // batch):
            if it >= iters:
                break
            real = x[order[k * batch:(k + 1) * batch]]
            # D step: a real batch and a batch of fakes made without gradient.
            with torch.no_grad():
                fake = g(torch.randn(batch, 100))
            opt_d.zero_grad()
            d_loss = 0.5 * (bce(d(real), ones) + bce(d(fake), zeros))
            d_loss.backward()
            opt_d.step()
            # G step through D with fresh noise; only G's optimizer steps.
            for p in d.parameters():
                p.requires_grad_(False)
            opt_g.zero_grad()
            g_loss = bce(d(g(torch.randn(g_batch, 100))), g_ones)
            g_loss.backward()
            opt_g.step()
            for p in d.parameters():
                p.requires_grad_(True)
            it += 1
            log.append(f"{it},{d_loss.item():.6g},{g_loss.item():.6g},{time.time() - start:.3f}")
            if it % 100 == 0:
                print(f"{args.model} {it}/{iters} D {d_loss.item():.4f} G {g_loss.item():.4f} "
                      f"{time.time() - start:.0f} s", flush=True)

    g.eval()
    with torch.no_grad():
        samples = torch.cat([g(torch.randn(1000, 100)) for _ in range((args.samples + 999) // 1000)])
    np.save(os.path.join(args.out, "samples.npy"), samples[:args.samples].reshape(-1, 28, 28).numpy())
    with open(os.path.join(args.out, "log.csv"), "w") as f:
        f.write("\n".join(log) + "\n")
    print(f"{args.model}: {iters} iterations in {time.time() - start:.0f} s; samples in {args.out}/samples.npy")


if __name__ == "__main__":
    main()
