#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora (tests/fuzz/corpus/<reader>/): a few small
valid files of each format and a few near-valid ones (truncated, oversized,
foreign, corrupted), each at most a few KB. Deterministic; rerun after a
format change and commit the result."""
import gzip
import json
import os
import shutil
import struct
import zlib

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
out = os.path.join(here, "corpus")


def write(reader, name, data):
    folder = os.path.join(out, reader)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def idx(dims, data, type_byte=0x08):
    return bytes([0, 0, type_byte, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + data


def safetensors(tensors, metadata=None, pad=True):
    """tensors: name -> (dtype, shape, raw bytes)."""
    header, blobs, offset = {}, b"", 0
    if metadata:
        header["__metadata__"] = metadata
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        blobs += raw
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + blobs


def f32(values):
    return struct.pack("<%df" % len(values), *values)


def npy(descr, shape, raw, version=1, fortran=False):
    dims = ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "")
    text = "{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }" % (descr, fortran, dims)
    prefix = 10 if version == 1 else 12
    text += " " * ((64 - (prefix + len(text) + 1) % 64) % 64) + "\n"
    size = struct.pack("<H", len(text)) if version == 1 else struct.pack("<I", len(text))
    return b"\x93NUMPY" + bytes([version, 0]) + size + text.encode() + raw


def main():
    # Only these readers' seeds are made here; corpus/image/ holds pictures (and fuzzer findings) kept as files.
    for reader in ["idx", "safetensors", "npy", "checkpoint"]:
        shutil.rmtree(os.path.join(out, reader), ignore_errors=True)

    # IDX: the fixture's first three images and labels, and broken variants.
    with open(os.path.join(root, "tests/fixtures/mnist/t10k-images-idx3-ubyte"), "rb") as f:
        images = f.read(16 + 3 * 28 * 28)
    images = images[:4] + struct.pack(">I", 3) + images[8:]
    with open(os.path.join(root, "tests/fixtures/mnist/t10k-labels-idx1-ubyte"), "rb") as f:
        labels = f.read(8 + 3)
    labels = labels[:4] + struct.pack(">I", 3) + labels[8:]
    write("idx", "images3", images)
    write("idx", "labels3", labels)
    write("idx", "rank4", idx([2, 1, 2, 3], bytes(range(12))))
    write("idx", "truncated", images[:-100])
    write("idx", "trailing", labels + b"\x07")
    write("idx", "huge_dims", idx([65536, 65536, 256], b"\x01\x02"))
    write("idx", "float_type", idx([3], f32([1, 2, 3]), type_byte=0x0D))
    write("idx", "gzip", b"\x1f\x8b\x08\x00" + bytes(12))
    write("idx", "zero_dim", idx([0, 5], b""))
    # gzipped IDX (read transparently): plain, and with every optional header field (FHCRC, FEXTRA, FNAME,
    # FCOMMENT); and CIFAR-10 records, which fuzz_idx feeds to the CIFAR parser too.
    write("idx", "gzip_images3", gzip.compress(images, mtime=0))
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = deflate.compress(labels) + deflate.flush()
    header = b"\x1f\x8b\x08\x1e" + bytes(4) + b"\x04\x03" + struct.pack("<H", 3) + b"ab\x00" + b"labels3\x00seed\x00"
    header += struct.pack("<H", zlib.crc32(header) & 0xFFFF)
    write("idx", "gzip_all_fields", header + body + struct.pack("<II", zlib.crc32(labels), len(labels)))
    write("idx", "cifar_record", bytes([3]) + bytes(i % 256 for i in range(3072)))

    # safetensors: small golden files, and broken variants of one.
    os.makedirs(os.path.join(out, "safetensors"))
    for name in ["bce", "msle", "mse", "sgd"]:
        shutil.copy(os.path.join(root, "tests/golden", name + ".safetensors"), os.path.join(out, "safetensors"))
    good = safetensors({"a": ("F32", [2, 3], f32(range(6))), "b": ("F64", [2], struct.pack("<2d", 1.5, -2))},
                       {"note": "seed"})
    write("safetensors", "small", good)
    write("safetensors", "truncated", good[:-5])
    write("safetensors", "header_too_long", struct.pack("<Q", 1 << 40) + good[8:])
    overlap = json.dumps({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                          "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}).encode()
    write("safetensors", "overlap", struct.pack("<Q", len(overlap)) + overlap + f32([1, 2]))
    write("safetensors", "huge_shape", safetensors({"a": ("F32", [1 << 20, 1 << 20, 1 << 20], f32([1]))}))
    write("safetensors", "bad_dtype", safetensors({"a": ("I64", [1], b"\x01" * 8)}))
    write("safetensors", "nested", struct.pack("<Q", 40) + b"[" * 40)

    # .npy: float32 and float64 arrays of several ranks, and broken variants.
    write("npy", "f4_2x3", npy("<f4", [2, 3], f32(range(6))))
    write("npy", "f8_4", npy("<f8", [4], struct.pack("<4d", 1, 2, 3, 1e300), version=2))
    write("npy", "f4_scalar", npy("<f4", [], f32([7])))
    write("npy", "f4_rank4", npy("<f4", [1, 2, 1, 2], f32([1, 2, 3, 4]), version=3))
    write("npy", "truncated", npy("<f4", [2, 3], f32(range(5))))
    write("npy", "fortran", npy("<f4", [2, 2], f32(range(4)), fortran=True))
    write("npy", "int64", npy("<i8", [2], b"\x00" * 16))
    write("npy", "huge_shape", npy("<f4", [0, 1 << 31, 1 << 31], b""))
    write("npy", "header_past_end", b"\x93NUMPY\x01\x00\xff\xff{'descr'")

    # Checkpoints: a tinygan checkpoint of the fuzz target's small model
    # (Dense(2, 3) with Adam), and broken variants of its metadata.
    def checkpoint(meta):
        tensors = {"generator.weight": ("F32", [3, 2], f32([0.5] * 6)),
                   "generator.bias": ("F32", [3], f32([0.25] * 3)),
                   "opt_g.0.m": ("F32", [3, 2], f32([0.1] * 6)), "opt_g.0.v": ("F32", [3, 2], f32([0.2] * 6)),
                   "opt_g.1.m": ("F32", [3], f32([0.1] * 3)), "opt_g.1.v": ("F32", [3], f32([0.2] * 3)),
                   "batches.order": ("F32", [4], f32([3, 1, 0, 2]))}
        base = {"format": "tinygan-checkpoint-1", "model": "fuzz", "iteration": "12",
                "batches.position": "2", "batches.epoch": "1", "opt_g.0.step": "12", "opt_g.1.step": "12",
                "rng.noise": "0123456789abcdef:fedcba9876543210:0000000000000001:8000000000000000"}
        base.update(meta)
        return safetensors(tensors, {k: v for k, v in base.items() if v is not None})
    write("checkpoint", "valid", checkpoint({}))
    write("checkpoint", "rng_not_hex", checkpoint({"rng.noise": "0123456789abcdeg:fedcba9876543210:0000000000000001:8000000000000000"}))
    write("checkpoint", "rng_signs", checkpoint({"rng.noise": "-123456789abcdef:+edcba9876543210: x00000000000001:0x00000000000000"}))
    write("checkpoint", "rng_zero", checkpoint({"rng.noise": ":".join(["0" * 16] * 4)}))
    write("checkpoint", "int_garbage", checkpoint({"iteration": "12abc", "batches.epoch": "99999999999999999999"}))
    write("checkpoint", "no_format", checkpoint({"format": None}))
    write("checkpoint", "wrong_shape", checkpoint({}).replace(b"[3,2]", b"[2,3]", 1))


if __name__ == "__main__":
    main()
