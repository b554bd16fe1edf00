// Convolution as one small GEMM per kernel tap, with no im2col buffer and no
// work on the zero padding.
//
// Images are laid out [H, W, N, C] ("pixel-major"): one pixel of the whole
// batch is a contiguous [N, C] block, and a run of pixels along a row is a
// contiguous [pixels * N, C] matrix. For stride s the input is split into its
// s x s phases (rows and columns of equal remainder mod s), [s, s, H/s, W/s,
// N, C], so that the pixels one tap reads along an output row are again a
// contiguous run. Tap (i, j) then adds, for each output row, one product
// [run * N, C] x [C, OC] over exactly the pixels where it meets the image:
// the taps that would read padding are never computed (31% of the DCGAN's
// largest layer).
//
// The three kernels are the three products of a convolution: forward,
// input gradient (which is also the transposed convolution's forward) and
// weight gradient. Each thread owns a slice of the product's columns, so a
// whole pass is one parallel region and the sums run in a fixed order.
#pragma once

#include <algorithm>

#include "tinygan/core/tensor.hpp"
#include "tinygan/core/threads.hpp"
#include "tinygan/ops/im2col.hpp"

namespace tinygan {

// A convolution from `in_channels` x [height, width] to `out_channels` x
// [out_h, out_w], in the layouts above.
struct TapGeometry {
  ConvGeometry conv;  // channels = in_channels
  Index out_channels = 0;

  Index in_channels() const { return conv.channels; }
  Index taps() const { return conv.kernel_h * conv.kernel_w; }
  Index phase_h() const { return (conv.height + conv.stride - 1) / conv.stride; }
  Index phase_w() const { return (conv.width + conv.stride - 1) / conv.stride; }
  // Elements of the phase-split input and of the pixel-major output.
  Index input_size() const {
    return conv.stride * conv.stride * phase_h() * phase_w() * conv.batch * in_channels();
  }
  Index output_size() const { return conv.out_h * conv.out_w * conv.batch * out_channels; }
  // The products are worth it only when both sides have some channels.
  bool worthwhile() const { return in_channels() >= 8 && out_channels >= 8; }
};

namespace detail {
inline Index floor_div(Index a, Index b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Offset of input pixel (y, x) in the phase-split layout, in pixels.
inline Index phase_pixel(const TapGeometry& t, Index y, Index x) {
  const Index s = t.conv.stride;
  return (((y % s) * s + x % s) * t.phase_h() + y / s) * t.phase_w() + x / s;
}

// Calls visit(tap, input_pixel, output_pixel, run) for every tap and output
// row: `run` output pixels from output_pixel on meet `run` consecutive input
// pixels (in the phase-split layout) from input_pixel.
template <class Visit>
void for_each_tap_run(const TapGeometry& t, Visit visit) {
  const ConvGeometry& g = t.conv;
  for (Index ki = 0; ki < g.kernel_h; ++ki)
    for (Index kj = 0; kj < g.kernel_w; ++kj) {
      Index lo, hi;
      valid_range(g.out_w, g.width, g.stride, g.padding, kj, lo, hi);
      if (lo >= hi) continue;
      for (Index oh = 0; oh < g.out_h; ++oh) {
        const Index ih = oh * g.stride - g.padding + ki;
        if (ih < 0 || ih >= g.height) continue;
        const Index iw = lo * g.stride - g.padding + kj;
        visit(ki * g.kernel_w + kj, phase_pixel(t, ih, iw), oh * g.out_w + lo, hi - lo);
      }
    }
}

// Runs body(begin, end) on one slice of [0, length) per thread, in multiples of 16.
template <class Body>
void for_column_slices(Index length, double work, Body body) {
  const int threads =
      work < (1 << 21) ? 1 : static_cast<int>(std::clamp<Index>(length / 16, 1, num_threads()));
  const Index step = (length / threads + 15) / 16 * 16;
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (int part = 0; part < threads; ++part) {
    const Index begin = std::min(length, part * step);
    const Index end = part + 1 == threads ? length : std::min(length, begin + step);
    if (begin < end) body(begin, end);
  }
}

template <class T>
using RowBlock = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0,
                            Eigen::OuterStride<>>;
template <class T>
using ConstRowBlock = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>,
                                 0, Eigen::OuterStride<>>;

inline double tap_work(const TapGeometry& t) {
  return static_cast<double>(t.output_size()) * static_cast<double>(t.taps() * t.in_channels());
}
}  // namespace detail

// taps [kh*kw, C, OC] from a weight [OC, C, kh, kw] (conv2d's layout, and
// conv_transpose2d's [IC, OC, kh, kw] read as the convolution it transposes):
// for each channel c, the [OC, kh*kw] slice is transposed into [kh*kw, OC].
template <class T>
void pack_taps(const T* weight, const TapGeometry& t, T* taps) {
  const Index c_count = t.in_channels(), o_count = t.out_channels, k = t.taps();
  for (Index c = 0; c < c_count; ++c)
    detail::RowBlock<T>(taps + c * o_count, k, o_count, Eigen::OuterStride<>(c_count * o_count)) =
        detail::ConstRowBlock<T>(weight + c * k, o_count, k, Eigen::OuterStride<>(c_count * k)).transpose();
}

// weight [OC, C, kh, kw] += taps [kh*kw, C, OC].
template <class T>
void unpack_taps_add(const T* taps, const TapGeometry& t, T* weight) {
  const Index c_count = t.in_channels(), o_count = t.out_channels, k = t.taps();
  for (Index c = 0; c < c_count; ++c)
    detail::RowBlock<T>(weight + c * k, o_count, k, Eigen::OuterStride<>(c_count * k)) +=
        detail::ConstRowBlock<T>(taps + c * o_count, k, o_count, Eigen::OuterStride<>(c_count * o_count)).transpose();
}

namespace detail {
// Calls move(image_offset, phase_offset) for every element of an image
// [N, C, H, W] and its phase-split pixel-major form, in blocks of 16
// channels so that both sides are read and written a cache line at a time.
template <class Move>
void for_each_phase_element(Index batch, Index channels, Index height, Index width, Index stride, Move move) {
  TapGeometry t;
  t.conv = ConvGeometry::of(batch, channels, height, width, 1, 1, stride, 0);
  const Index plane = height * width;
#pragma omp parallel for schedule(static) if (batch * channels * plane > kParallelGrain)
  for (Index n = 0; n < batch; ++n)
    for (Index c0 = 0; c0 < channels; c0 += 16) {
      const Index c1 = std::min(channels, c0 + 16);
      for (Index y = 0; y < height; ++y)
        for (Index x = 0; x < width; ++x) {
          const Index image = n * channels * plane + y * width + x;
          const Index phase = (phase_pixel(t, y, x) * batch + n) * channels;
          for (Index c = c0; c < c1; ++c) move(image + c * plane, phase + c);
        }
    }
}
}  // namespace detail

// NCHW image [N, C, H, W] -> phase-split pixel-major [s, s, H/s, W/s, N, C].
// With stride 1 this is plain [H, W, N, C]. Phase pixels past the image's
// edge are never read, so they are left as they are.
template <class T>
void to_phases(const T* image, Index batch, Index channels, Index height, Index width,
               Index stride, T* phases) {
  detail::for_each_phase_element(batch, channels, height, width, stride,
                                 [&](Index i, Index p) { phases[p] = image[i]; });
}

// The inverse: image [N, C, H, W] = phases, or += with accumulate.
template <class T>
void from_phases(const T* phases, Index batch, Index channels, Index height, Index width,
                 Index stride, T* image, bool accumulate) {
  if (accumulate)
    detail::for_each_phase_element(batch, channels, height, width, stride,
                                   [&](Index i, Index p) { image[i] += phases[p]; });
  else
    detail::for_each_phase_element(batch, channels, height, width, stride,
                                   [&](Index i, Index p) { image[i] = phases[p]; });
}

// out [OH, OW, N, OC] = conv(input phases, taps).
template <class T>
void tap_conv_forward(const T* input, const T* taps, const TapGeometry& t, T* out) {
  const Index n = t.conv.batch, c = t.in_channels(), o = t.out_channels;
  std::fill(out, out + t.output_size(), T(0));
  detail::for_column_slices(o, detail::tap_work(t), [&](Index begin, Index end) {
    detail::for_each_tap_run(t, [&](Index tap, Index in_pixel, Index out_pixel, Index run) {
      detail::ConstRowBlock<T> x(input + in_pixel * n * c, run * n, c, Eigen::OuterStride<>(c));
      detail::ConstRowBlock<T> w(taps + tap * c * o + begin, c, end - begin, Eigen::OuterStride<>(o));
      detail::RowBlock<T> y(out + out_pixel * n * o + begin, run * n, end - begin, Eigen::OuterStride<>(o));
      y.noalias() += x * w;
    });
  });
}

// input phases = (the gradient of the forward with respect to its input) of
// out [OH, OW, N, OC]; the transposed convolution.
template <class T>
void tap_conv_input_grad(const T* out, const T* taps, const TapGeometry& t, T* input) {
  const Index n = t.conv.batch, c = t.in_channels(), o = t.out_channels;
  std::fill(input, input + t.input_size(), T(0));
  detail::for_column_slices(c, detail::tap_work(t), [&](Index begin, Index end) {
    detail::for_each_tap_run(t, [&](Index tap, Index in_pixel, Index out_pixel, Index run) {
      detail::ConstRowBlock<T> dy(out + out_pixel * n * o, run * n, o, Eigen::OuterStride<>(o));
      detail::ConstRowBlock<T> w(taps + (tap * c + begin) * o, end - begin, o, Eigen::OuterStride<>(o));
      detail::RowBlock<T> dx(input + in_pixel * n * c + begin, run * n, end - begin, Eigen::OuterStride<>(c));
      dx.noalias() += dy * w.transpose();
    });
  });
}

// taps [kh*kw, C, OC] = the weight gradient, from input phases and out [OH, OW, N, OC].
template <class T>
void tap_conv_weight_grad(const T* input, const T* out, const TapGeometry& t, T* taps) {
  const Index n = t.conv.batch, c = t.in_channels(), o = t.out_channels;
  std::fill(taps, taps + t.taps() * c * o, T(0));
  detail::for_column_slices(o, detail::tap_work(t), [&](Index begin, Index end) {
    detail::for_each_tap_run(t, [&](Index tap, Index in_pixel, Index out_pixel, Index run) {
      detail::ConstRowBlock<T> x(input + in_pixel * n * c, run * n, c, Eigen::OuterStride<>(c));
      detail::ConstRowBlock<T> dy(out + out_pixel * n * o + begin, run * n, end - begin, Eigen::OuterStride<>(o));
      detail::RowBlock<T> dw(taps + tap * c * o + begin, c, end - begin, Eigen::OuterStride<>(o));
      dw.noalias() += x.transpose() * dy;
    });
  });
}

}  // namespace tinygan
