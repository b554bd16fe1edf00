#!/usr/bin/env python3
"""Train the PyTorch twin of one of tinygan's MNIST GANs (docs/models.md)
with the same procedure, and write samples for tinygan-score.

    /usr/bin/python3 bench/torch_twin.py --model dcgan --iters 937 --out /tmp/torch_dcgan
    /usr/bin/python3 bench/torch_twin.py --model dcgan --dataset fashion-mnist --out /tmp/torch_fashion
    /usr/bin/python3 bench/torch_twin.py --model dcgan --conditional projection --out /tmp/torch_cdcgan

Needs Debian's python3-torch and python3-numpy, and MNIST's four IDX files
(data/mnist, as the tinygan programs fetch them). --dataset fashion-mnist
(the dcgan only, as image_dcgan trains it at 28x28 grey) reads Debian's
gzipped IDX files from /usr/share/datasets/fashion-mnist. Install
libopenblas0-pthread too: Debian's torch calls the system libblas.so.3, which
is otherwise the reference BLAS (a tiny MLP step then costs 26 ms instead of 4.6 ms);
blas_env.py then picks OpenBLAS's kernels for this CPU. Writes OUT/samples.npy
(float32, N x 28 x 28, in the generator's output range) and OUT/log.csv
(iteration, d_loss, g_loss, seconds). --conditional KIND trains the
conditional DCGAN (image_dcgan --conditional KIND: G(z, y), D(x, y) reading
the label by projection or channels) on the data set's labels, the fakes'
classes drawn uniformly; its samples ask for the classes in turn (sample i
for class i mod 10), and OUT/labels.npy holds the class each was asked for.
"""

import argparse
import os
import time

import numpy as np

import blas_env  # noqa: F401  (before torch: picks OpenBLAS's kernels for this CPU)
import torch
from torch import nn
from torch_common import (conditional_dcgan, dcgan_discriminator, dcgan_generator, inverted_autoencoder,
                          minimal_generator, read_idx)


class FastConvTranspose2d(nn.ConvTranspose2d):
    """nn.ConvTranspose2d with the same parameters and outputs, computed as
    ordinary convolutions: stride 1 as a convolution with the flipped kernel,
    stride 2 as a sub-pixel convolution (one 3x3-style convolution per output
    phase, stacked) followed by pixel shuffle. PyTorch 1.13's own transposed
    convolution backward costs seconds per DCGAN iteration on this CPU."""

    def forward(self, x):
        (k, _), (s, _), (p, _) = self.kernel_size, self.stride, self.padding
        flipped = self.weight.flip(2, 3).transpose(0, 1)  # [out, in, k, k]
        if s == 1:
            return nn.functional.conv2d(x, flipped, self.bias, padding=k - 1 - p)
        assert s == 2 and self.output_padding[0] == 1 and k % 2 == 1, "only stride 2 with output_padding 1"
        # Output row 2m + a gathers input rows m + d with kernel tap t = a + p - 2d.
        reach = (k + 1) // 4 + 1
        taps = []
        for a in range(2):
            row = []
            for d in range(reach, -reach - 1, -1):
                t = a + p - 2 * d
                row.append(t if 0 <= t < k else -1)
            taps.append(row)
        w = nn.functional.pad(self.weight, (0, 1, 0, 1))  # tap -1 reads a zero
        phases = [w[:, :, ta][:, :, :, tb] for ta in taps for tb in taps]  # each [in, out, r, r]
        kernel = torch.stack(phases, 2).permute(1, 2, 0, 3, 4).flatten(0, 1)  # [out*4, in, r, r]
        # Stacked phases correlate; flip back since taps were listed from +reach down.
        y = nn.functional.conv2d(x, kernel.flip(2, 3), padding=reach)
        y = nn.functional.pixel_shuffle(y, 2)
        return y if self.bias is None else y + self.bias.view(1, -1, 1, 1)


def dcgan(fast=True, conditional=None):
    deconv = FastConvTranspose2d if fast else nn.ConvTranspose2d
    if conditional:
        g, d = conditional_dcgan(conditional, deconv=deconv)
    else:
        g, d = dcgan_generator(deconv), dcgan_discriminator()

    def init(m):  # DCGAN's normal(0, 0.02), as tinygan's dcgan_normal (embeddings stay N(0, 1))
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    g.apply(init)
    d.apply(init)
    if conditional == "projection":  # at the head's scale, as examples/models/conditional_dcgan.hpp
        nn.init.normal_(d.embed.weight, 0.0, 0.02)
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
    g = minimal_generator()
    d = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 1), nn.Sigmoid())
    return g, d


def inverted():
    g = inverted_autoencoder()
    d = nn.Sequential(nn.Linear(784, 512), nn.LeakyReLU(0.2), nn.Linear(512, 256), nn.LeakyReLU(0.2),
                      nn.Linear(256, 1), nn.Sigmoid())
    return g, d


# name: (networks, image shape for D, pixels in [0,1]?, real/fake batch, G batch, lr, beta1, default iterations)
MODELS = {
    "dcgan": (dcgan, (1, 28, 28), False, 64, 64, 2e-4, 0.5, 937),
    "dense": (dense, (784,), False, 64, 64, 2e-4, 0.5, 50 * 937),
    "dense-bn": (dense_bn, (784,), False, 32, 64, 2e-4, 0.5, 20000),
    "minimal": (minimal, (784,), True, 32, 32, 1e-3, 0.9, 10000),
    "inverted": (inverted, (784,), True, 128, 128, 2e-4, 0.9, 5001),
}


# --dataset: the default folder of each (28x28 grey, 60,000 training images each)
DATA = {"mnist": "data/mnist", "fashion-mnist": "/usr/share/datasets/fashion-mnist"}


def msle(p, target):  # Keras's mean squared logarithmic error, predictions clamped at its epsilon
    return ((torch.log1p(p.clamp(min=1e-7)) - torch.log1p(target)) ** 2).mean()


def train_step(g, d, opt_g, opt_d, real, fake_input, g_input, autoencoder, labels=None):
    """One GAN iteration by docs/models.md's procedure (tinygan's gan::Trainer::step).
    labels: a conditional GAN's (reals' classes, the D step's fakes', the G step's)."""
    bce = nn.functional.binary_cross_entropy
    if labels is not None:  # G(z, y) and D(x, y): each call takes the next classes, in the order the step calls them
        real_y, fake_y, g_y = labels
        g_plain, d_plain = g, d
        g = lambda z, k=iter((fake_y, g_y)): g_plain(z, next(k))  # noqa: E731
        d = lambda x, k=iter((real_y, fake_y, g_y)): d_plain(x, next(k))  # noqa: E731
    # D step: a real batch and a batch of fakes made without gradient.
    with torch.no_grad():
        fake = g(fake_input)
    opt_d.zero_grad()
    d_loss = 0.5 * (bce(d(real), torch.ones(len(real), 1)) + bce(d(fake), torch.zeros(len(fake), 1)))
    d_loss.backward()
    opt_d.step()
    # G step through the frozen D; only G's optimizer steps.
    frozen = d_plain if labels is not None else d
    for p in frozen.parameters():
        p.requires_grad_(False)
    opt_g.zero_grad()
    score = d(g(g_input))
    target = torch.ones(len(g_input), 1)
    g_loss = msle(score, target) if autoencoder else bce(score, target)
    g_loss.backward()
    opt_g.step()
    for p in frozen.parameters():
        p.requires_grad_(True)
    return d_loss, g_loss


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="dcgan")
    parser.add_argument("--iters", type=int)
    parser.add_argument("--minutes", type=float, help="stop once training has run this long (as tinygan's --minutes)")
    parser.add_argument("--dataset", choices=sorted(DATA), default="mnist")
    parser.add_argument("--data", help="the data set's folder [mnist: data/mnist; fashion-mnist: "
                                       "/usr/share/datasets/fashion-mnist]")
    parser.add_argument("--out", required=True)
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--conditional", choices=["projection", "channels"],
                        help="dcgan: the conditional DCGAN, D reading the label this way")
    parser.add_argument("--plain-deconv", action="store_true",
                        help="dcgan: use nn.ConvTranspose2d as written (slow backward) instead of FastConvTranspose2d")
    args = parser.parse_args()
    if args.dataset != "mnist" and args.model != "dcgan":
        parser.error(f"--dataset {args.dataset}: only --model dcgan trains on it (tinygan's image_dcgan); "
                     f"the other models are MNIST's")
    if args.conditional and args.model != "dcgan":
        parser.error("--conditional: only --model dcgan has a conditional twin")
    data = args.data or DATA[args.dataset]

    make, shape, unit, batch, g_batch, lr, beta1, default_iters = MODELS[args.model]
    iters = args.iters or default_iters
    autoencoder = args.model == "inverted"
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)

    def idx(name):  # Debian ships Fashion-MNIST gzipped; take the plain file if it is there
        path = os.path.join(data, name)
        return path if os.path.exists(path) or not os.path.exists(path + ".gz") else path + ".gz"

    def load(split):
        _, images = read_idx(idx(split + "-images-idx3-ubyte"))
        images = images.astype(np.float32) / 255.0
        if autoencoder:  # docs/models.md: the 8s only; G maps x to the inverted 1 - x
            _, labels = read_idx(idx(split + "-labels-idx1-ubyte"))
            images = images[labels == 8]
        elif not unit:
            images = images * 2 - 1
        return torch.from_numpy(np.ascontiguousarray(images)).reshape(-1, *shape)

    x = load("train")
    y = torch.from_numpy(read_idx(idx("train-labels-idx1-ubyte"))[1].astype(np.int64)) if args.conditional else None
    g, d = make(fast=not args.plain_deconv, conditional=args.conditional) if args.model == "dcgan" else make()
    opt_g = torch.optim.Adam(g.parameters(), lr=lr, betas=(beta1, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=lr, betas=(beta1, 0.999))
    def batches():  # (real, G's input for the D step's fakes, G's input for the G step, labels or None)
        while True:
            if autoencoder:  # one random index set per iteration, drawn with replacement
                idx = torch.randint(len(x), (batch,))
                yield 1 - x[idx], x[idx], x[idx], None
                continue
            order = torch.randperm(len(x))
            for k in range(len(x) // batch):
                picked = order[k * batch:(k + 1) * batch]
                labels = (y[picked], torch.randint(10, (batch,)), torch.randint(10, (g_batch,))) if args.conditional \
                    else None
                yield x[picked], torch.randn(batch, 100), torch.randn(g_batch, 100), labels

    start = time.time()
    log = ["iteration,d_loss,g_loss,seconds"]
    if args.minutes:
        iters = args.iters or 10**9  # the time decides
    for it, (real, fake_input, g_input, labels) in zip(range(1, iters + 1), batches()):
        d_loss, g_loss = train_step(g, d, opt_g, opt_d, real, fake_input, g_input, autoencoder, labels)
        log.append(f"{it},{d_loss.item():.6g},{g_loss.item():.6g},{time.time() - start:.3f}")
        if args.minutes and time.time() - start >= 60 * args.minutes:
            iters = it
            break
        if it % 100 == 0:
            print(f"{args.model} {it}/{iters} D {d_loss.item():.4f} G {g_loss.item():.4f} "
                  f"{time.time() - start:.0f} s", flush=True)

    g.eval()
    with torch.no_grad():
        if autoencoder:  # the generator's outputs for the test set's 8s
            samples = g(load("t10k")[:args.samples])
        elif args.conditional:  # the classes in turn: sample i asks for class i mod 10
            asked = torch.arange(args.samples) % 10
            samples = torch.cat([g(torch.randn(len(k), 100), k) for k in asked.split(1000)])
            np.save(os.path.join(args.out, "labels.npy"), asked.numpy().astype(np.float32))
        else:
            samples = torch.cat([g(torch.randn(1000, 100)) for _ in range((args.samples + 999) // 1000)])
    np.save(os.path.join(args.out, "samples.npy"), samples[:args.samples].reshape(-1, 28, 28).numpy())
    with open(os.path.join(args.out, "log.csv"), "w") as f:
        f.write("\n".join(log) + "\n")
    print(f"{args.model}: {iters} iterations in {time.time() - start:.0f} s; samples in {args.out}/samples.npy")


if __name__ == "__main__":
    main()
