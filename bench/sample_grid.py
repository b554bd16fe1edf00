#!/usr/bin/env python3
"""A PNG grid of samples from a .npy file (N, C, H, W or N, H, W; float32 in [-1, 1]), for
pictures of runs that write no grid of their own (the PyTorch twin):

    /usr/bin/python3 bench/sample_grid.py SAMPLES.npy OUT.png [--labels LABELS.npy] [--columns 8]

With --labels (the class each sample was asked for), one row per class, its
first COLUMNS samples in order; otherwise the first 64 samples, 8 to a row.
Needs numpy only (the PNG is written with zlib)."""
import argparse
import struct
import zlib

import numpy as np


def write_png(path, pixels):
    """pixels: uint8 (H, W) grey or (H, W, 3) RGB."""
    height, width = pixels.shape[:2]
    colour = 2 if pixels.ndim == 3 else 0
    rows = b"".join(b"\x00" + pixels[y].tobytes() for y in range(height))  # filter 0 on every row

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("samples")
    parser.add_argument("out")
    parser.add_argument("--labels")
    parser.add_argument("--columns", type=int, default=8)
    args = parser.parse_args()
    samples = np.load(args.samples)
    if samples.ndim == 3:  # one channel, as the twin writes MNIST's
        samples = samples[:, None]
    if samples.ndim != 4:
        parser.error(f"{args.samples}: expected samples (N, C, H, W) or (N, H, W), found shape {samples.shape}")
    if args.labels:
        labels = np.load(args.labels).astype(int).reshape(-1)
        if len(labels) != len(samples):
            parser.error(f"{args.labels}: {len(labels)} labels for {len(samples)} samples")
        rows = [samples[labels == k][:args.columns] for k in range(labels.max() + 1)]
    else:
        rows = [samples[i:i + args.columns] for i in range(0, min(len(samples), 64), args.columns)]
    n, c, h, w = samples.shape
    gap = 2
    grid = np.zeros((len(rows) * (h + gap) + gap, args.columns * (w + gap) + gap, c), np.uint8)
    for r, row in enumerate(rows):
        for col, sample in enumerate(row):
            y, x = gap + r * (h + gap), gap + col * (w + gap)
            grid[y:y + h, x:x + w] = np.clip((sample.transpose(1, 2, 0) + 1) * 127.5 + 0.5, 0, 255).astype(np.uint8)
    write_png(args.out, grid[:, :, 0] if c == 1 else grid)


if __name__ == "__main__":
    main()
