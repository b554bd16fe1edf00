/// \file
/// LabelConcat: a conditional model that joins the label's embedding to its
/// input, then runs the model it wraps. On vectors [N, F] (a generator's z)
/// the embedding is appended to the features; on images [N, C, H, W] (a
/// discriminator's input) it is spread over the map as extra channels. The
/// cGAN of Mirza and Osindero (2014) with a learned embedding, as PyTorch-GAN's.
#pragma once

#include <memory>

#include "tinygan/nn/conditional.hpp"
#include "tinygan/nn/embedding.hpp"
#include "tinygan/ops/concat.hpp"

namespace tinygan::nn {

template <class T>
class LabelConcat : public Conditional<T> {
 public:
  /// `net` takes the input with `features` more features or channels.
  LabelConcat(Index classes, Index features, std::shared_ptr<Module<T>> net)
      : embed_(std::make_shared<Embedding<T>>(classes, features)), net_(std::move(net)) {
    this->register_module("embed", embed_);
    this->register_module("net", net_);
  }

  using Conditional<T>::forward;
  Var<T> forward(const Var<T>& x, const Tensor<T>& labels) override {
    return net_->forward(join(x, embed_->forward(Var<T>(labels))));
  }
  Var<T> trace(const Var<T>& x, const Tensor<T>& labels, const typename Conditional<T>::Trace& t) override {
    const Var<T> joined = join(x, t.layer("embed", *embed_, Var<T>(labels)));
    t.step("concat", x.shape().rank() == 2 ? "Concatenate" : "Concatenate channels", joined, 0);
    return t.layer("net", *net_, joined);
  }
  std::string type_name() const override { return "LabelConcat"; }

  Embedding<T>& embed() { return *embed_; }
  Module<T>& net() { return *net_; }

 private:
  static Var<T> join(const Var<T>& x, const Var<T>& e) {
    const Shape& s = x.shape();
    check(s.rank() == 2 || s.rank() == 4, "LabelConcat: expected an input [N, F] or [N, C, H, W], found ", s);
    return s.rank() == 2 ? concat(x, e) : concat(x, broadcast_spatial(e, s[2], s[3]));
  }

  std::shared_ptr<Embedding<T>> embed_;
  std::shared_ptr<Module<T>> net_;
};

}  // namespace tinygan::nn
