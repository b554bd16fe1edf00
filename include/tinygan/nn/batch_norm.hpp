/// \file
/// BatchNorm over features [N, F] or channels [N, C, H, W], PyTorch's
/// conventions (momentum 0.1 on the batch statistics, eps 1e-5).
///
/// Training mode normalizes with the batch's statistics. A frozen layer
/// (set_trainable(false)) still does, but leaves its running statistics alone,
/// so a discriminator frozen for a generator step changes in nothing.
///
/// Synchronized across data-parallel processes (set_cross_replica_sum, which
/// dist::synchronize_batch_norm sets): training statistics over the joint batch.
#pragma once

#include "tinygan/nn/module.hpp"
#include "tinygan/nn/options.hpp"
#include "tinygan/ops/batch_norm.hpp"

namespace tinygan::nn {

struct BatchNormOptions {
  BatchNormOptions(Index num_features) : num_features_(num_features) {}  // NOLINT: reads as a count
  TINYGAN_ARG(Index, num_features, 0)
  TINYGAN_ARG(double, momentum, 0.1)
  TINYGAN_ARG(double, eps, 1e-5)
};

template <class T>
class BatchNorm : public Module<T> {
 public:
  explicit BatchNorm(const BatchNormOptions& o) : options_(o) {
    check(o.num_features() > 0, "BatchNorm: expected a positive feature count, found ",
          o.num_features());
    check(o.momentum() >= 0 && o.momentum() <= 1 && o.eps() > 0,
          "BatchNorm: expected momentum in [0, 1] and eps > 0, found ", o.momentum(), " and ",
          o.eps());
    const Shape s{o.num_features()};
    weight_ = this->register_parameter("weight", Tensor<T>(s, T(1)));
    bias_ = this->register_parameter("bias", Tensor<T>(s, T(0)));
    running_mean_ = this->register_buffer("running_mean", Tensor<T>(s, T(0)));
    running_var_ = this->register_buffer("running_var", Tensor<T>(s, T(1)));
    // PyTorch keeps this count in its state_dict; saving it lets load_state_dict take our files.
    batches_tracked_ = this->register_buffer("num_batches_tracked", Tensor<T>(Shape{}), false);
  }

  Var<T> forward(const Var<T>& x) override {
    check(x.shape().rank() >= 2 && x.shape()[1] == options_.num_features(), "BatchNorm(",
          options_.num_features(), "): expected input [N, ", options_.num_features(),
          ", ...], found ", x.shape());
    BatchNormConfig config;
    config.training = this->is_training();
    config.update_running = this->trainable();
    if (config.training && config.update_running) batches_tracked_.value()[0] += T(1);
    // PyTorch's momentum=None: the plain average of the batches since the reset.
    config.momentum = cumulative_ ? 1.0 / static_cast<double>(batches_tracked_.value()[0]) : options_.momentum();
    config.eps = options_.eps();
    config.cross_replica_sum = cross_replica_sum_ ? &cross_replica_sum_ : nullptr;
    return batch_norm(x, weight_, bias_, &running_mean_.value(), &running_var_.value(), config);
  }
  std::string type_name() const override { return "BatchNorm"; }

  /// PyTorch's reset: weight 1, bias 0, running statistics 0 and 1.
  void initialize(Rng&) override {
    weight_.value().fill(T(1));
    bias_.value().fill(T(0));
    reset_running_statistics();
  }

  /// Running statistics back to 0 and 1, as if no batch had been seen.
  void reset_running_statistics() {
    running_mean_.value().fill(T(0));
    running_var_.value().fill(T(1));
    batches_tracked_.value().fill(T(0));
  }
  /// While on, the running statistics are the plain average of the training
  /// batches since the last reset instead of a moving one (nn::reestimate_batch_norm).
  void set_cumulative_average(bool on) { cumulative_ = on; }

  Var<T>& weight() { return weight_; }
  Var<T>& bias() { return bias_; }
  Tensor<T>& running_mean() { return running_mean_.value(); }
  Tensor<T>& running_var() { return running_var_.value(); }
  const BatchNormOptions& options() const { return options_; }
  /// Training statistics summed over the replicas by `sum` (an empty function: this batch's own).
  void set_cross_replica_sum(CrossReplicaSum sum) { cross_replica_sum_ = std::move(sum); }
  bool synchronized() const { return static_cast<bool>(cross_replica_sum_); }

 private:
  BatchNormOptions options_;
  CrossReplicaSum cross_replica_sum_;
  bool cumulative_ = false;
  Var<T> weight_, bias_, running_mean_, running_var_, batches_tracked_;
};

}  // namespace tinygan::nn
