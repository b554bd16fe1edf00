// The thread count used by tinygan's OpenMP loops and by Eigen's products.
#pragma once

#include <Eigen/Core>

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) || defined(__SSE2__)
#include <xmmintrin.h>
#define TINYGAN_HAS_MXCSR 1
#endif

#include "tinygan/core/error.hpp"

namespace tinygan {

// Below this many elements of work a loop runs on one thread: waking a team
// costs more than it saves, and on a busy machine far more.
constexpr long kParallelGrain = 1L << 15;

inline int num_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

namespace detail {
inline bool& flush_denormals_wanted() {
  static bool wanted = false;
  return wanted;
}
// Sets the flush bits on every thread of the OpenMP team, the caller included:
// each thread has its own floating-point control register.
inline void apply_flush_denormals() {
#ifdef TINYGAN_HAS_MXCSR
  const unsigned bits = 0x8040;  // FTZ (results) | DAZ (inputs)
  const bool on = flush_denormals_wanted();
#pragma omp parallel num_threads(num_threads())
  _mm_setcsr(on ? (_mm_getcsr() | bits) : (_mm_getcsr() & ~bits));
#endif
}
}  // namespace detail

// Subnormal floats (below 1.2e-38) cost x86 a microcode assist per operation,
// up to 100x; a GAN whose discriminator wins drives its gradients there.
// Flushing them to zero on every thread (what torch.set_flush_denormal(True)
// does) changes no value above 1e-38. Returns false where the CPU has no such
// switch. The example programs and benchmarks turn it on.
inline bool set_flush_denormals(bool on) {
  detail::flush_denormals_wanted() = on;
  detail::apply_flush_denormals();
#ifdef TINYGAN_HAS_MXCSR
  return true;
#else
  return false;
#endif
}

// Results are bitwise reproducible for a given seed and thread count: every
// parallel loop uses a static schedule and reductions run in a fixed order.
inline void set_num_threads(int n) {
  check(n >= 1, "set_num_threads: expected a count >= 1, found ", n);
#ifdef _OPENMP
  omp_set_num_threads(n);
#endif
  if (detail::flush_denormals_wanted()) detail::apply_flush_denormals();  // on any new threads too
  // Products share out their work themselves (core/gemm.hpp); Eigen's own
  // threading stays off so that it never spins waiting for a partner.
  Eigen::setNbThreads(1);
}

}  // namespace tinygan
