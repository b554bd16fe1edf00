#!/usr/bin/env python3
"""Generate PyTorch golden files for tinygan's parity tests.

Run from the repository root with Debian's system Python (python3-torch and
python3-numpy):

    /usr/bin/python3 tests/golden/make_golden.py [case ...]

With no arguments every case is regenerated; otherwise only the named ones.
Each case is written next to this script as <case>.safetensors: an 8-byte
little-endian header length N, N bytes of JSON header (space-padded so N is a
multiple of 8), then the raw little-endian float32 tensors, C-contiguous,
packed in the order they appear in the header. Scalars are stored as shape [1].

Every random input, weight and upstream gradient is drawn in float32 (so it
is exactly representable in tinygan's float tensors), but the reference
values are computed in float64 and only then rounded to float32: the golden
numbers are then the exact answer to within float32's last bit, and a parity
test measures tinygan's own rounding, not the sum of both libraries'.
"""

import os
import sys

import torch
from torch import nn

OUT_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(OUT_DIR, "..", "..", "bench"))  # torch_common.py, shared with scripts/torch_interop.py
from torch_common import write_safetensors  # noqa: E402

# Soft and hard labels mixed, as used for label smoothing in GAN training.
BCE_TARGET = [1.0, 0.0, 0.9, 1.0, 0.0, 0.0, 1.0, 0.9,
              1.0, 0.0, 1.0, 0.0, 0.9, 1.0, 0.0, 1.0]


def flag(b):
    return "true" if b else "false"


def scalar(t):
    """Losses are stored as shape [1], not [] (simpler for the C++ reader)."""
    return t.detach().reshape(1)


# --------------------------------------------------------------------------
# Per-layer cases: forward, backward with a random upstream gradient
# --------------------------------------------------------------------------

def run_layer(layer, x):
    """Forward + backward through `layer` in float64; return the standard tensor set."""
    layer.double()
    params = {name: p.detach().clone() for name, p in layer.named_parameters()}
    x = x.detach().double().requires_grad_(True)
    y = layer(x)
    grad_y = torch.randn(y.shape).double()  # drawn in float32, see the docstring
    y.backward(grad_y)

    out = {"x": x}
    out.update(params)
    out["grad_y"] = grad_y
    out["y"] = y
    out["grad_x"] = x.grad
    for name, p in layer.named_parameters():
        out["grad_" + name] = p.grad
    return out


def dense_case(in_f, out_f, batch, bias=True):
    def case():
        layer = nn.Linear(in_f, out_f, bias=bias)
        x = torch.randn(batch, in_f)
        meta = {"op": "dense", "in_features": in_f, "out_features": out_f,
                "bias": flag(bias)}
        return run_layer(layer, x), meta
    return case


def conv_meta(op, layer):
    return {"op": op,
            "in_channels": layer.in_channels,
            "out_channels": layer.out_channels,
            "kernel_size": layer.kernel_size[0],
            "stride": layer.stride[0],
            "padding": layer.padding[0],
            "bias": flag(layer.bias is not None)}


def conv2d_case(cin, cout, k, stride, padding, x_shape, bias=True):
    def case():
        layer = nn.Conv2d(cin, cout, k, stride=stride, padding=padding,
                          bias=bias)
        x = torch.randn(*x_shape)
        return run_layer(layer, x), conv_meta("conv2d", layer)
    return case


def convt_case(cin, cout, k, stride, padding, output_padding, x_shape,
               bias=False):
    def case():
        layer = nn.ConvTranspose2d(cin, cout, k, stride=stride,
                                   padding=padding,
                                   output_padding=output_padding, bias=bias)
        x = torch.randn(*x_shape)
        meta = conv_meta("conv_transpose2d", layer)
        meta["output_padding"] = output_padding
        return run_layer(layer, x), meta
    return case


def batchnorm_case(dims, features, x_shape, training):
    def case():
        cls = nn.BatchNorm1d if dims == 1 else nn.BatchNorm2d
        layer = cls(features, momentum=0.1, eps=1e-5)
        # Move every parameter/buffer off its default so mistakes show up.
        with torch.no_grad():
            layer.weight.copy_(1 + 0.1 * torch.randn(features))
            layer.bias.copy_(0.1 * torch.randn(features))
            layer.running_mean.copy_(0.5 * torch.randn(features))
            layer.running_var.copy_(0.5 + torch.rand(features))
        layer.train(training)
        running_mean = layer.running_mean.clone()
        running_var = layer.running_var.clone()

        x = 2 * torch.randn(*x_shape) + 0.5
        out = run_layer(layer, x)
        out["running_mean"] = running_mean
        out["running_var"] = running_var
        out["running_mean_after"] = layer.running_mean.clone()
        out["running_var_after"] = layer.running_var.clone()
        meta = {"op": "batchnorm%dd" % dims, "num_features": features,
                "momentum": layer.momentum, "eps": layer.eps,
                "training": flag(training)}
        return out, meta
    return case


def activation_case(op, layer, extra_meta=None):
    def case():
        x = 3 * torch.randn(4, 50)
        meta = {"op": op}
        meta.update(extra_meta or {})
        return run_layer(layer, x), meta
    return case


# --------------------------------------------------------------------------
# Loss cases: mean reduction, gradient wrt the input
# --------------------------------------------------------------------------

def run_loss(loss_fn, inp, target):
    inp = inp.detach().double().requires_grad_(True)
    target = target.double()
    loss = loss_fn(inp, target)
    loss.backward()
    return {"input": inp, "target": target, "loss": scalar(loss),
            "grad_input": inp.grad}


def bce_target():
    return torch.tensor(BCE_TARGET).reshape(16, 1)


def bce_case():
    # Clamped away from 0/1 so log() stays well conditioned in float32.
    inp = torch.sigmoid(torch.randn(16, 1)).clamp(0.01, 0.99)
    return run_loss(nn.BCELoss(), inp, bce_target()), \
        {"op": "bce", "reduction": "mean"}


def bce_logits_case():
    inp = 4 * torch.randn(16, 1)
    return run_loss(nn.BCEWithLogitsLoss(), inp, bce_target()), \
        {"op": "bce_logits", "reduction": "mean"}


def msle(inp, target):
    return torch.mean((torch.log1p(inp) - torch.log1p(target)) ** 2)


def msle_case():
    inp = 1.5 * torch.rand(16, 1)
    target = torch.rand(16, 1)
    return run_loss(msle, inp, target), {"op": "msle", "reduction": "mean"}


def cross_entropy_case():
    inp = 4 * torch.randn(16, 10)
    target = torch.randint(0, 10, (16,))
    out = run_loss(lambda x, t: nn.CrossEntropyLoss()(x, t.long()), inp, target.double())
    return out, {"op": "cross_entropy", "reduction": "mean"}


def mse_case():
    inp = torch.randn(16, 3)
    target = torch.randn(16, 3)
    return run_loss(nn.MSELoss(), inp, target), \
        {"op": "mse", "reduction": "mean"}


# --------------------------------------------------------------------------
# Optimizer cases: three steps on a tiny discriminator-like network
# --------------------------------------------------------------------------

OPT_STEPS = 3


def optimizer_case(make_opt, meta):
    def case():
        net = nn.Sequential(nn.Linear(4, 8), nn.LeakyReLU(0.2),
                            nn.Linear(8, 1), nn.Sigmoid()).double()
        x = torch.randn(6, 4).double()
        target = torch.tensor([[1.0], [0.0], [1.0], [1.0], [0.0], [0.0]]).double()
        init = {"init." + n: p.detach().clone()
                for n, p in net.named_parameters()}

        opt = make_opt(net.parameters())
        loss_fn = nn.BCELoss()
        losses = []
        for _ in range(OPT_STEPS):
            opt.zero_grad()
            loss = loss_fn(net(x), target)
            loss.backward()
            opt.step()
            losses.append(loss.item())

        out = {"x": x, "target": target}
        out.update(init)
        out["losses"] = torch.tensor(losses, dtype=torch.float64)
        out.update({"final." + n: p.detach().clone()
                    for n, p in net.named_parameters()})
        full_meta = {"net": "Linear(4,8),LeakyReLU(0.2),Linear(8,1),Sigmoid",
                     "loss": "bce", "steps": OPT_STEPS}
        full_meta.update(meta)
        return out, full_meta
    return case


ADAM = {"lr": 1e-2, "betas": (0.5, 0.999), "eps": 1e-8}


def adam_meta(weight_decay):
    return {"op": "adam", "lr": ADAM["lr"], "beta1": ADAM["betas"][0],
            "beta2": ADAM["betas"][1], "eps": ADAM["eps"],
            "weight_decay": weight_decay}


def adam_case(weight_decay):
    return optimizer_case(
        lambda ps: torch.optim.Adam(ps, weight_decay=weight_decay, **ADAM),
        adam_meta(weight_decay))


sgd_case = optimizer_case(
    lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9),
    {"op": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 0.0})


# --------------------------------------------------------------------------
# Conditioning: the label's embedding, joined to the input or projected
# --------------------------------------------------------------------------

LABELS = [3, 0, 3, 1, 4, 0]  # class 3 and 0 twice, class 2 never


def embedding_case():
    embed = nn.Embedding(5, 4).double()
    labels = torch.tensor(LABELS)
    y = embed(labels)
    grad_y = torch.randn(y.shape).double()
    y.backward(grad_y)
    return {"labels": labels.double(), "weight": embed.weight, "grad_y": grad_y, "y": y,
            "grad_weight": embed.weight.grad}, {"op": "embedding"}


def label_channels_case():
    """D's input joined to the label's embedding as channels spread over the map."""
    embed = nn.Embedding(5, 2).double()
    labels = torch.tensor(LABELS)
    x = torch.randn(6, 3, 4, 5).double().requires_grad_(True)
    e = embed(labels)
    y = torch.cat([x, e[:, :, None, None].expand(-1, -1, 4, 5)], 1)
    grad_y = torch.randn(y.shape).double()
    y.backward(grad_y)
    return {"labels": labels.double(), "x": x, "weight": embed.weight, "grad_y": grad_y, "y": y,
            "grad_x": x.grad, "grad_weight": embed.weight.grad}, {"op": "label_channels"}


def projection_case():
    """Miyato and Koyama's projection head on features f: head(f) + <embed(y), f>."""
    head, embed = nn.Linear(8, 1).double(), nn.Embedding(5, 8).double()
    labels = torch.tensor(LABELS)
    f = torch.randn(6, 8).double().requires_grad_(True)
    y = head(f) + (embed(labels) * f).sum(1, keepdim=True)
    grad_y = torch.randn(y.shape).double()
    y.backward(grad_y)
    return {"labels": labels.double(), "x": f, "head_weight": head.weight, "head_bias": head.bias,
            "embed_weight": embed.weight, "grad_y": grad_y, "y": y, "grad_x": f.grad,
            "grad_head_weight": head.weight.grad, "grad_head_bias": head.bias.grad,
            "grad_embed_weight": embed.weight.grad}, {"op": "projection"}


def ac_gan_case():
    """AC-GAN's D head: one Linear gives [score, class logits]; the score's BCE-with-logits
    plus 0.7 x the logits' cross-entropy (tinygan's narrow picks the columns)."""
    head = nn.Linear(8, 1 + 5).double()
    labels = torch.tensor(LABELS)
    f = torch.randn(6, 8).double().requires_grad_(True)
    y = head(f)
    loss = nn.functional.binary_cross_entropy_with_logits(y.narrow(1, 0, 1), torch.ones(6, 1).double()) + \
        0.7 * nn.functional.cross_entropy(y.narrow(1, 1, 5), labels)
    loss.backward()
    return {"labels": labels.double(), "x": f, "weight": head.weight, "bias": head.bias, "loss": scalar(loss),
            "grad_x": f.grad, "grad_weight": head.weight.grad, "grad_bias": head.bias.grad}, {"op": "ac_gan"}


def r1_dcgan_case():
    """R1 through the DCGAN's D in train mode (BatchNorm on batch statistics): the input
    gradient of sum(logits) built with create_graph=True, the penalty 10/2 * mean |g|^2,
    and the penalty's gradients with respect to every weight and to x. Without the
    Dropout layers, whose masks the two libraries draw differently."""
    d = nn.Sequential(nn.Conv2d(1, 64, 5, 2, 2), nn.LeakyReLU(0.2), nn.Conv2d(64, 128, 5, 2, 2),
                      nn.BatchNorm2d(128), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(128 * 7 * 7, 1))
    with torch.no_grad():
        d[3].weight.uniform_(0.5, 1.5)
        d[3].bias.uniform_(-0.5, 0.5)
    d.double().train()
    x = torch.randn(4, 1, 28, 28).double().requires_grad_(True)
    logits = d(x)
    (g,) = torch.autograd.grad(logits.sum(), x, create_graph=True)
    penalty = 10.0 / 2 * g.pow(2).sum() / x.shape[0]
    penalty.backward()
    out = {"x": x, "logits": logits, "input_grad": g, "penalty": scalar(penalty), "grad_x": x.grad}
    for name, p in d.named_parameters():
        out[name] = p
        # (None where the penalty does not reach: the head's bias.)
        out["grad_" + name] = p.grad if p.grad is not None else torch.zeros_like(p)
    return out, {"op": "r1_dcgan"}


def spectral_norm_case():
    """torch.nn.utils.spectral_norm on a Conv2d, a ConvTranspose2d (normalized along
    dim 1, PyTorch's default there) and a Linear, in train mode: the starting state
    (weight_orig, weight_u, weight_v, biases), then three SGD steps (lr 0.1) on
    mean(D(x)^2), each forward running one power iteration; the state after them
    and the outputs of the first and last step."""
    sn = nn.utils.spectral_norm
    d = nn.Sequential(sn(nn.Conv2d(1, 4, 3, 2, 1)), nn.LeakyReLU(0.2), sn(nn.ConvTranspose2d(4, 2, 4, 2, 1)),
                      nn.LeakyReLU(0.2), nn.Flatten(), sn(nn.Linear(2 * 8 * 8, 1)))
    d.double().train()
    x = torch.randn(4, 1, 8, 8).double()
    out = {"x": x}
    for name, t in d.state_dict().items():
        out["start." + name] = t.clone()
    opt = torch.optim.SGD(d.parameters(), lr=0.1)
    for step in range(3):
        opt.zero_grad()
        y = d(x)
        (y * y).mean().backward()
        opt.step()
        if step in (0, 2):
            out["y%d" % step] = y.detach().clone()
    for name, t in d.state_dict().items():
        out["end." + name] = t.clone()
    return out, {"op": "spectral_norm"}


# --------------------------------------------------------------------------

CASES = {
    "dense": dense_case(100, 256, 2),
    "dense_nobias": dense_case(784, 32, 2, bias=False),
    "dense_head": dense_case(6272, 1, 2),
    "conv2d_d1": conv2d_case(1, 64, 5, 2, 2, (2, 1, 28, 28)),
    "conv2d_d2": conv2d_case(64, 128, 5, 2, 2, (2, 64, 14, 14)),
    "conv2d_small": conv2d_case(3, 4, 3, 2, 1, (2, 3, 7, 6)),
    "conv2d_nobias": conv2d_case(2, 3, 4, 1, 0, (2, 2, 6, 5), bias=False),
    "convt_g1": convt_case(256, 128, 5, 1, 2, 0, (2, 256, 7, 7)),
    "convt_g2": convt_case(128, 64, 5, 2, 2, 1, (2, 128, 7, 7)),
    "convt_g3": convt_case(64, 1, 5, 2, 2, 1, (2, 64, 14, 14)),
    "convt_small": convt_case(3, 2, 3, 2, 1, 1, (2, 3, 4, 5), bias=True),
    # pytorch/examples' DCGAN (image_dcgan --size 32/64) with fewer channels:
    # D's 4x4 stride-2 layers from 3 channels (the per-sample path) and from 16
    # (the per-tap path), its 4x4 head on a 4x4 map; G's 1x1 -> 4x4 stem and
    # its 4x4 stride-2 layers, the last to 3 channels. No biases, as there.
    "conv2d_k4s2_rgb": conv2d_case(3, 16, 4, 2, 1, (2, 3, 16, 16), bias=False),
    "conv2d_k4s2": conv2d_case(16, 32, 4, 2, 1, (2, 16, 8, 8), bias=False),
    "conv2d_k4_head": conv2d_case(32, 1, 4, 1, 0, (2, 32, 4, 4), bias=False),
    "convt_k4_stem": convt_case(20, 32, 4, 1, 0, 0, (2, 20, 1, 1)),
    "convt_k4s2": convt_case(32, 16, 4, 2, 1, 0, (2, 32, 4, 4)),
    "convt_k4s2_rgb": convt_case(16, 3, 4, 2, 1, 0, (2, 16, 8, 8)),
    "bn1d_train": batchnorm_case(1, 16, (8, 16), training=True),
    "bn1d_eval": batchnorm_case(1, 16, (8, 16), training=False),
    "bn2d_train": batchnorm_case(2, 4, (3, 4, 5, 6), training=True),
    "bn2d_eval": batchnorm_case(2, 4, (3, 4, 5, 6), training=False),
    "leaky_relu": activation_case("leaky_relu", nn.LeakyReLU(0.2),
                                  {"slope": 0.2}),
    "tanh": activation_case("tanh", nn.Tanh()),
    "sigmoid": activation_case("sigmoid", nn.Sigmoid()),
    "relu": activation_case("relu", nn.ReLU()),
    "bce": bce_case,
    "bce_logits": bce_logits_case,
    "msle": msle_case,
    "mse": mse_case,
    "cross_entropy": cross_entropy_case,
    "adam": adam_case(0.0),
    "adam_wd": adam_case(0.01),
    "sgd": sgd_case,
    "embedding": embedding_case,
    "label_channels": label_channels_case,
    "projection": projection_case,
    "ac_gan": ac_gan_case,
    "r1_dcgan": r1_dcgan_case,
    "spectral_norm": spectral_norm_case,
}


def main(names):
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    for name in names or CASES:
        # Reseed per case so adding or reordering cases changes nothing else.
        torch.manual_seed(0)
        tensors, meta = CASES[name]()
        meta = dict(meta, case=name, generator="make_golden.py",
                    reference="float64 from float32 inputs, stored as float32",
                    torch_version=torch.__version__)
        path = os.path.join(OUT_DIR, name + ".safetensors")
        # Every tensor as float32, the float64 references rounded (see the docstring).
        write_safetensors(path, {k: t.detach().cpu().numpy().astype("<f4") for k, t in tensors.items()}, meta)
        print("%-14s %9d bytes" % (name, os.path.getsize(path)))


if __name__ == "__main__":
    main(sys.argv[1:])
