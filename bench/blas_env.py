"""Import before torch: Debian's torch does its matrix products in the system
OpenBLAS, which on a virtual CPU that hides its model (the project's VMs
have reported "Intel Xeon Processor" and "AMD EPYC" with no model number)
can fall back to its generic Prescott kernels, 3-6x slower than the AVX-512
ones. Naming the core type from the CPU's flags makes PyTorch as fast as it
can be; an explicit OPENBLAS_CORETYPE in the environment is left alone.
(Without Debian's libopenblas0-pthread torch uses the reference BLAS, and
compare_torch.py warns.)"""

import os


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def choose_openblas_core():
    flags = cpu_flags()
    if "avx512f" in flags:
        return "SkylakeX"
    if "avx2" in flags:
        return "Haswell"
    return None


core = choose_openblas_core()
if core:
    os.environ.setdefault("OPENBLAS_CORETYPE", core)
