/// \file
/// Conditional: a module with a second input, one class index per sample (a
/// conditional generator G(z, y) or discriminator D(x, y)). The GAN trainer
/// hands such a model the labels of each batch; any other module gets the
/// images alone. Labels are a tensor [N] of whole numbers stored as T, the
/// form cross_entropy takes them in.
#pragma once

#include <functional>
#include <string>

#include "tinygan/nn/module.hpp"

namespace tinygan::nn {

template <class T>
class Conditional : public Module<T> {
 public:
  virtual Var<T> forward(const Var<T>& x, const Tensor<T>& labels) = 0;
  Var<T> operator()(const Var<T>& x, const Tensor<T>& labels) { return forward(x, labels); }
  using Module<T>::operator();  // model(x) stays callable, and says what it lacks

  /// Called without labels it cannot know the class: say so rather than guess one.
  Var<T> forward(const Var<T>&) override {
    throw Error(this->type_name() + ": a conditional model takes labels beside its input: call it as model(x, labels)");
  }

  /// How summary() lists the model: `layer` runs a child and adds its rows,
  /// `step` adds a row for what runs outside the children (where the label joins).
  struct Trace {
    std::function<Var<T>(const std::string& name, Module<T>& child, const Var<T>& input)> layer;
    std::function<void(const std::string& name, const std::string& type, const Var<T>& output, Index parameters)> step;
  };
  /// forward(x, labels), told step by step to the trace; by default as one row.
  virtual Var<T> trace(const Var<T>& x, const Tensor<T>& labels, const Trace& trace) {
    const Var<T> out = forward(x, labels);
    trace.step("0", this->type_name(), out, this->total_parameter_count());
    return out;
  }
};

/// The model's output for x, with the labels when it takes them (and they are given).
template <class T>
Var<T> apply(Module<T>& model, const Var<T>& x, const Tensor<T>* labels) {
  if (auto* conditional = dynamic_cast<Conditional<T>*>(&model)) {
    // The name only on failure: a long one would cost a heap allocation on every call.
    if (!labels)
      throw Error(conditional->type_name() + ": a conditional model needs the labels of its batch, and this batch has none");
    if (labels->rank() != 1 || labels->dim(0) != x.shape()[0])
      throw Error(detail::concat(conditional->type_name(), ": expected labels [", x.shape()[0],
                                 "], one per sample, found ", labels->shape()));
    return conditional->forward(x, *labels);
  }
  return model.forward(x);
}

}  // namespace tinygan::nn
