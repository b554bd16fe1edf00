#!/usr/bin/env python3
"""Weights that travel: tinygan <-> PyTorch, both ways, outputs compared.

    /usr/bin/python3 scripts/torch_interop.py [BUILD_DIR]      (default: build/)

Needs Debian's python3-torch and python3-numpy (the system /usr/bin/python3),
the MNIST fixture in tests/fixtures/mnist, and these programs built in
BUILD_DIR: tests/interop/run_model, examples/mnist_dcgan, mnist_inverted,
mnist_dense and image_dcgan (`cmake --build BUILD_DIR -j2`). It installs nothing.

For the DCGAN generator, the DCGAN discriminator and the inverted
autoencoder (docs/models.md's models 1 and 5), and pytorch/examples' DCGAN
generator and discriminator at 32x32x3 and 64x64x3
(examples/models/pytorch_dcgan.hpp; in PyTorch the Modules of
bench/torch_common.py, written as pytorch/examples writes them, with self.main
an nn.Sequential, so the names are "main.0.weight", ...), and the conditional
DCGAN's G(z, y) and both kinds of D(x, y) (examples/models/conditional_dcgan.hpp;
in PyTorch nn.Embedding-based modules of bench/torch_common.py; input row i
asks for class i mod 10) it checks:

  tinygan -> torch  tinygan's weights, freshly initialized (run_model init)
                    and after 3 training iterations (the example programs on
                    the fixture, so BatchNorm's running statistics are not
                    their 0 and 1), are loaded into the same network built in
                    PyTorch with load_state_dict(strict=True); both run the
                    same fixed input in inference mode. No program here
                    trains the colour DCGANs, so in place of training,
                    run_model runs them forward 3 times in training mode
                    before saving ("BN statistics"). Their generators
                    take z as [N, 100] in tinygan and [N, 100, 1, 1] in
                    PyTorch, as pytorch/examples feeds them.
  torch -> tinygan  a PyTorch network with random weights and random
                    BatchNorm running statistics is saved as safetensors and
                    run by tinygan (run_model run).

and for mnist_dense --export-samples, that the .npy file opens in NumPy and
equals PyTorch's output of the same generator on the same latent vectors,
and that the .idx file, read by the IDX parser in bench/torch_common.py,
holds the same images as bytes. Each check prints one line with its max abs
difference; any failure exits 1.

The names and layouts are PyTorch's state_dict ones on both sides ("0.weight",
"1.running_mean", Linear [out, in], Conv2d [out, in, k, k], ConvTranspose2d
[in, out, k, k]); the one difference is BatchNorm's num_batches_tracked,
int64 in PyTorch and float32 in tinygan's files. tinygan reads PyTorch's I64
as it is; the other way it is converted here. See docs/pytorch.md.
"""

import argparse
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "bench"))  # torch_common.py, shared with the twin and the golden files

try:
    import numpy as np
    import torch
    from torch import nn
    from torch_common import (DCGANDiscriminator, DCGANGenerator, conditional_dcgan, dcgan_critic, dcgan_discriminator,
                              dcgan_generator, inverted_autoencoder, minimal_generator, read_idx, read_safetensors,
                              write_safetensors)
except ImportError as e:
    sys.exit(f"torch_interop.py: {e}. It needs Debian's PyTorch and NumPy:\n"
             "    apt-get install python3-torch python3-numpy\n"
             "then run it with the system Python: /usr/bin/python3 scripts/torch_interop.py")

FIXTURE = os.path.join(REPO, "tests", "fixtures", "mnist")
TOLERANCE = 1e-5  # max abs difference of outputs (all in [-1, 1] or [0, 1])
BATCH = 16        # inputs per check
SEED = 7


NETWORKS = {"dcgan-generator": dcgan_generator, "dcgan-discriminator": dcgan_discriminator,
            "dcgan-critic": dcgan_critic, "dcgan-critic-sn": lambda: dcgan_critic(spectral_norm=True),
            "inverted-autoencoder": inverted_autoencoder}
# pytorch/examples' DCGAN in colour (run_model's names)
COLOUR = {f"dcgan{size}-{part}": (lambda size=size, make=make: make(size, nc=3))
          for size in (32, 64) for part, make in (("generator", DCGANGenerator), ("discriminator", DCGANDiscriminator))}
NETWORKS.update(COLOUR)
# The conditional DCGAN (run_model's names): input row i asks for class i mod 10.
CONDITIONAL = {"cdcgan-generator": lambda: conditional_dcgan("projection")[0],
               "cdcgan-projection-discriminator": lambda: conditional_dcgan("projection")[1],
               "cdcgan-channels-discriminator": lambda: conditional_dcgan("channels")[1]}
NETWORKS.update(CONDITIONAL)


def run_torch(network, model, x):
    """The PyTorch network on x (a NumPy batch), with the labels a conditional one takes."""
    if network in CONDITIONAL:
        return model(torch.from_numpy(x), torch.arange(len(x)) % 10)
    return model(torch_input(network, x) if isinstance(network, str) else torch.from_numpy(x))


def torch_input(network, x):
    """x as the PyTorch network takes it: pytorch/examples' G takes z as [N, 100, 1, 1]."""
    x = torch.from_numpy(x)
    return x.reshape(len(x), 100, 1, 1) if network in ("dcgan32-generator", "dcgan64-generator") else x


# ---------------------------------------------------------------------------
# Moving a state dict across
# ---------------------------------------------------------------------------

def to_torch_state(arrays):
    """A tinygan file's tensors as a state_dict: everything as it is, except
    num_batches_tracked, a float32 scalar in tinygan and int64 in PyTorch."""
    state = {}
    for name, a in arrays.items():
        if name.endswith("num_batches_tracked"):
            state[name] = torch.tensor(int(round(float(a))), dtype=torch.int64)
        else:
            state[name] = torch.from_numpy(a.astype(np.float32))
    return state


def from_torch_state(state):
    """A state_dict's tensors as PyTorch keeps them: float32, and int64 for
    num_batches_tracked (written as I64, which tinygan reads); sorted by name,
    so a file's header lists them alphabetically."""
    return {name: t.detach().cpu().numpy() for name, t in sorted(state.items())}


def randomize(model, gen):
    """PyTorch's default init for the weights, then BatchNorm's affine
    parameters and running statistics drawn away from 1, 0, 0, 1."""
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            n = m.num_features
            with torch.no_grad():
                m.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(n, generator=gen) * 0.1)
                m.running_mean.copy_(torch.randn(n, generator=gen) * 0.2)
                m.running_var.copy_(torch.rand(n, generator=gen) * 1.5 + 0.25)
            m.num_batches_tracked.fill_(37)
    return model


# ---------------------------------------------------------------------------
# Running things
# ---------------------------------------------------------------------------

class Checks:
    def __init__(self):
        self.failures = []

    def report(self, name, diff, limit, detail=""):
        ok = diff < limit
        print(f"{'ok  ' if ok else 'FAIL'} {name:<58} max abs diff {diff:.3g} (limit {limit:g}){detail}")
        if not ok:
            self.failures.append(f"{name}: max abs diff {diff:.3g}, limit {limit:g}")
        return ok

    def fail(self, name, why):
        print(f"FAIL {name:<58} {why}")
        self.failures.append(f"{name}: {why}")


def run(cmd, what):
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {result.returncode}): {' '.join(cmd)}\n"
                           f"{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return result.stdout


def torch_output(network, state, x):
    model = NETWORKS[network]() if isinstance(network, str) else network()
    model.load_state_dict(state, strict=True)  # every name, every shape, nothing extra
    model.eval()
    with torch.no_grad():
        return run_torch(network, model, x).numpy()


def tinygan_output(build, weights, network, x, work):
    inp, out = os.path.join(work, "input.npy"), os.path.join(work, "output.npy")
    np.save(inp, x)
    run([os.path.join(build, "tests", "interop", "run_model"), "run", network, weights, inp, out],
        f"run_model ({network})")
    return np.load(out)


def compare(checks, name, a, b):
    if a.shape != b.shape:
        checks.fail(name, f"output shapes differ: {a.shape} vs {b.shape}")
        return
    span = f"; outputs in [{b.min():.3f}, {b.max():.3f}]"
    checks.report(name, float(np.abs(a.astype(np.float64) - b).max()), TOLERANCE, span)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("build", nargs="?", default=os.path.join(REPO, "build"),
                        help="the CMake build directory [build/]")
    parser.add_argument("--keep", metavar="DIR", help="write the files here and keep them")
    args = parser.parse_args()
    build = os.path.abspath(args.build)
    programs = [os.path.join(build, p) for p in ("tests/interop/run_model", "examples/mnist_dcgan",
                                                  "examples/mnist_inverted", "examples/mnist_dense",
                                                  "examples/image_dcgan")]
    missing = [p for p in programs if not os.access(p, os.X_OK)]
    if missing:
        sys.exit("torch_interop.py: missing " + ", ".join(missing) +
                 f"\nbuild them first: cmake --build {args.build} -j2")
    torch.manual_seed(SEED)
    torch.set_num_threads(min(2, os.cpu_count() or 1))

    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        work = os.path.abspath(args.keep)
        return check_all(build, work)
    with tempfile.TemporaryDirectory(prefix="torch_interop_") as work:
        return check_all(build, work)


def check_all(build, work):
    checks = Checks()
    rng = np.random.default_rng(SEED)
    _, test_images = read_idx(os.path.join(FIXTURE, "t10k-images-idx3-ubyte"))
    digits = test_images[:BATCH].astype(np.float32) / 255  # [0, 1]
    inputs = {
        "dcgan-generator": rng.standard_normal((BATCH, 100)).astype(np.float32),
        "dcgan-discriminator": (digits * 2 - 1).reshape(BATCH, 1, 28, 28),  # G's tanh range
        "inverted-autoencoder": digits.reshape(BATCH, 784),
    }
    for size in (32, 64):  # colour pictures in G's tanh range
        inputs[f"dcgan{size}-generator"] = rng.standard_normal((BATCH, 100)).astype(np.float32)
        inputs[f"dcgan{size}-discriminator"] = rng.uniform(-1, 1, (BATCH, 3, size, size)).astype(np.float32)
    inputs["dcgan-critic"] = inputs["dcgan-critic-sn"] = inputs["dcgan-discriminator"]
    inputs["cdcgan-generator"] = inputs["dcgan-generator"]
    inputs["cdcgan-projection-discriminator"] = inputs["cdcgan-channels-discriminator"] = inputs["dcgan-discriminator"]
    try:
        # tinygan -> torch, as initialized: run_model init.
        for network in NETWORKS:
            weights = os.path.join(work, f"init_{network}.safetensors")
            # Spectral norm's u and v start random, and sigma = u^T W v with them can be
            # near 0 (outputs in the thousands): three power iterations first.
            passes = [spectral_norm_passes(work, inputs[network])] if network.endswith("-sn") else []
            run([os.path.join(build, "tests", "interop", "run_model"), "init", network, str(SEED), weights, *passes],
                f"run_model init {network}")
            check_tinygan_to_torch(checks, build, work, network, weights, "initialized", inputs[network])

        # tinygan -> torch, trained 3 iterations on the fixture.
        common = ["--data", FIXTURE, "--no-fetch", "--iters", "3", "--fid-samples", "0", "--seed", str(SEED)]
        dcgan_dir, inverted_dir = os.path.join(work, "dcgan"), os.path.join(work, "inverted")
        run([os.path.join(build, "examples", "mnist_dcgan"), *common, "--out", dcgan_dir], "mnist_dcgan")
        run([os.path.join(build, "examples", "mnist_inverted"), *common, "--out", inverted_dir], "mnist_inverted")
        trained = {"dcgan-generator": os.path.join(dcgan_dir, "generator.safetensors"),
                   "dcgan-discriminator": os.path.join(dcgan_dir, "discriminator.safetensors"),
                   "inverted-autoencoder": os.path.join(inverted_dir, "generator.safetensors")}
        # The critic with spectral norm, trained with the hinge loss: u and v after power iterations.
        critic_dir = os.path.join(work, "critic_sn")
        run([os.path.join(build, "examples", "mnist_dcgan"), *common, "--loss", "hinge", "--spectral-norm",
             "--out", critic_dir], "mnist_dcgan --loss hinge --spectral-norm")
        trained["dcgan-critic-sn"] = os.path.join(critic_dir, "discriminator.safetensors")
        for kind in ("projection", "channels"):  # the conditional DCGAN trained on the fixture's labels
            out = os.path.join(work, f"cdcgan_{kind}")
            run([os.path.join(build, "examples", "image_dcgan"), "--dataset", "mnist", "--conditional", kind,
                 *common, "--out", out], f"image_dcgan --conditional {kind}")
            trained[f"cdcgan-{kind}-discriminator"] = os.path.join(out, "discriminator.safetensors")
            trained["cdcgan-generator"] = os.path.join(out, "generator.safetensors")
        for network, weights in trained.items():
            check_tinygan_to_torch(checks, build, work, network, weights, "trained", inputs[network])

        # tinygan -> torch, the colour and conditional DCGANs after 3 forward passes in training mode.
        for network in [*COLOUR, *CONDITIONAL]:
            weights, passes = os.path.join(work, f"stats_{network}.safetensors"), os.path.join(work, "passes.npy")
            np.save(passes, inputs[network][::-1].copy())  # not the compared batch itself
            run([os.path.join(build, "tests", "interop", "run_model"), "init", network, str(SEED), weights, passes],
                f"run_model init {network} (training-mode passes)")
            check_tinygan_to_torch(checks, build, work, network, weights, "BN statistics", inputs[network])

        # torch -> tinygan: random weights and BatchNorm statistics.
        gen = torch.Generator().manual_seed(SEED)
        for network, make in NETWORKS.items():
            model = randomize(make(), gen)
            if network.endswith("-sn"):  # as above: three power iterations (training-mode passes)
                with torch.no_grad():
                    for _ in range(3):
                        run_torch(network, model, inputs[network][::-1].copy())
            model.eval()
            weights = os.path.join(work, f"torch_{network}.safetensors")
            write_safetensors(weights, from_torch_state(model.state_dict()))
            with torch.no_grad():
                expected = run_torch(network, model, inputs[network]).numpy()
            name = f"torch -> tinygan  {network} (random)"
            try:
                compare(checks, name, tinygan_output(build, weights, network, inputs[network], work), expected)
            except RuntimeError as e:  # run_model's strict loader: missing, unexpected, misshapen
                checks.fail(name, str(e))

        check_export(checks, build, work, common, rng)
    except (RuntimeError, ValueError) as e:  # a training program or a file went wrong: say which
        checks.fail("(stopped: the remaining checks did not run)", str(e))

    if checks.failures:
        print(f"\ntorch_interop.py: {len(checks.failures)} check(s) FAILED:", file=sys.stderr)
        for f in checks.failures:
            print("  " + f, file=sys.stderr)
        return 1
    print("torch_interop.py: all checks passed")
    return 0


def spectral_norm_passes(work, x):
    """A batch for run_model init's training-mode passes: not the compared batch itself."""
    path = os.path.join(work, "sn_passes.npy")
    np.save(path, x[::-1].copy())
    return path


def check_tinygan_to_torch(checks, build, work, network, weights, how, x):
    name = f"tinygan -> torch  {network} ({how})"
    try:
        expected = torch_output(network, to_torch_state(read_safetensors(weights)), x)
    except RuntimeError as e:  # load_state_dict's strict report: missing, unexpected, misshapen
        checks.fail(name, f"PyTorch's load_state_dict refused {weights}: {e}")
        return
    try:
        compare(checks, name, tinygan_output(build, weights, network, x, work), expected)
    except RuntimeError as e:
        checks.fail(name, str(e))


def check_export(checks, build, work, common, rng):
    """mnist_dense --export-samples: .npy and .idx of the same samples."""
    out = os.path.join(work, "minimal")
    dense = os.path.join(build, "examples", "mnist_dense")
    run([dense, "--model", "minimal", *common, "--out", out], "mnist_dense --model minimal")
    weights = os.path.join(out, "generator.safetensors")
    z = rng.standard_normal((12, 100)).astype(np.float32)
    latent = os.path.join(work, "latent.npy")
    np.save(latent, z)
    files = {ext: os.path.join(work, f"samples.{ext}") for ext in ("npy", "idx")}
    for path in files.values():
        run([dense, "--model", "minimal", "--load", weights, "--latent", latent, "--generate", "12",
             "--export-samples", path, "--out", out], f"mnist_dense --export-samples {path}")

    samples = np.load(files["npy"])
    if samples.dtype != np.float32 or samples.shape != (12, 1, 28, 28):
        checks.fail("export  .npy in NumPy", f"expected float32 (12, 1, 28, 28), found {samples.dtype} {samples.shape}")
        return
    expected = torch_output(minimal_generator, to_torch_state(read_safetensors(weights)), z).reshape(12, 1, 28, 28)
    compare(checks, "export  .npy (numpy.load) vs torch minimal G", samples, expected)

    magic, images = read_idx(files["idx"])
    if magic != 0x00000803 or images.shape != (12, 28, 28):
        checks.fail("export  .idx", f"expected magic 0x00000803 and (12, 28, 28), found 0x{magic:08x} {images.shape}")
        return
    # The IDX bytes must be exactly the .npy's values (in [0, 1], the minimal
    # G's range) clamped, times 255 in double, rounded half away from zero.
    scaled = np.clip(samples.astype(np.float64), 0, 1) * 255.0
    quantized = np.floor(scaled + 0.5).reshape(images.shape)  # (N, 1, H, W) -> IDX3's (N, H, W)
    levels = float(np.abs(images.astype(np.float64) - quantized).max())
    checks.report("export  .idx (IDX parser) vs .npy as bytes, in levels", levels, 0.5)


if __name__ == "__main__":
    sys.exit(main())
