/// \file
/// gemm: dst = a * b, or dst += a * b, for Eigen matrix views, shared out over
/// tinygan's threads.
///
/// With several threads the product is cut into one block of rows (or of
/// columns) of dst per thread, and each block is one single-threaded Eigen
/// product. Eigen's own parallel product makes its threads wait for each other
/// by spinning; on a busy machine a descheduled partner then costs whole
/// scheduler time slices (measured: 20x slower at 2 threads under load). The
/// split blocks only meet at the end of the loop.
#pragma once

#include <algorithm>
#include <type_traits>

#include "tinygan/core/shape.hpp"
#include "tinygan/core/tensor.hpp"
#include "tinygan/core/threads.hpp"

namespace tinygan {

namespace detail {
/// Eigen's threading is off from the start (set_num_threads keeps it off), so
/// even the small products that gemm leaves whole never spin.
inline const bool eigen_single_threaded = (Eigen::setNbThreads(1), true);
}  // namespace detail

/// Below this many multiply-adds one thread does the whole product.
constexpr double kParallelGemmWork = 1 << 21;

enum class Accumulate { no, yes };

template <class Dst, class A, class B>
void gemm(Dst&& dst, const A& a, const B& b, Accumulate accumulate = Accumulate::no) {
  const auto product = [&](auto&& d, const auto& x, const auto& y) {
    if (accumulate == Accumulate::yes)
      d.noalias() += x * y;
    else
      d.noalias() = x * y;
  };
  const Index rows = dst.rows(), cols = dst.cols();
  const int threads = num_threads();
  const double work = static_cast<double>(rows) * static_cast<double>(cols) * static_cast<double>(a.cols());
  if (threads == 1 || work < kParallelGemmWork) {
    product(dst, a, b);
    return;
  }
  const Index depth = a.cols(), longer = std::max(rows, cols);
  if (longer < 64 * threads && depth >= 8 * longer) {
    // A small product over a long inner size (a Dense layer's input gradient:
    // 64 x 100, summed over 12,544) cuts badly along its output: each thread
    // sums its share of the inner size, and the shares are added in order.
    using Scalar = typename std::decay_t<Dst>::Scalar;
    Tensor<Scalar> partials = Tensor<Scalar>::uninitialized(Shape{(threads - 1) * rows * cols});
    const Index share = (depth / threads + 15) / 16 * 16;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int t = 0; t < threads; ++t) {
      const Index begin = std::min(depth, t * share), end = t + 1 == threads ? depth : std::min(depth, begin + share);
      if (t == 0) {
        product(dst, a.middleCols(begin, end - begin), b.middleRows(begin, end - begin));
        continue;
      }
      Eigen::Map<Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>> part(
          partials.data() + (t - 1) * rows * cols, rows, cols);
      if (begin < end)
        part.noalias() = a.middleCols(begin, end - begin) * b.middleRows(begin, end - begin);
      else
        part.setZero();
    }
    for (int t = 1; t < threads; ++t)
      dst += Eigen::Map<const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>>(
          partials.data() + (t - 1) * rows * cols, rows, cols);
    return;
  }
  // Cut the longer side, in multiples of 16 so each block keeps whole SIMD panels.
  const bool by_rows = rows >= cols;
  const Index length = by_rows ? rows : cols;
  const Index step = (length / threads + 15) / 16 * 16;
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int t = 0; t < threads; ++t) {
    const Index begin = std::min(length, t * step), end = t + 1 == threads ? length : std::min(length, begin + step);
    if (begin >= end) continue;
    if (by_rows)
      product(dst.middleRows(begin, end - begin), a.middleRows(begin, end - begin), b);
    else
      product(dst.middleCols(begin, end - begin), a, b.middleCols(begin, end - begin));
  }
}

}  // namespace tinygan
