/// \file
/// batch_norm over the channel axis 1 of x [N, C] or [N, C, H, W].
///
/// Conventions follow PyTorch: training normalizes with the batch's biased
/// variance and updates running = (1 - momentum) * running + momentum * batch
/// with the unbiased variance; eval normalizes with the running statistics.
///
/// Synchronized (PyTorch's SyncBatchNorm): given a cross-replica sum, training
/// takes its statistics over the batches of all replicas (data-parallel
/// processes) together, and the backward pass sums its per-channel terms
/// likewise, so that the replicas together compute what one process would on
/// their joint batch.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>

#include "tinygan/autograd/var.hpp"
#include "tinygan/core/threads.hpp"
#include "tinygan/ops/channels.hpp"
#include "tinygan/ops/elementwise.hpp"

namespace tinygan {

/// Sums `count` values over the replicas, in place, on every replica.
using CrossReplicaSum = std::function<void(double* values, Index count)>;

struct BatchNormConfig {
  bool training = true;
  bool update_running = true;  // off for a frozen layer: it still normalizes with batch stats
  double momentum = 0.1;
  double eps = 1e-5;
  /// Synchronized statistics in training (null: this batch's own). Must
  /// outlive the backward pass; every replica must run the same layers.
  const CrossReplicaSum* cross_replica_sum = nullptr;
};

namespace detail {

/// acc[c] = sum of value(i, c) over the offsets i of channel c in [N, C, plane]
/// data. Each channel is summed by one thread in a fixed order, so results do
/// not depend on the thread count.
template <class F>
void sum_per_channel(Index batch, Index channels, Index plane, double* acc, F value) {
  if (plane == 1) {
    // [N, C]: channels are contiguous in a row; sweep the rows, vectorized across channels.
    constexpr Index kChunk = 256;
    const Index chunks = (channels + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (batch * channels > kParallelGrain)
    for (Index k = 0; k < chunks; ++k) {
      const Index c0 = k * kChunk, c1 = std::min(channels, c0 + kChunk);
      std::fill(acc + c0, acc + c1, 0.0);
      for (Index n = 0; n < batch; ++n)
        for (Index c = c0; c < c1; ++c) acc[c] += value(n * channels + c, c);
    }
    return;
  }
#pragma omp parallel for schedule(static) if (batch * channels * plane > kParallelGrain)
  for (Index c = 0; c < channels; ++c) {
    double total = 0;
    for (Index n = 0; n < batch; ++n) {
      const Index off = (n * channels + c) * plane;
      decltype(value(off, c)) part = 0;  // a plane's sum, vectorized; the long sum in double
#pragma omp simd reduction(+ : part)
      for (Index i = 0; i < plane; ++i) part += value(off + i, c);
      total += part;
    }
    acc[c] = total;
  }
}

/// f(i, c) for every offset i of [N, C, plane] data and its channel c.
template <class F>
void for_each_element(Index batch, Index channels, Index plane, F f) {
  if (plane == 1) {
#pragma omp parallel for schedule(static) if (batch * channels > kParallelGrain)
    for (Index n = 0; n < batch; ++n)
#pragma omp simd
      for (Index c = 0; c < channels; ++c) f(n * channels + c, c);
    return;
  }
#pragma omp parallel for schedule(static) if (batch * channels * plane > kParallelGrain)
  for (Index nc = 0; nc < batch * channels; ++nc) {
    const Index c = nc % channels;
#pragma omp simd
    for (Index i = 0; i < plane; ++i) f(nc * plane + i, c);
  }
}

/// batch_norm's backward, on tensors and as a graph. mean and inv_std are
/// the statistics the forward pass normalized with.
template <class T>
struct BatchNormRule {
  Index batch, channels, plane, count;  // count: values per channel over all replicas
  bool training;
  double eps;
  const CrossReplicaSum* sync;
  Tensor<T> mean, inv_std;

  void operator()(Node<T>& self) const {
    const T* xv = self.input_value(0).data();
    const T* gm = self.input_value(1).data();
    const T* dy = self.grad.data();
    const T* mu = mean.data();
    const T* is = inv_std.data();
    Tensor<T>* gx = self.input_grad(0);
    Tensor<T>* gg = self.input_grad(1);
    Tensor<T>* gb = self.input_grad(2);
    // Double sums: long sums of small differences. sums = [sum dy, sum dy (x - mu)].
    const auto nc = static_cast<std::size_t>(channels);
    memory::PooledVector<double> sums(2 * nc);
    double* sum_dy = sums.data();
    double* sum_dy_xc = sums.data() + nc;
    sum_per_channel(batch, channels, plane, sum_dy, [dy](Index i, Index) { return dy[i]; });
    sum_per_channel(batch, channels, plane, sum_dy_xc, [dy, xv, mu](Index i, Index c) { return dy[i] * (xv[i] - mu[c]); });
    // gamma's and beta's gradients are this replica's share (the replicas'
    // gradients are averaged later); x's gradient needs the joint sums.
    for (Index c = 0; c < channels; ++c) {
      const auto ci = static_cast<std::size_t>(c);
      if (gg) (*gg)[c] += static_cast<T>(sum_dy_xc[ci] * is[c]);
      if (gb) (*gb)[c] += static_cast<T>(sum_dy[ci]);
    }
    if (!gx) return;
    if (sync) (*sync)(sums.data(), 2 * channels);
    // Per channel: gx = k * dy - a * xhat - b (training; the batch
    // statistics depend on x too), or k * dy (eval: a fixed affine map).
    Tensor<T> k = Tensor<T>::uninitialized(Shape{channels}), a = k, b = k;
    const T inv_count = T(1) / static_cast<T>(count);
    for (Index c = 0; c < channels; ++c) {
      const auto ci = static_cast<std::size_t>(c);
      const T sdy = static_cast<T>(sum_dy[ci]), sdx = static_cast<T>(sum_dy_xc[ci] * is[c]);
      k[c] = gm[c] * is[c];
      a[c] = training ? k[c] * inv_count * sdx * is[c] : T(0);  // times (x - mu)
      b[c] = training ? k[c] * inv_count * sdy : T(0);
    }
    for_each_element(batch, channels, plane, [g = gx->data(), dy, xv, mu, k = k.data(), a = a.data(), b = b.data()](Index i, Index c) {
      g[i] += k[c] * dy[i] - a[c] * (xv[i] - mu[c]) - b[c];
    });
  }

  /// In training the statistics are recomputed as a graph of x, since the
  /// gradient depends on x through them too; in eval they are constants.
  void operator()(GradGraph<T>& g) const {
    check(!sync, "grad: batch_norm with synchronized statistics has no differentiable backward rule");
    const Var<T> x = g.input(0), gamma = g.input(1), dy = g.grad();
    const Shape& shape = x.shape();
    const auto per_channel = [&shape](const Var<T>& v) { return broadcast_channels(v, shape); };
    const T inv_count = T(1) / static_cast<T>(count);
    Var<T> xhat, is;
    if (training) {
      const Var<T> xc = sub(x, per_channel(scale(sum_channels(x), inv_count)));
      is = inverse_sqrt(scale(sum_channels(mul(xc, xc)), inv_count), static_cast<T>(eps));
      xhat = mul(xc, per_channel(is));
    } else {
      is = Var<T>(inv_std);
      xhat = mul(sub(x, per_channel(Var<T>(mean))), per_channel(is));
    }
    const Var<T> sum_dy = sum_channels(dy), sum_dy_xhat = sum_channels(mul(dy, xhat));
    if (g.needs(1)) g.add(1, sum_dy_xhat);
    if (g.needs(2)) g.add(2, sum_dy);
    if (!g.needs(0)) return;
    Var<T> centred = dy;  // dy less its projections on 1 and xhat, which the statistics absorb
    if (training)
      centred = sub(sub(dy, scale(per_channel(sum_dy), inv_count)),
                    scale(mul(xhat, per_channel(sum_dy_xhat)), inv_count));
    g.add(0, mul(per_channel(mul(gamma, is)), centred));
  }
};

}  // namespace detail

/// running_mean / running_var may be null when no running statistics are kept
/// (then eval mode is refused). gamma and beta are [C].
template <class T>
Var<T> batch_norm(const Var<T>& x, const Var<T>& gamma, const Var<T>& beta,
                  Tensor<T>* running_mean, Tensor<T>* running_var, const BatchNormConfig& config) {
  const Shape& xs = x.shape();
  check(xs.rank() == 2 || xs.rank() == 4, "batch_norm: expected input [N, C] or [N, C, H, W], found ",
        xs);
  const Index batch = xs[0], channels = xs[1], plane = xs.rank() == 4 ? xs[2] * xs[3] : 1;
  const Index local_count = batch * plane;  // values per channel
  check(gamma.shape() == Shape{channels} && beta.shape() == Shape{channels},
        "batch_norm: expected weight and bias [", channels, "] for input ", xs, ", found ",
        gamma.shape(), " and ", beta.shape());
  for (const Tensor<T>* stat : {running_mean, running_var})
    check(!stat || stat->shape() == Shape{channels}, "batch_norm: expected running statistics [",
          channels, "], found ", stat ? stat->shape() : Shape{});
  check(config.training || (running_mean && running_var),
        "batch_norm: eval mode needs running statistics");
  check(!config.training || local_count > 1 || config.cross_replica_sum,
        "batch_norm: training needs more than one value per channel, found input ", xs);
  const CrossReplicaSum* sync = config.training ? config.cross_replica_sum : nullptr;

  // Per channel: the mean and 1/sqrt(var + eps) that normalize it.
  const T* in = x.value().data();
  Index count = local_count;  // values per channel over all replicas
  Tensor<T> mean = Tensor<T>::uninitialized(Shape{channels}), inv_std = Tensor<T>::uninitialized(Shape{channels});
  if (config.training) {
    // sum holds the count last, so that one message also sums the counts.
    memory::PooledVector<double> sum(static_cast<std::size_t>(channels) + 1), sq(static_cast<std::size_t>(channels));
    detail::sum_per_channel(batch, channels, plane, sum.data(), [in](Index i, Index) { return in[i]; });
    sum[static_cast<std::size_t>(channels)] = static_cast<double>(local_count);
    if (sync) (*sync)(sum.data(), channels + 1);
    count = static_cast<Index>(sum[static_cast<std::size_t>(channels)]);
    check(count > 1, "batch_norm: training needs more than one value per channel, found ", count,
          " over all replicas");
    for (Index c = 0; c < channels; ++c) mean[c] = static_cast<T>(sum[static_cast<std::size_t>(c)] / static_cast<double>(count));
    const T* mu = mean.data();
    detail::sum_per_channel(batch, channels, plane, sq.data(), [in, mu](Index i, Index c) {
      const T d = in[i] - mu[c];
      return d * d;
    });
    if (sync) (*sync)(sq.data(), channels);
    for (Index c = 0; c < channels; ++c) {
      const auto ci = static_cast<std::size_t>(c);
      const double var = sq[ci] / static_cast<double>(count);
      inv_std[c] = static_cast<T>(1.0 / std::sqrt(var + config.eps));
      if (running_mean && running_var && config.update_running) {
        T& rm = (*running_mean)[c];
        T& rv = (*running_var)[c];
        const double unbiased = var * static_cast<double>(count) / static_cast<double>(count - 1);
        rm = static_cast<T>((1 - config.momentum) * rm + config.momentum * (sum[ci] / static_cast<double>(count)));
        rv = static_cast<T>((1 - config.momentum) * rv + config.momentum * unbiased);
      }
    }
  } else {
    for (Index c = 0; c < channels; ++c) {
      mean[c] = (*running_mean)[c];
      inv_std[c] = static_cast<T>(1.0 / std::sqrt(static_cast<double>((*running_var)[c]) + config.eps));
    }
  }

  // y = x * scale + shift per channel.
  Tensor<T> scale = Tensor<T>::uninitialized(Shape{channels}), shift = Tensor<T>::uninitialized(Shape{channels});
  for (Index c = 0; c < channels; ++c) {
    scale[c] = gamma.value()[c] * inv_std[c];
    shift[c] = beta.value()[c] - mean[c] * scale[c];
  }
  Tensor<T> out = Tensor<T>::uninitialized(xs);
  detail::for_each_element(batch, channels, plane, [in, o = out.data(), sc = scale.data(), sh = shift.data()](
                                                       Index i, Index c) { o[i] = in[i] * sc[c] + sh[c]; });

  return make_result<T>(std::move(out), "batch_norm", {x, gamma, beta},
                        detail::BatchNormRule<T>{batch, channels, plane, count, config.training, config.eps, sync,
                                                 std::move(mean), std::move(inv_std)});
}

}  // namespace tinygan
