#!/usr/bin/env python3
"""Time tinygan and PyTorch on the same five MNIST GANs and pytorch/examples'
64x64x3 DCGAN (and, with --layers, the same single layers) at the same
thread counts, and print one table per thread count: tinygan ms, PyTorch's
best ms, their ratio and the target.

    /usr/bin/python3 bench/compare_torch.py [--build build] [--models dcgan,dense,...,dcgan64]
        [--layers] [--quick] [--json FILE] [--markdown FILE]

tinygan's numbers come from BUILD/bench/tinygan_bench_iterations (and
tinygan_bench_layers) with --json. PyTorch runs the twins of bench/torch_twin.py
with exactly tinygan's procedure (bench/bench_iterations.cpp): a D step on a
real batch and on fakes made under no_grad from fresh noise, one Adam step,
then a G step through the frozen D with fresh noise, one Adam step. Every
PyTorch measurement runs in its own process of this script (a hidden --worker
mode), because OpenBLAS reads its thread count from the environment when torch
is imported, and so that each peak RSS is that model's own. PyTorch settings:

  1 thread                   OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1, torch.set_num_threads(1)
  2 threads                  OMP_NUM_THREADS=2, torch.set_num_threads(2), OpenBLAS's default threads
  2 threads, 1-thread BLAS   OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=2, torch.set_num_threads(2)

all with OMP_WAIT_POLICY=PASSIVE (spinning OpenMP workers steal the only
other core from OpenBLAS's threads) and bench/blas_env.py imported before
torch. dcgan is timed in three formulations of its transposed convolutions:
as a user writes it (nn.ConvTranspose2d, "plain"), with
torch_twin.FastConvTranspose2d ("fast"), and "mixed" (FastConvTranspose2d at
stride 1, nn.ConvTranspose2d at stride 2, the per-layer best on this CPU);
PyTorch's best is the fastest of all. dcgan64 is pytorch/examples' DCGAN
(dcgan/main.py's Generator and Discriminator, in bench/torch_common.py) as
written there, with nn.ConvTranspose2d (FastConvTranspose2d takes only the
5x5 kernels), trained by the same procedure at batch 64. Targets: at 1
thread tinygan must beat PyTorch's 1-thread setting by 1.25x; at 2 threads
it must beat PyTorch's best over all three settings by 1.5x. Times are
medians over many iterations after a warm-up, with the 10th and 90th
percentiles as the spread; each model is measured in tinygan and then in
PyTorch before the next model, so that both see about the same load on a
shared machine.
"""

import argparse
import importlib.util
import json
import os
import re
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no bench/__pycache__ from importing blas_env and torch_twin

import blas_env  # noqa: E402,F401  (sets OPENBLAS_CORETYPE, which the workers inherit)

MODEL_ORDER = ["dcgan", "dense", "dense-bn", "minimal", "inverted", "dcgan64"]

# key on the command line: (name in tables and JSON, torch threads, environment to set, environment to remove)
SETTINGS = {
    "1": ("1 thread", 1, {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}, []),
    "2": ("2 threads", 2, {"OMP_NUM_THREADS": "2"}, ["OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS"]),
    "2b1": ("2 threads, 1-thread BLAS", 2, {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "2"}, []),
}
SETTING_NAMES = [SETTINGS[k][0] for k in SETTINGS]
SETTING_THREADS = {SETTINGS[k][0]: SETTINGS[k][1] for k in SETTINGS}

# (warm-up, timed iterations) per model; --quick divides the timed ones by 5.
ITERATION_REPEATS = {"dcgan": (5, 30), "dense": (5, 300), "dense-bn": (5, 300), "minimal": (5, 2000),
                     "inverted": (5, 300), "dcgan64": (2, 10)}
# PyTorch's dcgan comes in three formulations of its transposed convolutions:
# as a user writes it, torch_twin's sub-pixel FastConvTranspose2d, and the
# per-layer best of the two (on this CPU, with oneDNN, nn.ConvTranspose2d wins
# at stride 2 and the flipped-kernel convolution at stride 1).
FORMULATIONS = {
    "plain": "nn.ConvTranspose2d",
    "fast": "FastConvTranspose2d",
    "mixed": "FastConvTranspose2d at stride 1, nn.ConvTranspose2d at stride 2",
}
# nn.ConvTranspose2d's backward can cost seconds per iteration (PyTorch 1.13 on
# some CPUs), so every PyTorch run also stops after a time budget, with at
# least 3 timed iterations; the tables say how many ran.
BUDGET_S, QUICK_BUDGET_S = 60.0, 15.0

TARGETS = {1: 1.25, 2: 1.5}  # PyTorch's best ms / tinygan's ms must reach this


def quick_repeats(warmup, repeats):
    return max(1, min(warmup, 2)), max(3, repeats // 5)


def percentiles(ms):
    """Median, 10th and 90th percentiles as bench/harness.hpp picks them."""
    ms = sorted(ms)
    at = lambda q: ms[int(q * (len(ms) - 1) + 0.5)]  # noqa: E731
    return at(0.5), at(0.1), at(0.9)


# ---------------------------------------------------------------- worker side

def worker_main(args):
    """Runs inside a fresh process whose environment already holds the setting's
    thread variables; prints JSON lines for the parent."""
    name, threads, _, _ = SETTINGS[args.worker]
    try:
        import torch
        from torch import nn
    except ImportError as e:
        print(f"compare_torch worker: cannot import torch ({e})", file=sys.stderr)
        sys.exit(3)
    import torch_twin
    torch.set_num_threads(threads)
    # Subnormals flushed to zero, as tinygan's benchmarks run (core/threads.hpp).
    torch.set_flush_denormal(True)

    def emit(**fields):
        print(json.dumps(fields), flush=True)

    emit(kind="worker", setting=name, torch_version=torch.__version__, torch_threads=torch.get_num_threads(),
         **blas_info(), omp_wait_policy=os.environ.get("OMP_WAIT_POLICY"),
         openblas_coretype_env=os.environ.get("OPENBLAS_CORETYPE"),
         mkldnn=bool(torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled),
         rss_after_import_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)

    def measure(call, warmup, repeats, setup=None):
        for _ in range(warmup):
            if setup:
                setup()
            call()
        ms = []
        for _ in range(repeats):
            if setup:
                setup()
            start = time.perf_counter()
            call()
            ms.append((time.perf_counter() - start) * 1e3)
        return ms

    def peak_rss_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB

    if args.worker_model:
        model = args.worker_model
        step = iteration_step(torch, nn, torch_twin, model, args.formulation)
        last = 0.0
        for _ in range(args.warmup):
            start = time.perf_counter()
            step()
            last = time.perf_counter() - start
        repeats = max(3, min(args.repeats, int(args.budget / max(last, 1e-6))))
        ms = measure(step, 0, repeats)
        median, p10, p90 = percentiles(ms)
        fields = dict(kind="iteration", setting=name, model=model, threads=threads, median_ms=median,
                      p10_ms=p10, p90_ms=p90, repeats=len(ms), warmup=args.warmup, peak_rss_mb=peak_rss_mb())
        if model == "dcgan":
            fields["formulation"] = args.formulation
        emit(**fields)
        return

    # --worker-layers
    torch.manual_seed(42)
    budget, least, most = (0.25, 3, 60) if args.quick else (1.0, 5, 300)
    for layer_name, make, shape, transposed in layer_specs(nn, torch_twin):
        formulations = ["plain", "fast"] if transposed else [None]
        x0 = torch.randn(*shape)
        outputs = {}
        for formulation in formulations:
            torch.manual_seed(7)
            layer = make(formulation == "fast")
            layer.train()
            with torch.no_grad():
                outputs[formulation] = layer(x0)
            upstream = torch.randn_like(outputs[formulation])
            params = [p for p in layer.parameters()]
            x = x0.clone().requires_grad_(True)

            def forward():
                with torch.no_grad():
                    layer(x0)

            def forward_backward():
                layer(x).backward(upstream)

            def clear():
                x.grad = None
                for p in params:
                    p.grad = None

            for pass_name, call, setup in (("forward", forward, None),
                                           ("forward+backward", forward_backward, clear)):
                for _ in range(2):  # warm-up, also pays one-time allocations
                    if setup:
                        setup()
                    call()
                if setup:
                    setup()
                start = time.perf_counter()
                call()
                once = time.perf_counter() - start
                repeats = max(least, min(most, int(budget / max(once, 1e-6))))
                ms = measure(call, 1, repeats, setup)
                median, p10, p90 = percentiles(ms)
                fields = dict(kind="layer", setting=name, layer=layer_name, threads=threads, **{"pass": pass_name},
                              median_ms=median, p10_ms=p10, p90_ms=p90, repeats=len(ms))
                if formulation:
                    fields["formulation"] = formulation
                emit(**fields)
        if transposed:  # the two formulations must compute the same thing
            emit(kind="check", setting=name, layer=layer_name,
                 max_abs_difference=float((outputs["plain"] - outputs["fast"]).abs().max()))


def blas_info():
    """Which BLAS torch's process has loaded, and what OpenBLAS says of itself."""
    import ctypes
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1]
            if "blas" in os.path.basename(path):
                libs.add(path)
    info = {"blas_libraries": sorted(libs)}
    openblas = [p for p in libs if "libopenblas" in os.path.basename(p)]
    if openblas:
        try:
            lib = ctypes.CDLL(openblas[0])
            lib.openblas_get_corename.restype = ctypes.c_char_p
            info["openblas_threads"] = lib.openblas_get_num_threads()
            info["openblas_core"] = lib.openblas_get_corename().decode()
        except (OSError, AttributeError):
            pass
    return info


def dcgan64():
    """pytorch/examples' DCGAN at 64x64x3, initialized as there."""
    from torch_common import DCGANDiscriminator, DCGANGenerator, dcgan_weights_init
    g, d = DCGANGenerator(64, nc=3), DCGANDiscriminator(64, nc=3)
    g.apply(dcgan_weights_init)
    d.apply(dcgan_weights_init)
    return g, d


def iteration_step(torch, nn, torch_twin, model, formulation):
    """One training iteration exactly as bench/bench_iterations.cpp times it."""
    if model == "dcgan64":  # not a twin of docs/models.md's; its settings as in bench/bench_models.hpp
        make, shape, unit, batch, g_batch, lr, beta1 = dcgan64, (3, 64, 64), False, 64, 64, 2e-4, 0.5
    else:
        make, shape, unit, batch, g_batch, lr, beta1, _ = torch_twin.MODELS[model]
    latent = (100, 1, 1) if model == "dcgan64" else (100,)  # pytorch/examples' G takes z as [N, 100, 1, 1]
    torch.manual_seed(42)
    g, d = make(fast=formulation != "plain") if model == "dcgan" else make()
    if formulation == "mixed":  # same parameters; only forward differs
        for m in g.modules():
            if isinstance(m, torch_twin.FastConvTranspose2d) and m.stride[0] == 2:
                m.__class__ = nn.ConvTranspose2d
    opt_g = torch.optim.Adam(g.parameters(), lr=lr, betas=(beta1, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=lr, betas=(beta1, 0.999))
    autoencoder = model == "inverted"
    low = 0.0 if unit else -1.0  # real pixels: uniform in the generator's range
    real = torch.rand(batch, *shape) * (1.0 - low) + low
    images = torch.rand(batch, 784)  # the autoencoder's input, for both of its passes

    def step():
        if autoencoder:
            fake_input = g_input = images
        else:  # fresh noise every iteration, as in training
            fake_input, g_input = torch.randn(batch, *latent), torch.randn(g_batch, *latent)
        d_loss, g_loss = torch_twin.train_step(g, d, opt_g, opt_d, real, fake_input, g_input, autoencoder)
        return d_loss.item(), g_loss.item()  # tinygan's step reads both losses too

    return step


def layer_specs(nn, torch_twin):
    """(name as tinygan_bench_layers prints it, maker(fast), input shape, transposed?)"""
    def convt(cin, cout, stride, output_padding):
        return lambda fast: (torch_twin.FastConvTranspose2d if fast else nn.ConvTranspose2d)(
            cin, cout, 5, stride, 2, output_padding=output_padding, bias=False)
    plain = lambda make: (lambda fast: make())  # noqa: E731
    # pytorch/examples' 64x64x3 DCGAN: only nn.ConvTranspose2d (FastConvTranspose2d takes the 5x5 kernels alone)
    conv4 = lambda cin, cout: plain(lambda: nn.Conv2d(cin, cout, 4, 2, 1, bias=False))  # noqa: E731
    convt4 = lambda cin, cout: plain(lambda: nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False))  # noqa: E731
    return [
        ("dense 100->12544", plain(lambda: nn.Linear(100, 12544, bias=False)), (64, 100), False),
        ("dense 784->1024", plain(lambda: nn.Linear(784, 1024)), (64, 784), False),
        ("dense 1024->1024", plain(lambda: nn.Linear(1024, 1024)), (64, 1024), False),
        ("dense 1024->784", plain(lambda: nn.Linear(1024, 784)), (64, 1024), False),
        ("conv2d 1->64 k5s2 28x28", plain(lambda: nn.Conv2d(1, 64, 5, 2, 2)), (64, 1, 28, 28), False),
        ("conv2d 64->128 k5s2 14x14", plain(lambda: nn.Conv2d(64, 128, 5, 2, 2)), (64, 64, 14, 14), False),
        ("convT 256->128 k5s1 7x7", convt(256, 128, 1, 0), (64, 256, 7, 7), True),
        ("convT 128->64 k5s2 7x7", convt(128, 64, 2, 1), (64, 128, 7, 7), True),
        ("convT 64->1 k5s2 14x14", convt(64, 1, 2, 1), (64, 64, 14, 14), True),
        ("conv2d 3->64 k4s2 64x64", conv4(3, 64), (64, 3, 64, 64), False),
        ("conv2d 64->128 k4s2 32x32", conv4(64, 128), (64, 64, 32, 32), False),
        ("conv2d 128->256 k4s2 16x16", conv4(128, 256), (64, 128, 16, 16), False),
        ("conv2d 256->512 k4s2 8x8", conv4(256, 512), (64, 256, 8, 8), False),
        ("convT 512->256 k4s2 4x4", convt4(512, 256), (64, 512, 4, 4), False),
        ("convT 256->128 k4s2 8x8", convt4(256, 128), (64, 256, 8, 8), False),
        ("convT 128->64 k4s2 16x16", convt4(128, 64), (64, 128, 16, 16), False),
        ("convT 64->3 k4s2 32x32", convt4(64, 3), (64, 64, 32, 32), False),
        ("batchnorm 12544", plain(lambda: nn.BatchNorm1d(12544)), (64, 12544), False),
        ("batchnorm2d 128 7x7", plain(lambda: nn.BatchNorm2d(128)), (64, 128, 7, 7), False),
        ("leakyrelu 64x12544", plain(lambda: nn.LeakyReLU(0.2)), (64, 12544), False),
    ]


# ---------------------------------------------------------------- parent side

def log(message):
    print(message, file=sys.stderr, flush=True)


def json_lines(text):
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return rows


def run_checked(command, env=None, what=""):
    result = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-15:])
        raise SystemExit(f"compare_torch: {what} failed (exit {result.returncode}):\n  {' '.join(command)}\n{tail}")
    return json_lines(result.stdout)


def run_worker(key, extra):
    name, threads, set_env, unset_env = SETTINGS[key]
    env = dict(os.environ)
    for var in unset_env:
        env.pop(var, None)
    env.update(set_env)
    env["OMP_WAIT_POLICY"] = "PASSIVE"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    command = [sys.executable, os.path.abspath(__file__), "--worker", key] + extra
    return run_checked(command, env, f"PyTorch ({name})")


def machine_info():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {"cpu": cpu, "cores": os.cpu_count(), "usable_cores": usable,
            "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"), "python": sys.executable,
            "load_average_start": os.getloadavg()}


def fmt_ms(ms):
    if ms is None:
        return "-"
    if ms >= 100:
        return f"{ms:.0f}"
    if ms >= 10:
        return f"{ms:.1f}"
    return f"{ms:.2f}"


def fmt_spread(row):
    if not row:
        return "-"
    return f"{fmt_ms(row['median_ms'])} ({fmt_ms(row['p10_ms'])}-{fmt_ms(row['p90_ms'])})"


def numeric_columns(header, rows):
    """Columns whose cells are all numbers (or "-"): right-aligned."""
    number = re.compile(r"[-\d.%/() ]+( GFLOP/s| GB/s)?")
    return [i > 0 and all(number.fullmatch(str(r[i])) for r in rows) for i in range(len(header))]


def render_console(title, header, rows, notes):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    right = numeric_columns(header, rows)
    line = lambda r: "  ".join(  # noqa: E731
        str(c).rjust(w) if ra else str(c).ljust(w) for c, w, ra in zip(r, widths, right)).rstrip()
    out = [title, "", line(header), "  ".join("-" * w for w in widths)] + [line(r) for r in rows]
    return "\n".join(out + [""] + notes + [""])


def render_markdown(title, header, rows, notes):
    esc = lambda s: str(s).replace("|", "\\|")  # noqa: E731
    right = numeric_columns(header, rows)
    out = [f"#### {title}", "", "| " + " | ".join(esc(h) for h in header) + " |",
           "|" + "|".join("---:" if ra else "---" for ra in right) + "|"]
    out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    for note in notes:
        out += ["", note]
    return "\n".join(out + [""])


def build_tables(models, tiny_iters, torch_iters, tiny_layers, torch_layers, layers_wanted, layers_binary,
                 workers):
    """Returns [(title, header, rows, notes)]."""
    tables = []
    def torch_row(model, setting, formulation):
        for r in torch_iters:
            if r["model"] == model and r["setting"] == setting and \
                    (model != "dcgan" or r.get("formulation") == formulation):
                return r
        return None

    def cell(model, setting):  # dcgan: every formulation in one cell
        if model != "dcgan":
            return fmt_spread(torch_row(model, setting, None))
        return " / ".join(f"{f} {fmt_spread(r)}" for f in FORMULATIONS if (r := torch_row(model, setting, f)))

    for threads in (1, 2):
        allowed = [s for s in SETTING_NAMES if threads == 2 or SETTING_THREADS[s] == 1]
        header = ["model", "tinygan ms (p10-p90)", "PyTorch best ms", "PyTorch best is", "ratio", "target", "met"]
        header += [f"PyTorch {s}" for s in allowed]
        rows = []
        for model in models:
            tiny = next((r for r in tiny_iters if r["model"] == model and r["threads"] == threads), None)
            candidates = [r for r in torch_iters if r["model"] == model and r["setting"] in allowed]
            best = min(candidates, key=lambda r: r["median_ms"]) if candidates else None
            ratio = best["median_ms"] / tiny["median_ms"] if best and tiny else None
            target = TARGETS[threads]
            which = "-"
            if best:
                which = best["setting"] + (f", {best['formulation']}" if "formulation" in best else "")
            row = [model, fmt_spread(tiny), fmt_ms(best["median_ms"]) if best else "-", which,
                   f"{ratio:.2f}" if ratio else "-", f"{target:.2f}",
                   ("yes" if ratio >= target else "no") if ratio else "-"]
            rows.append(row + [cell(model, s) for s in allowed])
        notes = [f"ratio = PyTorch's best median / tinygan's median (above 1: tinygan is faster); target "
                 f"{TARGETS[threads]} against "
                 + ("PyTorch's 1-thread setting only." if threads == 1 else
                    "PyTorch's best over all its settings (1 thread, 2 threads, 2 threads with 1-thread BLAS).")]
        if "dcgan" in models:
            notes.append("dcgan's transposed convolutions in PyTorch: "
                         + "; ".join(f"{f} = {v}" for f, v in FORMULATIONS.items())
                         + " (plain is the model as a user writes it).")
        if "dcgan64" in models:
            notes.append("dcgan64: pytorch/examples' 64x64x3 DCGAN as written there (nn.ConvTranspose2d), batch 64.")
        tables.append((f"Training iteration, {threads} thread{'s' if threads > 1 else ''} "
                       f"(ms per iteration, median (p10-p90))", header, rows, notes))

    # Memory: tinygan's allocations and peak RSS at both thread counts, PyTorch's peak RSS beside them.
    header = ["model", "tinygan allocations/iteration (1 / 2 threads)", "tinygan peak RSS MB (1 / 2 threads)"] + \
             [f"PyTorch {s} peak RSS MB" for s in SETTING_NAMES]
    rows = []
    for model in models:
        tiny = [next((r for r in tiny_iters if r["model"] == model and r["threads"] == t), None) for t in (1, 2)]
        row = [model, " / ".join(f"{r['allocations_per_iteration']:.0f}" if r else "-" for r in tiny),
               " / ".join(f"{r['peak_rss_mb']:.0f}" if r else "-" for r in tiny)]
        for s in SETTING_NAMES:
            r = torch_row(model, s, "fast")
            row.append(f"{r['peak_rss_mb']:.0f}" if r else "-")
        rows.append(row)
    baselines = [w["rss_after_import_mb"] for w in workers if "rss_after_import_mb" in w]
    import_rss = f"{min(baselines):.0f} MB here" if baselines else "unknown"
    tables.append(("Memory", header, rows,
                   ["Peak RSS is each process's own (one process per model and setting); PyTorch's includes "
                    f"what importing torch costs ({import_rss})."
                    + (" dcgan's PyTorch columns are its FastConvTranspose2d runs." if "dcgan" in models else "")]))

    if not layers_wanted:
        return tables
    peaks = {r["threads"]: r for r in tiny_layers if r.get("kind") == "gemm_peak"}
    names = [spec for spec in LAYER_NAMES]
    for threads in (1, 2):
        allowed = [s for s in SETTING_NAMES if SETTING_THREADS[s] == threads]
        header = ["layer", "pass", "tinygan ms (p10-p90)", "tinygan rate", "share of GEMM peak",
                  "Eigen's products alone", "PyTorch best ms", "PyTorch best is", "ratio"] + \
                 [f"PyTorch {s}" for s in allowed]
        rows = []
        for name in names:
            for pass_name in ("forward", "forward+backward"):
                tiny = next((r for r in tiny_layers if r.get("kind") == "layer" and r["layer"] == name
                             and r["threads"] == threads and r["pass"] == pass_name), None)
                mine = [r for r in torch_layers if r["layer"] == name and r["pass"] == pass_name
                        and r["setting"] in allowed]
                if not tiny and not mine:
                    continue
                best = min(mine, key=lambda r: r["median_ms"]) if mine else None
                rate = "-"
                if tiny and "gflops" in tiny:
                    rate = f"{tiny['gflops']:.1f} GFLOP/s"
                elif tiny and "gbps" in tiny:
                    rate = f"{tiny['gbps']:.1f} GB/s"
                share = f"{100 * tiny['peak_share']:.0f}%" if tiny and tiny.get("peak_share") is not None else "-"
                alone = next((r for r in tiny_layers if r.get("kind") == "layer" and r["layer"] == name
                              and r["threads"] == threads and r["pass"] == "Eigen's products"), None)
                alone = (f"{fmt_ms(alone['median_ms'])} ms, {100 * alone['peak_share']:.0f}%"
                         if alone and pass_name == "forward+backward" else "-")
                ratio = best["median_ms"] / tiny["median_ms"] if best and tiny else None
                which = "-"
                if best:
                    which = best["setting"] + (f", {best['formulation']}" if "formulation" in best else "")
                row = [name, pass_name, fmt_spread(tiny), rate, share, alone, fmt_ms(best["median_ms"]) if best else "-",
                       which, f"{ratio:.2f}" if ratio else "-"]
                for s in allowed:
                    cells = [r for r in mine if r["setting"] == s]
                    if len(cells) > 1:  # transposed convolutions: both formulations
                        row.append(" / ".join(f"{r['formulation']} {fmt_spread(r)}" for r in
                                              sorted(cells, key=lambda r: r["formulation"])))
                    else:
                        row.append(fmt_spread(cells[0]) if cells else "-")
                rows.append(row)
        notes = []
        if threads in peaks:
            notes.append(f"tinygan's GEMM peak at {threads} thread{'s' if threads > 1 else ''}: "
                         f"{peaks[threads]['gflops']:.1f} GFLOP/s.")
        if not layers_binary:
            notes.append("tinygan_bench_layers is not built yet, so the tinygan columns are empty.")
        notes.append("Batch 64, training mode. forward: without gradient; forward+backward: input and parameters "
                     "require grad; both backwards start from a fixed random upstream gradient; PyTorch's "
                     "gradients are set to None between calls, tinygan's zeroed. "
                     f"PyTorch's best is over its settings with {threads} thread{'s' if threads > 1 else ''} "
                     "and, for the 5x5 convT, over plain = nn.ConvTranspose2d and fast = FastConvTranspose2d. "
                     "ratio = PyTorch's best / tinygan (above 1: tinygan is faster). Eigen's products alone: "
                     "the same matrix products as the layer's forward+backward, at its shapes and layouts, with "
                     "nothing around them (the dense layers and the 1-channel convolutions, whose cost is "
                     "those products): what Eigen's kernel itself reaches on them.")
        tables.append((f"Layers, {threads} thread{'s' if threads > 1 else ''} (ms per call, median (p10-p90))",
                       header, rows, notes))
    return tables


LAYER_NAMES = ["dense 100->12544", "dense 784->1024", "dense 1024->1024", "dense 1024->784",
               "conv2d 1->64 k5s2 28x28", "conv2d 64->128 k5s2 14x14", "convT 256->128 k5s1 7x7",
               "convT 128->64 k5s2 7x7", "convT 64->1 k5s2 14x14", "conv2d 3->64 k4s2 64x64",
               "conv2d 64->128 k4s2 32x32", "conv2d 128->256 k4s2 16x16", "conv2d 256->512 k4s2 8x8",
               "convT 512->256 k4s2 4x4", "convT 256->128 k4s2 8x8", "convT 128->64 k4s2 16x16",
               "convT 64->3 k4s2 32x32", "batchnorm 12544", "batchnorm2d 128 7x7",
               "leakyrelu 64x12544"]


def parent_main(args):
    models = MODEL_ORDER if not args.models else [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODEL_ORDER]
    if unknown:
        raise SystemExit(f"compare_torch: unknown model(s) {', '.join(unknown)} (choose from {', '.join(MODEL_ORDER)})")
    models = [m for m in MODEL_ORDER if m in models]

    build = os.path.abspath(args.build)
    iterations_binary = os.path.join(build, "bench", "tinygan_bench_iterations")
    layers_binary = os.path.join(build, "bench", "tinygan_bench_layers")
    if not os.access(iterations_binary, os.X_OK):
        raise SystemExit(f"compare_torch: {iterations_binary} not found. Build tinygan first: scripts/setup.sh, "
                         f"or cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build "
                         f"--target tinygan_bench_iterations tinygan_bench_layers (or pass --build DIR).")
    have_layers_binary = os.access(layers_binary, os.X_OK)
    if args.layers and not have_layers_binary:
        log(f"compare_torch: NOTE: {layers_binary} does not exist (not built yet, or this tinygan has no layer "
            f"benchmark: cmake --build {args.build} --target tinygan_bench_layers). Measuring PyTorch's layers "
            f"alone; the tinygan layer columns stay empty.")
    if importlib.util.find_spec("torch") is None:
        raise SystemExit(f"compare_torch: PyTorch is not importable by {sys.executable}. On Debian 12: "
                         f"sudo apt-get install python3-torch libopenblas0-pthread, and run with /usr/bin/python3.")

    machine = machine_info()
    tiny_iters, torch_iters, workers, tiny_layers, torch_layers, checks = [], [], [], [], [], []
    started = time.time()

    for model in models:
        warmup, repeats = ITERATION_REPEATS[model]
        if args.quick:
            warmup, repeats = quick_repeats(warmup, repeats)
        log(f"[{time.time() - started:6.0f} s] {model}: tinygan, 1 and 2 threads, {warmup} warm-up + {repeats} timed")
        rows = run_checked([iterations_binary, "--json", "--threads", "1,2", "--models", model,
                            "--warmup", str(warmup), "--repeats", str(repeats)], what=f"tinygan {model}")
        tiny_iters += [r for r in rows if r.get("kind") == "iteration"]
        budget = QUICK_BUDGET_S if args.quick else BUDGET_S
        for formulation in (list(FORMULATIONS) if model == "dcgan" else ["fast"]):
            w = 1 if formulation == "plain" else warmup  # see BUDGET_S
            for key in SETTINGS:
                label = SETTINGS[key][0] + (f", {FORMULATIONS[formulation]}" if model == "dcgan" else "")
                log(f"[{time.time() - started:6.0f} s] {model}: PyTorch {label}, {w} warm-up + {repeats} timed "
                    f"(or {budget:.0f} s)")
                rows = run_worker(key, ["--worker-model", model, "--formulation", formulation, "--warmup", str(w),
                                        "--repeats", str(repeats), "--budget", str(budget)])
                workers += [r for r in rows if r.get("kind") == "worker"]
                torch_iters += [r for r in rows if r.get("kind") == "iteration"]

    if args.layers:
        if have_layers_binary:
            log(f"[{time.time() - started:6.0f} s] layers: tinygan, 1 and 2 threads")
            tiny_layers = run_checked([layers_binary, "--json", "--threads", "1,2"], what="tinygan layers")
        for key in SETTINGS:
            log(f"[{time.time() - started:6.0f} s] layers: PyTorch {SETTINGS[key][0]}")
            rows = run_worker(key, ["--worker-layers"] + (["--quick"] if args.quick else []))
            workers += [r for r in rows if r.get("kind") == "worker"]
            torch_layers += [r for r in rows if r.get("kind") == "layer"]
            checks += [r for r in rows if r.get("kind") == "check"]

    machine["load_average_end"] = os.getloadavg()
    machine["seconds"] = round(time.time() - started, 1)
    if workers:
        machine["torch_version"] = workers[0].get("torch_version")

    # What each PyTorch setting really ran with (from the workers themselves).
    setting_info = {}
    for w in workers:
        setting_info.setdefault(w["setting"], w)
    warnings = []
    for name, w in setting_info.items():
        if not w.get("openblas_core"):
            warnings.append(f"PyTorch ({name}) did not load OpenBLAS ({', '.join(w.get('blas_libraries', [])) or 'no BLAS found'}): "
                            f"its matrix products use the slow reference BLAS; apt-get install libopenblas0-pthread.")
        elif w.get("openblas_core", "").lower() == "prescott":
            warnings.append(f"PyTorch ({name}): OpenBLAS runs its slow Prescott kernels; set OPENBLAS_CORETYPE.")
    busy = machine["load_average_start"][0]
    if busy >= 0.75:
        warnings.append(f"other work was running (load average {busy:.2f} on {machine['cores']} cores before the run "
                        f"started): times are slower and noisier than on an idle machine, most of all at 2 threads.")
    for c in checks:
        if c["max_abs_difference"] > 1e-3:
            warnings.append(f"{c['layer']}: nn.ConvTranspose2d and FastConvTranspose2d differ by "
                            f"{c['max_abs_difference']:.3g} ({c['setting']}).")

    header_lines = [
        f"Machine: {machine['cpu']}, {machine['cores']} cores ({machine['usable_cores']} usable), "
        f"load average {machine['load_average_start'][0]:.2f} at the start, {machine['load_average_end'][0]:.2f} at the end",
        f"PyTorch {machine.get('torch_version', '?')} ({sys.executable}); OPENBLAS_CORETYPE={machine['openblas_coretype']}; "
        f"OMP_WAIT_POLICY=PASSIVE",
    ]
    for name in SETTING_NAMES:
        w = setting_info.get(name)
        if w:
            header_lines.append(f"  PyTorch '{name}': torch threads {w['torch_threads']}, OpenBLAS "
                                f"{w.get('openblas_core', 'not loaded')} with {w.get('openblas_threads', '?')} thread(s)")
    planned = {m: (quick_repeats(*ITERATION_REPEATS[m]) if args.quick else ITERATION_REPEATS[m])[1] for m in models}
    cut = [f"{r['model']} {r['setting']}" + (f" {r['formulation']}" if "formulation" in r else "") + f" {r['repeats']}"
           for r in torch_iters if r["repeats"] < planned[r["model"]]]
    header_lines.append(
        f"{'Quick run' if args.quick else 'Run'} of {machine['seconds']:.0f} s; timed iterations per model: "
        + ", ".join(f"{m} {n}" for m, n in planned.items())
        + (f" (PyTorch runs stop after {QUICK_BUDGET_S if args.quick else BUDGET_S:.0f} s; cut short: "
           + ", ".join(cut) + ")" if cut else "")
        + ". Medians with 10th-90th percentiles; the machine may be shared, so compare spreads too.")

    tables = build_tables(models, tiny_iters, torch_iters, tiny_layers, torch_layers, args.layers, have_layers_binary,
                          workers)
    print("\n".join(header_lines))
    for w in warnings:
        print("WARNING: " + w)
    print()
    for table in tables:
        print(render_console(*table))

    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("\n".join(["- " + line.strip() for line in header_lines] + [""]))
            for w in warnings:
                f.write(f"\n**Warning:** {w}\n")
            f.write("\n")
            for table in tables:
                f.write(render_markdown(*table) + "\n")
        log(f"compare_torch: wrote {args.markdown}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine, "quick": args.quick, "models": models, "pytorch_settings": workers,
                       "tinygan_iterations": tiny_iters, "pytorch_iterations": torch_iters,
                       "tinygan_layers": tiny_layers, "pytorch_layers": torch_layers, "checks": checks,
                       "warnings": warnings,
                       "tables": [{"title": t, "header": h, "rows": r, "notes": n} for t, h, r, n in tables]},
                      f, indent=1)
        log(f"compare_torch: wrote {args.json}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 2)[2])
    parser.add_argument("--build", default=os.path.relpath(os.path.join(ROOT, "build")),
                        help="tinygan's build directory (default: the repository's build/)")
    parser.add_argument("--models", help="comma-separated subset of " + ",".join(MODEL_ORDER))
    parser.add_argument("--layers", action="store_true", help="also compare single layers")
    parser.add_argument("--quick", action="store_true", help="about a fifth of the iterations")
    parser.add_argument("--json", metavar="FILE", help="write everything measured to FILE")
    parser.add_argument("--markdown", metavar="FILE", help="write the tables as GitHub markdown to FILE")
    # Hidden: one PyTorch measurement in this process (the parent sets the environment).
    parser.add_argument("--worker", choices=sorted(SETTINGS), help=argparse.SUPPRESS)
    parser.add_argument("--worker-model", choices=MODEL_ORDER, help=argparse.SUPPRESS)
    parser.add_argument("--worker-layers", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--formulation", choices=sorted(FORMULATIONS), default="fast", help=argparse.SUPPRESS)
    parser.add_argument("--budget", type=float, default=BUDGET_S, help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=int, default=5, help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=30, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        if not args.worker_model and not args.worker_layers:
            parser.error("--worker needs --worker-model or --worker-layers")
        worker_main(args)
    else:
        parent_main(args)


if __name__ == "__main__":
    main()
