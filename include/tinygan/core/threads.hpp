/// \file
/// The thread count used by tinygan's OpenMP loops and by Eigen's products.
#pragma once

#include <Eigen/Core>
#include <algorithm>

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) || defined(__SSE2__)
#include <xmmintrin.h>
#define TINYGAN_HAS_MXCSR 1
#endif

#include "tinygan/core/error.hpp"
#include "tinygan/core/shape.hpp"

namespace tinygan {

/// Below this many elements of work a loop runs on one thread: waking a team
/// costs more than it saves, and on a busy machine far more.
constexpr long kParallelGrain = 1L << 15;

inline int num_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

inline bool in_parallel_region() {
#ifdef _OPENMP
  return omp_in_parallel();
#else
  return false;
#endif
}

/// Calls body(begin, length) on one contiguous share of [0, n) per thread, or
/// body(0, n) on the calling thread below kParallelGrain or inside a parallel
/// region. For element-wise loops only: their results do not depend on where
/// the range is cut. Shares start on multiples of 16 elements so no two
/// threads write one cache line.
template <class Body>
void for_each_share(Index n, const Body& body) {
  const int threads = n > kParallelGrain && !in_parallel_region() ? num_threads() : 1;
  if (threads == 1) {
    body(Index{0}, n);
    return;
  }
  const Index step = (n / threads + 15) / 16 * 16;
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int t = 0; t < threads; ++t) {
    const Index begin = std::min(n, t * step), end = t + 1 == threads ? n : std::min(n, begin + step);
    if (begin < end) body(begin, end - begin);
  }
}

namespace detail {
inline bool& flush_denormals_wanted() {
  static bool wanted = false;
  return wanted;
}
/// Sets the flush bits on every thread of the OpenMP team, the caller included:
/// each thread has its own floating-point control register.
inline void apply_flush_denormals() {
#ifdef TINYGAN_HAS_MXCSR
  const unsigned bits = 0x8040;  // FTZ (results) | DAZ (inputs)
  const bool on = flush_denormals_wanted();
  const auto apply = [&] { _mm_setcsr(on ? (_mm_getcsr() | bits) : (_mm_getcsr() & ~bits)); };
#pragma omp parallel num_threads(num_threads())
  apply();
  // LLVM's libomp puts back the caller's register when a region ends and hands
  // it to the workers when the next begins: so the caller sets its own too.
  apply();
#endif
}
}  // namespace detail

/// Subnormal floats (below 1.2e-38) cost x86 a microcode assist per operation,
/// up to 100x; a GAN whose discriminator wins drives its gradients there.
/// Flushing them to zero on every thread (what torch.set_flush_denormal(True)
/// does) changes no value above 1e-38. Returns false where the CPU has no such
/// switch. The example programs and benchmarks turn it on.
inline bool set_flush_denormals(bool on) {
  detail::flush_denormals_wanted() = on;
  detail::apply_flush_denormals();
#ifdef TINYGAN_HAS_MXCSR
  return true;
#else
  return false;
#endif
}

/// Results are bitwise reproducible for a given seed and thread count: every
/// parallel loop uses a static schedule and reductions run in a fixed order.
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
