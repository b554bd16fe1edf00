/// \file
/// Stride-1 5x5 convolution by Winograd's minimal filtering F(4x4, 5x5): each
/// 4x4 block of output comes from an 8x8 tile of input through 64 products
/// where the direct convolution takes 400 (Lavin & Gray, "Fast Algorithms for
/// Convolutional Neural Networks", 2016). On the DCGAN's 256->128 layer over
/// 7x7 (covered by 2x2 tiles, 8x8 of output) that is 3.3x fewer
/// multiply-adds than the direct products over the image's pixels alone.
///
/// For each tile position xi of the 8x8 transform domain the layer is one
/// product over channels, M[xi] (tiles x O) = V[xi] (tiles x C) U[xi] (C x O):
///   U = G w G^T       (the kernel, 5x5 -> 8x8; one GEMM for all kernels),
///   V = B^T d B       (each input tile, 8x8 -> 8x8),
///   y = A^T M A       (each output tile, 8x8 -> 4x4).
/// The backward runs the adjoints of these linear maps, so its gradients are
/// exactly those of the function computed: dM = A dy A^T, dU[xi] = V[xi]^T
/// dM[xi], dV[xi] = dM[xi] U[xi]^T, dd = B dV B^T (added where tiles overlap),
/// dw = G^T dU G.
///
/// Images are pixel-major [H, W, N, C] (tap_conv.hpp's PixelLayout, stride 1)
/// so the transforms work on whole channel vectors. Transform matrices come
/// from the points 0, +-1, +-2, +-1/2 and infinity; in float the result is
/// within about 1e-5 of the direct convolution's, relative to its largest
/// value (the direct sum itself is within about 5e-7).
#pragma once

#include <algorithm>

#include "tinygan/core/gemm.hpp"
#include "tinygan/core/tensor.hpp"
#include "tinygan/core/threads.hpp"
#include "tinygan/ops/tap_conv.hpp"

namespace tinygan {

namespace winograd {
constexpr int kOut = 4, kKernel = 5, kTile = 8, kPoints = kTile * kTile;

constexpr double kAT[kOut][kTile] = {
    {1, 1, 1, 1, 1, 1, 1, 0},
    {0, 1, -1, 2, -2, 0.5, -0.5, 0},
    {0, 1, 1, 4, 4, 0.25, 0.25, 0},
    {0, 1, -1, 8, -8, 0.125, -0.125, 1},
};
constexpr double kG[kTile][kKernel] = {
    {-1, 0, 0, 0, 0},
    {-2. / 9, -2. / 9, -2. / 9, -2. / 9, -2. / 9},
    {-2. / 9, 2. / 9, -2. / 9, 2. / 9, -2. / 9},
    {1. / 90, 1. / 45, 2. / 45, 4. / 45, 8. / 45},
    {1. / 90, -1. / 45, 2. / 45, -4. / 45, 8. / 45},
    {32. / 45, 16. / 45, 8. / 45, 4. / 45, 2. / 45},
    {32. / 45, -16. / 45, 8. / 45, -4. / 45, 2. / 45},
    {0, 0, 0, 0, 1},
};
constexpr double kBT[kTile][kTile] = {
    {-1, 0, 21. / 4, 0, -21. / 4, 0, 1, 0},
    {0, 1, 1, -17. / 4, -17. / 4, 1, 1, 0},
    {0, -1, 1, 17. / 4, -17. / 4, -1, 1, 0},
    {0, 0.5, 0.25, -5. / 2, -5. / 4, 2, 1, 0},
    {0, -0.5, 0.25, 5. / 2, -5. / 4, -2, 1, 0},
    {0, 2, 4, -5. / 2, -5, 0.5, 1, 0},
    {0, -2, 4, 5. / 2, -5, -0.5, 1, 0},
    {0, -1, 0, 21. / 4, 0, -21. / 4, 0, 1},
};

/// A P x Q matrix of T, from a table or from the transpose of one.
template <class T, int P, int Q>
struct Coefficients {
  T at[P][Q];
  template <int R, int S>
  static Coefficients of(const double (&m)[R][S], bool transposed) {
    Coefficients c{};
    for (int p = 0; p < P; ++p)
      for (int q = 0; q < Q; ++q) c.at[p][q] = static_cast<T>(transposed ? m[q][p] : m[p][q]);
    return c;
  }
};

/// out(p, q)[c] (+)= sum over u, v of L[p][u] L[q][v] in(u, v)[c] for c < width:
/// a 2-d transform applied on both sides of a Q x Q grid of channel vectors.
/// in(u, v) is null where the grid meets zero padding; out(p, q) null where
/// nothing is to be written.
template <int P, int Q, class T, class In, class Out>
void separable(const Coefficients<T, P, Q>& L, Index width, In in, Out out, Accumulate accumulate) {
  constexpr Index kBlock = 64;
  alignas(64) T mid[P][Q][kBlock];
  for (Index c0 = 0; c0 < width; c0 += kBlock) {
    const Index n = std::min(kBlock, width - c0);
    for (int p = 0; p < P; ++p)
      for (int v = 0; v < Q; ++v) std::fill_n(mid[p][v], n, T(0));
    for (int u = 0; u < Q; ++u)
      for (int v = 0; v < Q; ++v) {
        const T* src = in(u, v);
        if (!src) continue;
        src += c0;
        for (int p = 0; p < P; ++p) {
          const T l = L.at[p][u];
          if (l == T(0)) continue;
          T* m = mid[p][v];
#pragma omp simd
          for (Index c = 0; c < n; ++c) m[c] += l * src[c];
        }
      }
    for (int p = 0; p < P; ++p)
      for (int q = 0; q < P; ++q) {
        T* dst = out(p, q);
        if (!dst) continue;
        dst += c0;
        const bool add = accumulate == Accumulate::yes;
#pragma omp simd
        for (Index c = 0; c < n; ++c) {
          T s = add ? dst[c] : T(0);
          for (int v = 0; v < Q; ++v) s += L.at[q][v] * mid[p][v][c];
          dst[c] = s;
        }
      }
  }
}

/// kron(G, G) with its kernel taps reversed, [25, 64]: row 24 - (5i + j),
/// column 8a + b holds G[a][i] G[b][j]. A transposed convolution's weight is
/// the flipped kernel of the convolution that computes it.
template <class T>
const Eigen::Matrix<T, kKernel * kKernel, kPoints>& flipped_kernel_transform() {
  static const auto matrix = [] {
    Eigen::Matrix<T, kKernel * kKernel, kPoints> m;
    for (int i = 0; i < kKernel; ++i)
      for (int j = 0; j < kKernel; ++j)
        for (int a = 0; a < kTile; ++a)
          for (int b = 0; b < kTile; ++b)
            m(kKernel * kKernel - 1 - (i * kKernel + j), a * kTile + b) = static_cast<T>(kG[a][i] * kG[b][j]);
    return m;
  }();
  return matrix;
}
}  // namespace winograd

/// A stride-1 5x5 correlation with zero padding from C channels [H, W] to O
/// channels [H + 2p - 4, W + 2p - 4], cut into 4x4 output tiles.
struct WinogradGeometry {
  Index batch = 0, channels = 0, out_channels = 0, height = 0, width = 0, padding = 0;

  /// For a 5x5 stride-1 correlation padded by 0 to 4 (the transforms
  /// assume each tile's input starts at most 4 before the image), worth it
  /// with enough channels on both sides for the products to outweigh the
  /// transforms.
  static bool applies(Index kernel_h, Index kernel_w, Index stride, Index padding, Index channels,
                      Index out_channels) {
    return kernel_h == winograd::kKernel && kernel_w == winograd::kKernel && stride == 1 && padding >= 0 &&
           padding < winograd::kKernel && channels >= 16 && out_channels >= 16;
  }
  Index out_h() const { return height + 2 * padding - (winograd::kKernel - 1); }
  Index out_w() const { return width + 2 * padding - (winograd::kKernel - 1); }
  Index tiles_h() const { return (out_h() + winograd::kOut - 1) / winograd::kOut; }
  Index tiles_w() const { return (out_w() + winograd::kOut - 1) / winograd::kOut; }
  Index sample_tiles() const { return tiles_h() * tiles_w(); }
  Index tiles() const { return batch * sample_tiles(); }
  PixelLayout input() const { return {batch, channels, height, width, 1, 1}; }
  PixelLayout output() const { return {batch, out_channels, out_h(), out_w(), 1, 1}; }
  /// Sizes of U [64, C, O] and of V or M [64, tiles, C or O].
  Index kernel_size() const { return winograd::kPoints * channels * out_channels; }
  Index input_tiles_size() const { return winograd::kPoints * tiles() * channels; }
  Index output_tiles_size() const { return winograd::kPoints * tiles() * out_channels; }
};

namespace detail {
/// Runs body(n, tile, ty, tx) for every tile, one contiguous share of the samples per thread.
template <class Body>
void for_each_tile(const WinogradGeometry& g, Body body) {
  const double work = static_cast<double>(g.tiles()) * static_cast<double>(g.channels + g.out_channels);
#pragma omp parallel for schedule(static) num_threads(num_threads()) if (work * winograd::kPoints > kParallelGrain)
  for (Index n = 0; n < g.batch; ++n)
    for (Index ty = 0; ty < g.tiles_h(); ++ty)
      for (Index tx = 0; tx < g.tiles_w(); ++tx) body(n, n * g.sample_tiles() + ty * g.tiles_w() + tx, ty, tx);
}

/// Runs body(xi) for the 64 points of the transform domain, shared out over the threads.
template <class Body>
void for_each_point(Body body) {
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int xi = 0; xi < winograd::kPoints; ++xi) body(xi);
}

template <class T>
using PointMatrix = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
template <class T>
using ConstPointMatrix = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

/// Pointer to channel vector (y, x) of sample n in a pixel-major image, or null outside it.
template <class T>
T* pixel_at(T* image, const PixelLayout& layout, Index n, Index y, Index x) {
  if (y < 0 || y >= layout.height || x < 0 || x >= layout.width) return nullptr;
  return image + layout.pixel_offset(y, x, layout.batch) + n * layout.channels;
}
}  // namespace detail

/// u [64, C, O] from a transposed convolution's weight [C, O, 5, 5] (the
/// correlation it computes has the flipped kernel).
template <class T>
void winograd_kernels_of_transposed(const T* weight, const WinogradGeometry& g, T* u) {
  const Index pairs = g.channels * g.out_channels;
  gemm(Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>>(u, pairs, winograd::kPoints),
       detail::ConstPointMatrix<T>(weight, pairs, winograd::kKernel * winograd::kKernel),
       winograd::flipped_kernel_transform<T>());
}

/// weight [C, O, 5, 5] += the gradient that du [64, C, O] gives it.
template <class T>
void winograd_kernel_grad_of_transposed(const T* du, const WinogradGeometry& g, T* weight) {
  const Index pairs = g.channels * g.out_channels;
  gemm(detail::PointMatrix<T>(weight, pairs, winograd::kKernel * winograd::kKernel),
       Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>>(du, pairs, winograd::kPoints),
       winograd::flipped_kernel_transform<T>().transpose(), Accumulate::yes);
}

/// out (g.output()) = the correlation of input (g.input()) with the kernels u;
/// v [64, tiles, C] keeps the input's tiles for the backward.
template <class T>
void winograd_forward(const T* input, const T* u, const WinogradGeometry& g, T* v, T* out) {
  using namespace winograd;
  const Index c_count = g.channels, o_count = g.out_channels, tiles = g.tiles();
  static const auto bt = Coefficients<T, kTile, kTile>::of(kBT, false);
  static const auto at = Coefficients<T, kOut, kTile>::of(kAT, false);
  const PixelLayout in = g.input(), o = g.output();
  detail::for_each_tile(g, [&](Index n, Index t, Index ty, Index tx) {
    separable(
        bt, c_count,
        [&](int y, int x) { return detail::pixel_at(input, in, n, ty * kOut - g.padding + y, tx * kOut - g.padding + x); },
        [&](int a, int b) { return v + ((a * kTile + b) * tiles + t) * c_count; }, Accumulate::no);
  });
  Tensor<T> m = Tensor<T>::uninitialized(Shape{g.output_tiles_size()});
  detail::for_each_point([&](int xi) {
    detail::PointMatrix<T>(m.data() + xi * tiles * o_count, tiles, o_count).noalias() =
        detail::ConstPointMatrix<T>(v + xi * tiles * c_count, tiles, c_count) *
        detail::ConstPointMatrix<T>(u + xi * c_count * o_count, c_count, o_count);
  });
  detail::for_each_tile(g, [&](Index n, Index t, Index ty, Index tx) {
    separable(
        at, o_count, [&](int a, int b) -> const T* { return m.data() + ((a * kTile + b) * tiles + t) * o_count; },
        [&](int y, int x) { return detail::pixel_at(out, o, n, ty * kOut + y, tx * kOut + x); }, Accumulate::no);
  });
}

/// From dout (g.output()): du [64, C, O] = the kernels' gradient (when du is
/// not null) and dinput (g.input()) = the input's (when not null).
template <class T>
void winograd_backward(const T* dout, const T* u, const T* v, const WinogradGeometry& g, T* du, T* dinput) {
  using namespace winograd;
  const Index c_count = g.channels, o_count = g.out_channels, tiles = g.tiles();
  static const auto a = Coefficients<T, kTile, kOut>::of(kAT, true);
  static const auto b = Coefficients<T, kTile, kTile>::of(kBT, true);
  const PixelLayout in = g.input(), o = g.output();
  Tensor<T> dm = Tensor<T>::uninitialized(Shape{g.output_tiles_size()});
  detail::for_each_tile(g, [&](Index n, Index t, Index ty, Index tx) {
    separable(
        a, o_count, [&](int y, int x) { return detail::pixel_at(dout, o, n, ty * kOut + y, tx * kOut + x); },
        [&](int p, int q) { return dm.data() + ((p * kTile + q) * tiles + t) * o_count; }, Accumulate::no);
  });
  Tensor<T> dv = Tensor<T>::uninitialized(Shape{dinput ? g.input_tiles_size() : 0});
  detail::for_each_point([&](int xi) {
    const detail::ConstPointMatrix<T> dm_xi(dm.data() + xi * tiles * o_count, tiles, o_count);
    if (du)
      detail::PointMatrix<T>(du + xi * c_count * o_count, c_count, o_count).noalias() =
          detail::ConstPointMatrix<T>(v + xi * tiles * c_count, tiles, c_count).transpose() * dm_xi;
    if (dinput)
      detail::PointMatrix<T>(dv.data() + xi * tiles * c_count, tiles, c_count).noalias() =
          dm_xi * detail::ConstPointMatrix<T>(u + xi * c_count * o_count, c_count, o_count).transpose();
  });
  if (!dinput) return;
  // Tiles overlap by 4 pixels: each thread adds only into its own samples.
  for_each_share(in.size(), [&](Index begin, Index length) { std::fill_n(dinput + begin, length, T(0)); });
  detail::for_each_tile(g, [&](Index n, Index t, Index ty, Index tx) {
    separable(
        b, c_count, [&](int p, int q) -> const T* { return dv.data() + ((p * kTile + q) * tiles + t) * c_count; },
        [&](int y, int x) { return detail::pixel_at(dinput, in, n, ty * kOut - g.padding + y, tx * kOut - g.padding + x); },
        Accumulate::yes);
  });
}

}  // namespace tinygan
