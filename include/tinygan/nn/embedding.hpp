/// \file
/// Embedding (PyTorch's nn.Embedding): a trainable table [classes, features]
/// whose rows are read by class index. Its input is the labels [N], whole
/// numbers held as T; its output [N, features]. Drawn N(0, 1), as PyTorch's;
/// the whole-model schemes (init::dcgan_normal) leave it there.
#pragma once

#include "tinygan/nn/init.hpp"
#include "tinygan/nn/module.hpp"
#include "tinygan/ops/embedding.hpp"

namespace tinygan::nn {

template <class T>
class Embedding : public Module<T> {
 public:
  Embedding(Index classes, Index features) {
    check(classes > 0 && features > 0, "Embedding: expected positive class and feature counts, found ", classes,
          " x ", features);
    weight_ = this->register_parameter("weight", Tensor<T>(Shape{classes, features}));
    Rng rng(init::next_construction_seed());
    initialize(rng);
  }

  void initialize(Rng& rng) override { init::normal(weight_.value(), rng, 0.0, 1.0); }

  /// labels [N] -> [N, features]. A label outside [0, classes) is refused, naming it.
  Var<T> forward(const Var<T>& labels) override { return embedding(weight_, labels.value()); }
  std::string type_name() const override { return "Embedding"; }

  Index classes() const { return weight_.shape()[0]; }
  Index features() const { return weight_.shape()[1]; }
  Var<T>& weight() { return weight_; }

 private:
  Var<T> weight_;
};

}  // namespace tinygan::nn
