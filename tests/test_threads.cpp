// Thread settings: the denormal flush reaches every OpenMP thread.
#include <doctest/doctest.h>

#include <vector>

#include "tinygan/gan.hpp"

using namespace tinygan;

namespace {
// On each of `threads` threads: is 1e-30 * 1e-10 (a subnormal, 1e-40) flushed to 0?
std::vector<int> flushed_per_thread(int threads) {
  std::vector<int> flushed(threads, -1);
  volatile float tiny = 1e-30f, factor = 1e-10f;
#pragma omp parallel num_threads(threads)
  {
#ifdef _OPENMP
    const int me = omp_get_thread_num();
#else
    const int me = 0;
#endif
    const float product = tiny * factor;
    flushed[me] = product == 0.0f ? 1 : 0;
  }
  return flushed;
}
}  // namespace

TEST_CASE("set_flush_denormals turns subnormal results to zero on every thread, and back") {
  const int before = num_threads();
  set_num_threads(2);
  if (!set_flush_denormals(true)) return;  // no such switch on this CPU
  for (int f : flushed_per_thread(2)) CHECK(f == 1);
  set_flush_denormals(false);
  for (int f : flushed_per_thread(2)) CHECK(f == 0);
  set_num_threads(before);
}
