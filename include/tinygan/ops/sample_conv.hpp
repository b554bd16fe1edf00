/// \file
/// Convolution lowered one sample at a time, for layers with a side of fewer
/// than 8 channels (the MNIST models' first and last), where tap_conv.hpp's
/// per-tap products would be one row or column thin.
///
/// For each sample, im2col builds its columns [C*kh*kw, OH*OW] in a small
/// buffer that stays in cache, and one product with the weight [OC, C*kh*kw]
/// reads or writes that sample's [OC, OH*OW] block of an [N, OC, OH, OW]
/// tensor in place: no batch-wide column buffer (25 times the image) and no
/// change of layout before or after the product.
///
/// With several threads each thread takes one contiguous group of samples;
/// the weight gradient is summed over the groups in a fixed order.
///
/// A transposed convolution is the input gradient of the convolution it
/// transposes: sample_conv_forward and sample_conv_input_grad serve both ops
/// (forward one way, input gradient the other), and each op's backward has
/// its own kernel that makes all its gradients in one pass.
#pragma once

#include <algorithm>

#include "tinygan/core/gemm.hpp"
#include "tinygan/core/tensor.hpp"
#include "tinygan/core/threads.hpp"
#include "tinygan/ops/im2col.hpp"

namespace tinygan {

namespace detail {
template <class T>
using SampleMatrix = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
template <class T>
using ConstSampleMatrix = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

/// One group per thread once the convolution is worth sharing out.
inline int sample_groups(const ConvGeometry& g, Index out_channels) {
  const double work = static_cast<double>(g.batch * g.out_plane() * out_channels) * static_cast<double>(g.rows());
  return work >= (1 << 22) ? static_cast<int>(std::clamp<Index>(g.batch, 1, num_threads())) : 1;
}

/// Calls body(n, columns buffer, dw) for every sample n, each group of samples
/// on its own thread with its own column buffer [C*kh*kw, OH*OW] and, when
/// weight_grad is not null, its own zeroed weight-gradient sum dw [OC,
/// C*kh*kw]; then weight_grad += the groups' sums, in group order. The sums
/// are column-major: Eigen vectorizes a product along its destination's
/// columns, and these have OC (64) rows where a row-major one would give it
/// kh*kw (25).
template <class T, class Body>
void for_each_sample(const ConvGeometry& g, Index out_channels, T* weight_grad, Body body) {
  using Sums = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>>;
  const Index rows = g.rows(), pixels = g.out_plane(), size = out_channels * rows;
  const int groups = sample_groups(g, out_channels);
  Tensor<T> buffers = Tensor<T>::uninitialized(Shape{groups * rows * pixels});
  Tensor<T> sums = Tensor<T>::uninitialized(Shape{weight_grad ? groups * size : 0});
#pragma omp parallel for schedule(static) num_threads(groups) if (groups > 1)
  for (int k = 0; k < groups; ++k) {
    T* cols = buffers.data() + k * rows * pixels;
    Sums dw(weight_grad ? sums.data() + k * size : nullptr, out_channels, rows);
    if (weight_grad) dw.setZero();
    for (Index n = g.batch * k / groups; n < g.batch * (k + 1) / groups; ++n) body(n, cols, dw);
  }
  SampleMatrix<T> total(weight_grad, out_channels, rows);
  for (int k = 0; weight_grad && k < groups; ++k) total += Sums(sums.data() + k * size, out_channels, rows);
}
}  // namespace detail

/// out [N, OC, OH, OW] = (or += with accumulate) the convolution of image
/// [N, C, H, W] with weight [OC, C*kh*kw], plus bias [OC] when not null (only
/// without accumulate).
template <class T>
void sample_conv_forward(const T* image, const T* weight, const T* bias, const ConvGeometry& g,
                         Index out_channels, T* out, Accumulate accumulate) {
  const Index rows = g.rows(), pixels = g.out_plane();
  const detail::ConstSampleMatrix<T> w(weight, out_channels, rows);
  detail::for_each_sample(g, out_channels, static_cast<T*>(nullptr), [&](Index n, T* cols, auto&) {
    im2col(image + n * g.channels * g.plane(), g, cols);
    const detail::ConstSampleMatrix<T> x(cols, rows, pixels);
    detail::SampleMatrix<T> y(out + n * out_channels * pixels, out_channels, pixels);
    // Eigen's "=" zeroes y before it accumulates: starting from the bias
    // instead saves a pass over y.
    if (bias)
      y.colwise() = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>>(bias, out_channels);
    else if (accumulate == Accumulate::no)
      y.setZero();
    y.noalias() += w * x;
  });
}

/// image_grad [N, C, H, W] += col2im(weight^T times dy [OC, OH*OW]) for each
/// sample: the convolution's input gradient, and the transposed convolution.
template <class T>
void sample_conv_input_grad(const T* dy, const T* weight, const ConvGeometry& g, Index out_channels,
                            T* image_grad) {
  const Index rows = g.rows(), pixels = g.out_plane();
  const detail::ConstSampleMatrix<T> w(weight, out_channels, rows);
  detail::for_each_sample(g, out_channels, static_cast<T*>(nullptr), [&](Index n, T* cols, auto&) {
    detail::SampleMatrix<T>(cols, rows, pixels).noalias() =
        w.transpose() * detail::ConstSampleMatrix<T>(dy + n * out_channels * pixels, out_channels, pixels);
    col2im_add(cols, g, image_grad + n * g.channels * g.plane());
  });
}

/// The convolution's backward in one pass over the samples, each sample's dy
/// [OC, OH*OW] read once while in cache: weight_grad [OC, C*kh*kw], bias_grad
/// [OC] and image_grad [N, C, H, W] (each skipped when null) += their parts.
template <class T>
void sample_conv_backward(const T* image, const T* weight, const T* dy, const ConvGeometry& g,
                          Index out_channels, T* weight_grad, T* bias_grad, T* image_grad) {
  const Index rows = g.rows(), pixels = g.out_plane();
  const detail::ConstSampleMatrix<T> w(weight, out_channels, rows);
  Tensor<T> bias_sums = Tensor<T>::zeros(Shape{bias_grad ? g.batch * out_channels : 0});
  detail::for_each_sample(g, out_channels, weight_grad, [&](Index n, T* cols, auto& dw) {
    const detail::ConstSampleMatrix<T> dy_n(dy + n * out_channels * pixels, out_channels, pixels);
    detail::SampleMatrix<T> x(cols, rows, pixels);
    if (weight_grad) {
      im2col(image + n * g.channels * g.plane(), g, cols);
      dw.noalias() += dy_n * x.transpose();
    }
    if (bias_grad)
      Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>>(bias_sums.data() + n * out_channels, out_channels) =
          dy_n.rowwise().sum();
    if (image_grad) {
      x.noalias() = w.transpose() * dy_n;
      col2im_add(cols, g, image_grad + n * g.channels * g.plane());
    }
  });
  // Summed over the samples in order, so the thread count does not change them.
  for (Index n = 0; bias_grad && n < g.batch; ++n)
    for (Index c = 0; c < out_channels; ++c) bias_grad[c] += bias_sums.data()[n * out_channels + c];
}

/// The transposed convolution's backward (x [N, OC, OH, OW] -> image, by
/// sample_conv_input_grad), one pass over the samples with one im2col of each
/// sample's image gradient: weight_grad [OC, C*kh*kw] and x_grad (each
/// skipped when null) += their parts.
template <class T>
void sample_conv_transpose_backward(const T* x, const T* weight, const T* image_grad_in, const ConvGeometry& g,
                                    Index out_channels, T* weight_grad, T* x_grad) {
  const Index rows = g.rows(), pixels = g.out_plane();
  const detail::ConstSampleMatrix<T> w(weight, out_channels, rows);
  detail::for_each_sample(g, out_channels, weight_grad, [&](Index n, T* cols, auto& dw) {
    im2col(image_grad_in + n * g.channels * g.plane(), g, cols);
    const detail::ConstSampleMatrix<T> d(cols, rows, pixels);
    if (weight_grad)
      dw.noalias() += detail::ConstSampleMatrix<T>(x + n * out_channels * pixels, out_channels, pixels) *
                      d.transpose();
    if (x_grad)
      detail::SampleMatrix<T>(x_grad + n * out_channels * pixels, out_channels, pixels).noalias() += w * d;
  });
}

}  // namespace tinygan
