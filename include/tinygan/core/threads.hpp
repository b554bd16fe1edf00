// The thread count used by tinygan's OpenMP loops and by Eigen's products.
#pragma once

#include <Eigen/Core>

#ifdef _OPENMP
#include <omp.h>
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

// Results are bitwise reproducible for a given seed and thread count: every
// parallel loop uses a static schedule and reductions run in a fixed order.
inline void set_num_threads(int n) {
  check(n >= 1, "set_num_threads: expected a count >= 1, found ", n);
#ifdef _OPENMP
  omp_set_num_threads(n);
#endif
  // Products share out their work themselves (core/gemm.hpp); Eigen's own
  // threading stays off so that it never spins waiting for a partner.
  Eigen::setNbThreads(1);
}

}  // namespace tinygan
