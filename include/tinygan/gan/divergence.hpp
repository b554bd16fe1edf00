/// \file
/// Watching a GAN run for divergence: a step whose loss or gradients are not
/// finite (stopped before it changes anything, or skipped on request), and a
/// discriminator that has won for so long that the generator learns nothing.
#pragma once

#include <atomic>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tinygan/core/error.hpp"
#include "tinygan/core/threads.hpp"
#include "tinygan/nn/module.hpp"

namespace tinygan::gan {

/// What a step with a non-finite loss or gradient does: stop the run (the
/// default) or leave the weights as they were and go on.
enum class OnNonFinite { stop, skip };

/// A step's loss or gradient is NaN or infinite and the policy is to stop.
class NonFiniteError : public Error {
 public:
  using Error::Error;
};

/// True when every value of t is finite: x - x is 0 for a finite x and NaN for
/// an infinity or a NaN, and one sum finds any of them in a single vectorized
/// pass (shared out over the threads for large tensors).
template <class T>
bool all_finite(const Tensor<T>& t) {
  std::atomic<bool> finite{true};
  for_each_share(t.numel(), [&](Index begin, Index length) {
    const auto share = t.array().segment(begin, length);
    if ((share - share).sum() != T(0)) finite.store(false, std::memory_order_relaxed);
  });
  return finite.load(std::memory_order_relaxed);
}

/// One model's parameters in network order, labelled for messages:
/// "discriminator.3.weight (Conv2D)". Built once, so the check that runs every
/// step allocates nothing.
template <class T>
class GradientWatch {
 public:
  GradientWatch(const std::string& model_name, const nn::Module<T>& model) {
    for (const auto& [name, p] : model.named_parameters()) {
      std::string label = model_name + "." + name;
      const std::string layer = name.substr(0, name.find('.'));
      for (const auto& [child_name, child] : model.children())
        if (child_name == layer && layer != name) label += " (" + child->type_name() + ")";
      entries_.emplace_back(std::move(label), p);
    }
  }

  /// The label of the first parameter, in network order, whose gradient of
  /// this step holds a NaN or an infinity; nullptr when all are finite.
  /// Frozen parameters and those that got no gradient are not looked at.
  const std::string* first_non_finite() const {
    for (const auto& [label, p] : entries_)
      if (p.requires_grad() && p.has_grad() && !all_finite(p.grad())) return &label;
    return nullptr;
  }

 private:
  std::vector<std::pair<std::string, Var<T>>> entries_;
};

/// Says once when D has been right on (almost) every real and every fake
/// sample for `patience` iterations in a row: its losses then give G almost
/// no gradient, and such runs rarely recover.
class DiscriminatorWinWatch {
 public:
  explicit DiscriminatorWinWatch(std::int64_t patience = 500, double accuracy = 0.99)
      : patience_(patience), accuracy_(accuracy) {
    check(patience >= 1, "DiscriminatorWinWatch: expected a patience of at least 1 iteration, found ", patience);
  }
  /// Feeds one iteration's accuracies; true exactly when the stretch reaches
  /// the patience (once per stretch).
  bool update(double accuracy_real, double accuracy_fake) {
    stretch_ = accuracy_real >= accuracy_ && accuracy_fake >= accuracy_ ? stretch_ + 1 : 0;
    return stretch_ == patience_;
  }
  std::int64_t stretch() const { return stretch_; }
  std::int64_t patience() const { return patience_; }
  double accuracy() const { return accuracy_; }

 private:
  std::int64_t patience_, stretch_ = 0;
  double accuracy_;
};

}  // namespace tinygan::gan
