"""The PyTorch side that bench/torch_twin.py, bench/compare_torch.py,
scripts/torch_interop.py and tests/golden/make_golden.py share: the networks
of docs/models.md that more than one of them builds, pytorch/examples'
DCGAN (examples/models/pytorch_dcgan.hpp), and the IDX and safetensors
formats, written from their specifications (no safetensors package)."""

import gzip
import json
import struct

import numpy as np
import torch
from torch import nn


# ---------------------------------------------------------------------------
# The networks, as docs/models.md and examples/models/ build
# them; index for index, so the state_dict names are the same
# ---------------------------------------------------------------------------

def dcgan_generator(deconv=nn.ConvTranspose2d, inputs=100):  # torch_twin.py passes its FastConvTranspose2d
    return nn.Sequential(
        nn.Linear(inputs, 256 * 7 * 7, bias=False), nn.BatchNorm1d(256 * 7 * 7), nn.LeakyReLU(0.2),
        nn.Unflatten(1, (256, 7, 7)),
        deconv(256, 128, 5, 1, 2, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
        deconv(128, 64, 5, 2, 2, output_padding=1, bias=False), nn.BatchNorm2d(64), nn.LeakyReLU(0.2),
        deconv(64, 1, 5, 2, 2, output_padding=1, bias=False), nn.Tanh())


def dcgan_features(channels=1):  # D up to its head: [N, 6272]
    return [nn.Conv2d(channels, 64, 5, 2, 2), nn.LeakyReLU(0.2), nn.Dropout(0.3),
            nn.Conv2d(64, 128, 5, 2, 2), nn.BatchNorm2d(128), nn.LeakyReLU(0.2), nn.Dropout(0.3), nn.Flatten()]


def dcgan_discriminator(channels=1, sigmoid=True):
    return nn.Sequential(*dcgan_features(channels), nn.Linear(128 * 7 * 7, 1), *([nn.Sigmoid()] if sigmoid else []))


def dcgan_critic(spectral_norm=False):
    """tinygan's dcgan_critic: D without BatchNorm, Dropout or Sigmoid (WGAN-GP, SNGAN), each
    weighted layer optionally under torch.nn.utils.spectral_norm (weight_orig, weight_u, weight_v)."""
    sn = nn.utils.spectral_norm if spectral_norm else (lambda layer: layer)
    return nn.Sequential(sn(nn.Conv2d(1, 64, 5, 2, 2)), nn.LeakyReLU(0.2), sn(nn.Conv2d(64, 128, 5, 2, 2)),
                         nn.LeakyReLU(0.2), nn.Flatten(), sn(nn.Linear(128 * 7 * 7, 1)))


class LabelConcat(nn.Module):
    """tinygan's nn::LabelConcat: the label's embedding joined to the input,
    as features of a vector or as channels spread over a map, then `net`."""

    def __init__(self, classes, features, net):
        super().__init__()
        self.embed = nn.Embedding(classes, features)
        self.net = net

    def forward(self, x, y):
        e = self.embed(y)
        if x.dim() == 4:
            e = e[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
        return self.net(torch.cat([x, e], 1))


class ProjectionDiscriminator(nn.Module):
    """tinygan's nn::ProjectionDiscriminator (Miyato and Koyama, 2018):
    head(f(x)) + <embed(y), f(x)>, a Sigmoid after when D outputs probabilities."""

    def __init__(self, body, features, classes, sigmoid):
        super().__init__()
        self.body, self.head, self.embed = body, nn.Linear(features, 1), nn.Embedding(classes, features)
        self.sigmoid = sigmoid

    def forward(self, x, y):
        f = self.body(x)
        out = self.head(f) + (self.embed(y) * f).sum(1, keepdim=True)
        return torch.sigmoid(out) if self.sigmoid else out


LABEL_FEATURES = 10  # examples/models/conditional_dcgan.hpp's kLabelFeatures


def conditional_dcgan(kind, classes=10, deconv=nn.ConvTranspose2d, sigmoid=True):
    """examples/models/conditional_dcgan.hpp: G(z, y) and D(x, y), D reading the label by `kind`."""
    g = LabelConcat(classes, LABEL_FEATURES, dcgan_generator(deconv, 100 + LABEL_FEATURES))
    if kind == "channels":
        d = LabelConcat(classes, LABEL_FEATURES, dcgan_discriminator(1 + LABEL_FEATURES, sigmoid))
    else:
        d = ProjectionDiscriminator(nn.Sequential(*dcgan_features()), 128 * 7 * 7, classes, sigmoid)
    return g, d


def inverted_autoencoder():
    widths = [784, 512, 256, 128, 64, 32, 64, 128, 256, 512]
    layers = []
    for a, b in zip(widths, widths[1:]):
        layers += [nn.Linear(a, b), nn.LeakyReLU(0.2)] + ([nn.Dropout(0.3)] if b != 32 else [])
    return nn.Sequential(*layers, nn.Linear(512, 784), nn.Sigmoid())


def minimal_generator():  # mnist_dense --model minimal; its Reshape to 28x28 has no weights
    return nn.Sequential(nn.Linear(100, 256), nn.ReLU(), nn.Linear(256, 784), nn.Sigmoid())


class DCGANGenerator(nn.Module):
    """pytorch/examples' dcgan/main.py Generator (nz 100, ngf 64, nc channels),
    as written there; size 32 leaves out its widest block (ngf * 8), as
    examples/models/pytorch_dcgan.hpp does. Takes z as [N, 100, 1, 1]."""

    def __init__(self, size=64, nc=3, nz=100, ngf=64):
        super().__init__()
        if size == 64:
            first = [nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
                     nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False)]
        else:
            first = [nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False)]
        self.main = nn.Sequential(
            *first, nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh())

    def forward(self, input):
        return self.main(input)


class DCGANDiscriminator(nn.Module):
    """pytorch/examples' dcgan/main.py Discriminator (ndf 64), size 32 without
    its widest block; returns [N, 1] (pytorch/examples squeezes it to [N]),
    as tinygan's D, whose Flatten follows main."""

    def __init__(self, size=64, nc=3, ndf=64):
        super().__init__()
        if size == 64:
            last = [nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8),
                    nn.LeakyReLU(0.2, inplace=True), nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False)]
        else:
            last = [nn.Conv2d(ndf * 4, 1, 4, 1, 0, bias=False)]
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4),
            nn.LeakyReLU(0.2, inplace=True),
            *last, nn.Sigmoid())

    def forward(self, input):
        return self.main(input).view(-1, 1)


def dcgan_weights_init(m):
    """pytorch/examples' weights_init: N(0, 0.02) convolutions, BatchNorm scale N(1, 0.02)."""
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


# ---------------------------------------------------------------------------
# File formats
# ---------------------------------------------------------------------------

ST_DTYPES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8"), "I64": np.dtype("<i8")}


def write_safetensors(path, arrays, metadata=None):
    """name -> numpy array, in the dict's order, as safetensors: an 8-byte
    little-endian header length, the JSON header (the metadata as strings,
    if any, then dtype, shape and byte range of each tensor; padded with
    spaces to a multiple of 8), then the raw little-endian data."""
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}} if metadata else {}
    blobs, offset = [], 0
    for name, a in arrays.items():
        dtype = {("f", 4): "F32", ("f", 8): "F64", ("i", 8): "I64"}.get((a.dtype.kind, a.dtype.itemsize))
        if dtype is None:
            raise ValueError(f"{path}: tensor '{name}' has dtype {a.dtype}; this writer knows F32, F64 and I64")
        blob = np.ascontiguousarray(a, dtype=ST_DTYPES[dtype]).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: not a safetensors file ({len(data)} bytes)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise ValueError(f"{path}: header claims {n} bytes, the file has {len(data) - 8}")
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype = ST_DTYPES.get(entry["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: tensor '{name}' has dtype {entry['dtype']}, expected one of {list(ST_DTYPES)}")
        begin, end = entry["data_offsets"]
        count = int(np.prod(entry["shape"], dtype=np.int64))
        if not 0 <= begin <= end <= len(body) or end - begin != count * dtype.itemsize:
            raise ValueError(f"{path}: tensor '{name}': byte range [{begin}, {end}) does not hold "
                             f"shape {entry['shape']} of {entry['dtype']}")
        out[name] = np.frombuffer(body[begin:end], dtype).reshape(entry["shape"]).copy()
    return out


def read_idx(path):
    """An IDX file of unsigned bytes: magic 0x0000 08 RANK (big-endian), RANK
    big-endian uint32 dimensions, then the bytes in C order; gzipped if the
    name ends in .gz (Debian's Fashion-MNIST). Returns the magic and the array."""
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        data = f.read()
    if len(data) < 4:
        raise ValueError(f"{path}: not an IDX file ({len(data)} bytes)")
    (magic,) = struct.unpack(">I", data[:4])
    if magic >> 8 != 0x000008:
        raise ValueError(f"{path}: magic 0x{magic:08x} is not an unsigned-byte IDX file's 0x000008NN")
    rank = magic & 0xFF
    dims = struct.unpack(f">{rank}I", data[4:4 + 4 * rank])
    body = data[4 + 4 * rank:]
    if len(body) != int(np.prod(dims)):
        raise ValueError(f"{path}: dimensions {dims} need {int(np.prod(dims))} bytes, found {len(body)}")
    return magic, np.frombuffer(body, np.uint8).reshape(dims)
