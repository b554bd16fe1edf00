/// \file
/// ProjectionDiscriminator (Miyato and Koyama, 2018): D(x, y) = head(f(x)) +
/// <embed(y), f(x)>, where f is the body's feature vector [N, F]. The label
/// enters only at the end, as an inner product, so it costs a row read and a
/// dot product per sample; a Sigmoid follows when D outputs probabilities.
///
/// With an auxiliary classifier (AC-GAN, Odena et al., 2017) a Dense layer
/// also reads f(x) and gives class logits: the output is then [N, 1 +
/// classes], the score followed by the logits.
#pragma once

#include <memory>

#include "tinygan/nn/conditional.hpp"
#include "tinygan/ops/concat.hpp"
#include "tinygan/nn/dense.hpp"
#include "tinygan/nn/embedding.hpp"
#include "tinygan/ops/activations.hpp"
#include "tinygan/ops/elementwise.hpp"

namespace tinygan::nn {

template <class T>
class ProjectionDiscriminator : public Conditional<T> {
 public:
  /// `body` maps x to features [N, features]; `head` one score per sample,
  /// unconditioned; `classifier` adds the auxiliary classifier.
  ProjectionDiscriminator(std::shared_ptr<Module<T>> body, Index features, Index classes, bool sigmoid_output,
                          bool classifier = false)
      : body_(std::move(body)),
        head_(std::make_shared<Dense<T>>(features, 1)),
        embed_(std::make_shared<Embedding<T>>(classes, features)),
        sigmoid_output_(sigmoid_output) {
    this->register_module("body", body_);
    this->register_module("head", head_);
    this->register_module("embed", embed_);
    if (classifier) {
      classifier_ = std::make_shared<Dense<T>>(features, classes);
      this->register_module("classifier", classifier_);
    }
  }

  using Conditional<T>::forward;
  Var<T> forward(const Var<T>& x, const Tensor<T>& labels) override {
    const Var<T> f = features(body_->forward(x));
    const Var<T> score = output(add(head_->forward(f), project(f, embed_->forward(Var<T>(labels)))));
    return classifier_ ? concat(score, classifier_->forward(f)) : score;
  }
  Var<T> trace(const Var<T>& x, const Tensor<T>& labels, const typename Conditional<T>::Trace& t) override {
    const Var<T> f = features(t.layer("body", *body_, x));
    const Var<T> unconditioned = t.layer("head", *head_, f);
    const Var<T> projected = project(f, t.layer("embed", *embed_, Var<T>(labels)));
    t.step("projection", "Dot", projected, 0);
    const Var<T> out = output(add(unconditioned, projected));
    t.step("add", sigmoid_output_ ? "Add, Sigmoid" : "Add", out, 0);
    if (!classifier_) return out;
    const Var<T> both = concat(out, t.layer("classifier", *classifier_, f));
    t.step("concat", "Concatenate", both, 0);
    return both;
  }
  std::string type_name() const override { return "ProjectionDiscriminator"; }

  Embedding<T>& embed() { return *embed_; }
  Dense<T>& head() { return *head_; }

 private:
  Var<T> features(const Var<T>& f) const {
    check(f.shape().rank() == 2 && f.shape()[1] == embed_->features(), "ProjectionDiscriminator: expected the body's "
          "features [N, ", embed_->features(), "], found ", f.shape());
    return f;
  }
  static Var<T> project(const Var<T>& f, const Var<T>& e) { return sum_per_sample(mul(f, e)); }
  Var<T> output(const Var<T>& logits) const { return sigmoid_output_ ? sigmoid(logits) : logits; }

  std::shared_ptr<Module<T>> body_;
  std::shared_ptr<Dense<T>> head_;
  std::shared_ptr<Embedding<T>> embed_;
  std::shared_ptr<Dense<T>> classifier_;  // the auxiliary classifier, or none
  bool sigmoid_output_;
};

}  // namespace tinygan::nn
