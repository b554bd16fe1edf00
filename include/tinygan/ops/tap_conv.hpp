/// \file
/// Convolution as one small GEMM per kernel tap, with no im2col buffer and no
/// work on the zero padding.
///
/// Images are laid out [H, W, N, C] ("pixel-major"): one pixel of the whole
/// batch is a contiguous [N, C] block, and a run of pixels along a row is a
/// contiguous [pixels * N, C] matrix. For stride s the input is split into its
/// s x s phases (rows and columns of equal remainder mod s), [s, s, H/s, W/s,
/// N, C], so that the pixels one tap reads along an output row are again a
/// contiguous run. Tap (i, j) then adds, for each output row, one product
/// [run * N, C] x [C, OC] over exactly the pixels where it meets the image:
/// the taps that would read padding are never computed (31% of the DCGAN's
/// largest layer).
///
/// With several threads the batch is cut into one group of samples per
/// thread, each group stored as its own image block in the layout above, and
/// each thread runs the whole convolution of its group: no thread waits for
/// another inside a pass, and every product keeps its full width. The weight
/// gradient is summed over the groups in a fixed order.
///
/// The three kernels are the three products of a convolution: forward,
/// input gradient (which is also the transposed convolution's forward) and
/// weight gradient.
#pragma once

#include <algorithm>

#include "tinygan/core/tensor.hpp"
#include "tinygan/core/threads.hpp"
#include "tinygan/ops/im2col.hpp"

namespace tinygan {

/// One side of a convolution in the layout above: `groups` blocks of
/// [s, s, ceil(H/s), ceil(W/s), samples of the group, C].
struct PixelLayout {
  Index batch = 0, channels = 0, height = 0, width = 0, stride = 1;
  int groups = 1;

  Index phase_h() const { return (height + stride - 1) / stride; }
  Index phase_w() const { return (width + stride - 1) / stride; }
  Index sample_size() const { return stride * stride * phase_h() * phase_w() * channels; }
  Index size() const { return batch * sample_size(); }
  /// Group g holds samples [first(g), first(g + 1)) from element first(g) * sample_size() on.
  Index first(int g) const { return batch * g / groups; }
  /// Offset of pixel (y, x) within a group of `samples` samples, in elements.
  Index pixel_offset(Index y, Index x, Index samples) const {
    return ((((y % stride) * stride + x % stride) * phase_h() + y / stride) * phase_w() + x / stride) *
           samples * channels;
  }
};

/// A convolution from conv.channels x [height, width] to out_channels x
/// [out_h, out_w].
struct TapGeometry {
  ConvGeometry conv;
  Index out_channels = 0;
  int groups = 1;

  static TapGeometry of(const ConvGeometry& conv, Index out_channels) {
    TapGeometry t{conv, out_channels, 1};
    const double work = static_cast<double>(conv.batch * conv.out_h * conv.out_w * out_channels) *
                        static_cast<double>(conv.kernel_h * conv.kernel_w * conv.channels);
    if (work >= (1 << 22)) t.groups = static_cast<int>(std::clamp<Index>(conv.batch, 1, num_threads()));
    return t;
  }
  Index in_channels() const { return conv.channels; }
  Index taps() const { return conv.kernel_h * conv.kernel_w; }
  PixelLayout input() const {
    return {conv.batch, conv.channels, conv.height, conv.width, conv.stride, groups};
  }
  PixelLayout output() const { return {conv.batch, out_channels, conv.out_h, conv.out_w, 1, groups}; }
  /// The products are worth it only when both sides have some channels.
  bool worthwhile() const { return in_channels() >= 8 && out_channels >= 8; }
  /// The same convolution over group g's samples alone.
  TapGeometry group(int g) const {
    TapGeometry t = *this;
    t.conv.batch = input().first(g + 1) - input().first(g);
    t.groups = 1;
    return t;
  }
};

namespace detail {
/// Calls visit(tap, input_offset, output_offset, run) for every tap and
/// output row of one group: `run` output pixels from output_offset on meet
/// `run` consecutive input pixels from input_offset (offsets in elements).
template <class Visit>
void for_each_tap_run(const TapGeometry& t, Visit visit) {
  const ConvGeometry& g = t.conv;
  const PixelLayout in = t.input();
  for (Index ki = 0; ki < g.kernel_h; ++ki)
    for (Index kj = 0; kj < g.kernel_w; ++kj) {
      Index lo, hi;
      valid_range(g.out_w, g.width, g.stride, g.padding, kj, lo, hi);
      if (lo >= hi) continue;
      for (Index oh = 0; oh < g.out_h; ++oh) {
        const Index ih = oh * g.stride - g.padding + ki;
        if (ih < 0 || ih >= g.height) continue;
        const Index iw = lo * g.stride - g.padding + kj;
        visit(ki * g.kernel_w + kj, in.pixel_offset(ih, iw, g.batch),
              (oh * g.out_w + lo) * g.batch * t.out_channels, hi - lo);
      }
    }
}

/// Runs body(group geometry, input offset, output offset) for each group, one per thread.
template <class Body>
void for_each_group(const TapGeometry& t, Body body) {
  const PixelLayout in = t.input(), out = t.output();
#pragma omp parallel for schedule(static) num_threads(t.groups) if (t.groups > 1)
  for (int g = 0; g < t.groups; ++g)
    body(g, t.group(g), in.first(g) * in.sample_size(), out.first(g) * out.sample_size());
}

template <class T>
using RowBlock = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0,
                            Eigen::OuterStride<>>;
template <class T>
using ConstRowBlock = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>,
                                 0, Eigen::OuterStride<>>;

/// Calls move(image_offset, pixel_offset) for every element of an image
/// [N, C, H, W] and its pixel-major form, in blocks of 16 channels so that
/// both sides are read and written a cache line at a time.
template <class Move>
void for_each_pixel_element(const PixelLayout& layout, Move move) {
  const Index plane = layout.height * layout.width, channels = layout.channels;
#pragma omp parallel for schedule(static) if (layout.size() > kParallelGrain)
  for (Index n = 0; n < layout.batch; ++n) {
    int g = 0;
    while (layout.first(g + 1) <= n) ++g;
    const Index first = layout.first(g), samples = layout.first(g + 1) - first;
    const Index base = first * layout.sample_size() + (n - first) * channels;
    for (Index c0 = 0; c0 < channels; c0 += 16) {
      const Index c1 = std::min(channels, c0 + 16);
      for (Index y = 0; y < layout.height; ++y)
        for (Index x = 0; x < layout.width; ++x) {
          const Index image = n * channels * plane + y * layout.width + x;
          const Index pixel = base + layout.pixel_offset(y, x, samples);
          for (Index c = c0; c < c1; ++c) move(image + c * plane, pixel + c);
        }
    }
  }
}
}  // namespace detail

/// taps [kh*kw, C, OC] from a weight [OC, C, kh, kw] (conv2d's layout, and
/// conv_transpose2d's [IC, OC, kh, kw] read as the convolution it transposes):
/// for each channel c, the [OC, kh*kw] slice is transposed into [kh*kw, OC].
template <class T>
void pack_taps(const T* weight, const TapGeometry& t, T* taps) {
  const Index c_count = t.in_channels(), o_count = t.out_channels, k = t.taps();
  for (Index c = 0; c < c_count; ++c)
    detail::RowBlock<T>(taps + c * o_count, k, o_count, Eigen::OuterStride<>(c_count * o_count)) =
        detail::ConstRowBlock<T>(weight + c * k, o_count, k, Eigen::OuterStride<>(c_count * k)).transpose();
}

/// weight [OC, C, kh, kw] += taps [kh*kw, C, OC].
template <class T>
void unpack_taps_add(const T* taps, const TapGeometry& t, T* weight) {
  const Index c_count = t.in_channels(), o_count = t.out_channels, k = t.taps();
  for (Index c = 0; c < c_count; ++c)
    detail::RowBlock<T>(weight + c * k, o_count, k, Eigen::OuterStride<>(c_count * k)) +=
        detail::ConstRowBlock<T>(taps + c * o_count, k, o_count, Eigen::OuterStride<>(c_count * o_count)).transpose();
}

/// image [N, C, H, W] -> pixel-major. Phase pixels past the image's edge are
/// never read, so they are left as they are.
template <class T>
void to_pixels(const T* image, const PixelLayout& layout, T* pixels) {
  detail::for_each_pixel_element(layout, [&](Index i, Index p) { pixels[p] = image[i]; });
}

/// The inverse: image [N, C, H, W] = pixels, or += with accumulate.
template <class T>
void from_pixels(const T* pixels, const PixelLayout& layout, T* image, bool accumulate) {
  if (accumulate)
    detail::for_each_pixel_element(layout, [&](Index i, Index p) { image[i] += pixels[p]; });
  else
    detail::for_each_pixel_element(layout, [&](Index i, Index p) { image[i] = pixels[p]; });
}

/// out (t.output()) = conv(input (t.input()), taps).
template <class T>
void tap_conv_forward(const T* input, const T* taps, const TapGeometry& t, T* out) {
  const Index c = t.in_channels(), o = t.out_channels;
  detail::for_each_group(t, [&](int, const TapGeometry& tg, Index in_at, Index out_at) {
    const Index n = tg.conv.batch;
    std::fill_n(out + out_at, tg.output().size(), T(0));
    detail::for_each_tap_run(tg, [&](Index tap, Index in_offset, Index out_offset, Index run) {
      detail::ConstRowBlock<T> x(input + in_at + in_offset, run * n, c, Eigen::OuterStride<>(c));
      detail::ConstRowBlock<T> w(taps + tap * c * o, c, o, Eigen::OuterStride<>(o));
      detail::RowBlock<T> y(out + out_at + out_offset, run * n, o, Eigen::OuterStride<>(o));
      y.noalias() += x * w;
    });
  });
}

/// input (t.input()) = the forward's gradient with respect to its input, from
/// out (t.output()); this is the transposed convolution.
template <class T>
void tap_conv_input_grad(const T* out, const T* taps, const TapGeometry& t, T* input) {
  const Index c = t.in_channels(), o = t.out_channels;
  detail::for_each_group(t, [&](int, const TapGeometry& tg, Index in_at, Index out_at) {
    const Index n = tg.conv.batch;
    std::fill_n(input + in_at, tg.input().size(), T(0));
    detail::for_each_tap_run(tg, [&](Index tap, Index in_offset, Index out_offset, Index run) {
      detail::ConstRowBlock<T> dy(out + out_at + out_offset, run * n, o, Eigen::OuterStride<>(o));
      detail::ConstRowBlock<T> w(taps + tap * c * o, c, o, Eigen::OuterStride<>(o));
      detail::RowBlock<T> dx(input + in_at + in_offset, run * n, c, Eigen::OuterStride<>(c));
      dx.noalias() += dy * w.transpose();
    });
  });
}

/// taps [kh*kw, C, OC] = the weight gradient, from input (t.input()) and
/// out (t.output()). `scratch` holds (groups - 1) more tap sets.
template <class T>
void tap_conv_weight_grad(const T* input, const T* out, const TapGeometry& t, T* taps, T* scratch) {
  const Index c = t.in_channels(), o = t.out_channels, size = t.taps() * c * o;
  detail::for_each_group(t, [&](int g, const TapGeometry& tg, Index in_at, Index out_at) {
    const Index n = tg.conv.batch;
    T* sums = g == 0 ? taps : scratch + (g - 1) * size;
    std::fill_n(sums, size, T(0));
    detail::for_each_tap_run(tg, [&](Index tap, Index in_offset, Index out_offset, Index run) {
      detail::ConstRowBlock<T> x(input + in_at + in_offset, run * n, c, Eigen::OuterStride<>(c));
      detail::ConstRowBlock<T> dy(out + out_at + out_offset, run * n, o, Eigen::OuterStride<>(o));
      detail::RowBlock<T> dw(sums + tap * c * o, c, o, Eigen::OuterStride<>(o));
      dw.noalias() += x.transpose() * dy;
    });
  });
  for (int g = 1; g < t.groups; ++g) {
    const T* part = scratch + (g - 1) * size;
#pragma omp parallel for simd schedule(static) if (size > kParallelGrain)
    for (Index i = 0; i < size; ++i) taps[i] += part[i];
  }
}

}  // namespace tinygan
