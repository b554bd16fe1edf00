/// \file
/// The lowering that turns convolutions into one GEMM over the whole batch.
///
/// Columns are laid out [C*kh*kw, N*OH*OW]: row (c, i, j) holds, for every
/// sample and output position, the input pixel under kernel tap (i, j) of
/// channel c (zero in the padding). A convolution is then W[OC, C*kh*kw] times
/// the columns; its transpose is col2im of W^T times the input.
#pragma once

#include <algorithm>

#include "tinygan/core/tensor.hpp"
#include "tinygan/core/threads.hpp"

namespace tinygan {

struct ConvGeometry {
  Index batch = 0, channels = 0, height = 0, width = 0;  // the image side
  Index kernel_h = 0, kernel_w = 0, stride = 1, padding = 0;
  Index out_h = 0, out_w = 0;  // the column side

  /// Callers check that the kernel fits the padded image (fits()) before using it.
  static ConvGeometry of(Index batch, Index channels, Index height, Index width, Index kernel_h,
                         Index kernel_w, Index stride, Index padding) {
    ConvGeometry g{batch, channels, height, width, kernel_h, kernel_w, stride, padding, 0, 0};
    g.out_h = (height + 2 * padding - kernel_h) / stride + 1;
    g.out_w = (width + 2 * padding - kernel_w) / stride + 1;
    return g;
  }
  bool fits() const { return height + 2 * padding >= kernel_h && width + 2 * padding >= kernel_w; }
  Index rows() const { return channels * kernel_h * kernel_w; }
  Index cols() const { return batch * out_h * out_w; }
  Index out_plane() const { return out_h * out_w; }
  Index plane() const { return height * width; }
};

/// The output columns [lo, hi) whose input column ow * stride - padding + kj
/// falls inside the image: the rest read the zero padding.
inline void valid_range(Index out_w, Index width, Index stride, Index padding, Index kj, Index& lo, Index& hi) {
  // iw = ow * stride - padding + kj must satisfy 0 <= iw < width.
  const Index first = padding - kj;  // ow * stride >= first
  lo = first <= 0 ? 0 : (first + stride - 1) / stride;
  const Index last = width - 1 + padding - kj;  // ow * stride <= last
  hi = last < 0 ? 0 : std::min(out_w, last / stride + 1);
  lo = std::min(lo, hi);
}

/// cols [rows, cols] = im2col(image [N, C, H, W]).
template <class T>
void im2col(const T* image, const ConvGeometry& g, T* cols) {
  const Index taps = g.kernel_h * g.kernel_w;
#pragma omp parallel for schedule(static) if (g.rows() * g.cols() > kParallelGrain)
  for (Index r = 0; r < g.rows(); ++r) {
    const Index c = r / taps, ki = (r % taps) / g.kernel_w, kj = r % g.kernel_w;
    Index lo, hi;
    valid_range(g.out_w, g.width, g.stride, g.padding, kj, lo, hi);
    const Index offset = kj - g.padding;  // iw = ow * stride + offset
    T* row = cols + r * g.cols();
    for (Index n = 0; n < g.batch; ++n) {
      const T* plane = image + (n * g.channels + c) * g.plane();
      for (Index oh = 0; oh < g.out_h; ++oh, row += g.out_w) {
        const Index ih = oh * g.stride - g.padding + ki;
        if (ih < 0 || ih >= g.height) {
          std::fill(row, row + g.out_w, T(0));
          continue;
        }
        const T* line = plane + ih * g.width + offset;
        std::fill(row, row + lo, T(0));
        if (g.stride == 1)
          std::copy(line + lo, line + hi, row + lo);
        else
          for (Index ow = lo; ow < hi; ++ow) row[ow] = line[ow * g.stride];
        std::fill(row + hi, row + g.out_w, T(0));
      }
    }
  }
}

/// image [N, C, H, W] += col2im(cols): every column entry is added back to the
/// pixel it was taken from. Each thread owns whole channels, so the sums run
/// in a fixed order whatever the thread count.
template <class T>
void col2im_add(const T* cols, const ConvGeometry& g, T* image) {
  const Index taps = g.kernel_h * g.kernel_w;
#pragma omp parallel for schedule(static) if (g.rows() * g.cols() > kParallelGrain)
  for (Index c = 0; c < g.channels; ++c) {
    for (Index tap = 0; tap < taps; ++tap) {
      const Index ki = tap / g.kernel_w, kj = tap % g.kernel_w;
      Index lo, hi;
      valid_range(g.out_w, g.width, g.stride, g.padding, kj, lo, hi);
      const Index offset = kj - g.padding;
      const T* row = cols + (c * taps + tap) * g.cols();
      for (Index n = 0; n < g.batch; ++n) {
        T* plane = image + (n * g.channels + c) * g.plane();
        for (Index oh = 0; oh < g.out_h; ++oh, row += g.out_w) {
          const Index ih = oh * g.stride - g.padding + ki;
          if (ih < 0 || ih >= g.height) continue;
          T* line = plane + ih * g.width + offset;
          if (g.stride == 1) {
#pragma omp simd
            for (Index ow = lo; ow < hi; ++ow) line[ow] += row[ow];
          } else {
            for (Index ow = lo; ow < hi; ++ow) line[ow * g.stride] += row[ow];
          }
        }
      }
    }
  }
}

/// [N, C, S] <-> [C, N*S]: GEMMs over the whole batch want channels outermost.
template <class T>
void batch_to_channel_major(const T* src, Index batch, Index channels, Index plane, T* dst) {
#pragma omp parallel for schedule(static) if (batch * channels * plane > kParallelGrain)
  for (Index c = 0; c < channels; ++c)
    for (Index n = 0; n < batch; ++n)
      std::copy_n(src + (n * channels + c) * plane, plane, dst + (c * batch + n) * plane);
}

template <class T>
void channel_major_to_batch_add(const T* src, Index batch, Index channels, Index plane, T* dst) {
#pragma omp parallel for schedule(static) if (batch * channels * plane > kParallelGrain)
  for (Index c = 0; c < channels; ++c)
    for (Index n = 0; n < batch; ++n) {
      const T* from = src + (c * batch + n) * plane;
      T* to = dst + (n * channels + c) * plane;
#pragma omp simd
      for (Index s = 0; s < plane; ++s) to[s] += from[s];
    }
}

template <class T>
void channel_major_to_batch(const T* src, Index batch, Index channels, Index plane, T* dst) {
#pragma omp parallel for schedule(static) if (batch * channels * plane > kParallelGrain)
  for (Index c = 0; c < channels; ++c)
    for (Index n = 0; n < batch; ++n)
      std::copy_n(src + (c * batch + n) * plane, plane, dst + (n * channels + c) * plane);
}

/// bias_grad[c] += sum over n, s of grad[n, c, s]; one thread per channel.
template <class T>
void add_channel_sums(const T* grad, Index batch, Index channels, Index plane, T* bias_grad) {
#pragma omp parallel for schedule(static) if (batch * channels * plane > kParallelGrain)
  for (Index c = 0; c < channels; ++c) {
    T total = 0;
    for (Index n = 0; n < batch; ++n) {
      const T* p = grad + (n * channels + c) * plane;
      for (Index s = 0; s < plane; ++s) total += p[s];
    }
    bias_grad[c] += total;
  }
}

template <class T>
void add_channel_bias(T* out, const T* bias, Index batch, Index channels, Index plane) {
#pragma omp parallel for schedule(static) if (batch * channels * plane > kParallelGrain)
  for (Index nc = 0; nc < batch * channels; ++nc) {
    const T b = bias[nc % channels];
    T* p = out + nc * plane;
    for (Index s = 0; s < plane; ++s) p[s] += b;
  }
}

}  // namespace tinygan
