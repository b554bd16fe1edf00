// batch_norm over the channel axis 1 of x [N, C] or [N, C, H, W].
//
// Conventions follow PyTorch: training normalizes with the batch's biased
// variance and updates running = (1 - momentum) * running + momentum * batch
// with the unbiased variance; eval normalizes with the running statistics.
#pragma once

#include <cmath>
#include <vector>

#include "tinygan/autograd/var.hpp"
#include "tinygan/core/threads.hpp"

namespace tinygan {

struct BatchNormConfig {
  bool training = true;
  bool update_running = true;  // off for a frozen layer: it still normalizes with batch stats
  double momentum = 0.1;
  double eps = 1e-5;
};

// running_mean / running_var may be null when no running statistics are kept
// (then eval mode is refused). gamma and beta are [C].
template <class T>
Var<T> batch_norm(const Var<T>& x, const Var<T>& gamma, const Var<T>& beta,
                  Tensor<T>* running_mean, Tensor<T>* running_var, const BatchNormConfig& config) {
  const Shape& xs = x.shape();
  check(xs.rank() == 2 || xs.rank() == 4, "batch_norm: expected input [N, C] or [N, C, H, W], found ",
        xs);
  const Index batch = xs[0], channels = xs[1], plane = xs.rank() == 4 ? xs[2] * xs[3] : 1;
  const Index count = batch * plane;  // values per channel
  check(gamma.shape() == Shape{channels} && beta.shape() == Shape{channels},
        "batch_norm: expected weight and bias [", channels, "] for input ", xs, ", found ",
        gamma.shape(), " and ", beta.shape());
  for (const Tensor<T>* stat : {running_mean, running_var})
    check(!stat || stat->shape() == Shape{channels}, "batch_norm: expected running statistics [",
          channels, "], found ", stat ? stat->shape() : Shape{});
  check(config.training || (running_mean && running_var),
        "batch_norm: eval mode needs running statistics");
  check(!config.training || count > 1, "batch_norm: training needs more than one value per "
                                       "channel, found input ", xs);

  // Per channel: the mean and 1/sqrt(var + eps) that normalize it.
  std::vector<T> mean(static_cast<std::size_t>(channels)), inv_std(mean.size());
  const T* in = x.value().data();
#pragma omp parallel for schedule(static) if (xs.numel() > kParallelGrain)
  for (Index c = 0; c < channels; ++c) {
    double m, var;
    if (config.training) {
      double s = 0, s2 = 0;  // double sums keep large batches exact enough
      for (Index n = 0; n < batch; ++n) {
        const T* p = in + (n * channels + c) * plane;
        for (Index i = 0; i < plane; ++i) s += p[i];
      }
      m = s / static_cast<double>(count);
      for (Index n = 0; n < batch; ++n) {
        const T* p = in + (n * channels + c) * plane;
        for (Index i = 0; i < plane; ++i) s2 += (p[i] - m) * (p[i] - m);
      }
      var = s2 / static_cast<double>(count);
      if (running_mean && running_var && config.update_running) {
        T& rm = (*running_mean)[c];
        T& rv = (*running_var)[c];
        const double unbiased = var * static_cast<double>(count) / static_cast<double>(count - 1);
        rm = static_cast<T>((1 - config.momentum) * rm + config.momentum * m);
        rv = static_cast<T>((1 - config.momentum) * rv + config.momentum * unbiased);
      }
    } else {
      m = (*running_mean)[c];
      var = (*running_var)[c];
    }
    mean[static_cast<std::size_t>(c)] = static_cast<T>(m);
    inv_std[static_cast<std::size_t>(c)] = static_cast<T>(1.0 / std::sqrt(var + config.eps));
  }

  Tensor<T> out(xs);
  const T* gm = gamma.value().data();
  const T* bt = beta.value().data();
#pragma omp parallel for schedule(static) if (xs.numel() > kParallelGrain)
  for (Index nc = 0; nc < batch * channels; ++nc) {
    const auto c = static_cast<std::size_t>(nc % channels);
    const T scale = gm[c] * inv_std[c], shift = bt[c] - mean[c] * scale;
    const T* p = in + nc * plane;
    T* o = out.data() + nc * plane;
    for (Index i = 0; i < plane; ++i) o[i] = p[i] * scale + shift;
  }

  const bool training = config.training;
  return make_result<T>(
      std::move(out), "batch_norm", {x, gamma, beta},
      [=, mean = std::move(mean), inv_std = std::move(inv_std)](Node<T>& self) {
        const T* xv = self.input_value(0).data();
        const T* gm = self.input_value(1).data();
        const T* dy = self.grad.data();
        Tensor<T>* gx = self.input_grad(0);
        Tensor<T>* gg = self.input_grad(1);
        Tensor<T>* gb = self.input_grad(2);
#pragma omp parallel for schedule(static) if (batch * channels * plane > kParallelGrain)
        for (Index c = 0; c < channels; ++c) {
          const auto ci = static_cast<std::size_t>(c);
          const T mu = mean[ci], is = inv_std[ci];
          double sum_dy = 0, sum_dy_xhat = 0;  // double: long sums, small differences
          for (Index n = 0; n < batch; ++n) {
            const Index off = (n * channels + c) * plane;
            for (Index i = 0; i < plane; ++i) {
              sum_dy += dy[off + i];
              sum_dy_xhat += dy[off + i] * (xv[off + i] - mu) * is;
            }
          }
          if (gg) (*gg)[c] += static_cast<T>(sum_dy_xhat);
          if (gb) (*gb)[c] += static_cast<T>(sum_dy);
          if (!gx) continue;
          // Training: the batch statistics depend on x too, hence the two
          // mean-removal terms; eval: a fixed affine map.
          const T k = gm[ci] * is;
          const T inv_count = T(1) / static_cast<T>(count);
          const T sdy = static_cast<T>(sum_dy), sdx = static_cast<T>(sum_dy_xhat);
          for (Index n = 0; n < batch; ++n) {
            const Index off = (n * channels + c) * plane;
            for (Index i = 0; i < plane; ++i) {
              const T xhat = (xv[off + i] - mu) * is;
              (*gx)[off + i] += training ? k * (dy[off + i] - inv_count * (sdy + xhat * sdx))
                                        : k * dy[off + i];
            }
          }
        }
      });
}

}  // namespace tinygan
