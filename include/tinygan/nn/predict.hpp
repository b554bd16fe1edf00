/// \file
/// predict: a model over many inputs, in batches, in eval mode and without
/// gradient (Keras's Model.predict), so that 10,000 samples need no more
/// memory than one batch. The model's training mode is restored afterwards.
#pragma once

#include <algorithm>

#include "tinygan/autograd/grad_mode.hpp"
#include "tinygan/nn/conditional.hpp"
#include "tinygan/nn/module.hpp"

namespace tinygan::nn {

/// `labels` [N], one class per input, for a conditional model (nn::Conditional).
template <class T>
Tensor<T> predict(Module<T>& model, const Tensor<T>& inputs, Index batch = 500, const Tensor<T>* labels = nullptr) {
  check(inputs.rank() >= 1 && inputs.dim(0) >= 1, "predict: expected inputs [N, ...] with N >= 1, found ",
        inputs.shape());
  check(batch >= 1, "predict: expected a batch size >= 1, found ", batch);
  check(!labels || labels->shape() == Shape{inputs.dim(0)}, "predict: expected labels [", inputs.dim(0),
        "], one per input, found ", labels ? labels->shape() : Shape{});
  const ModesGuard<T> restore(model);
  model.eval();
  NoGrad no_grad;
  const Index n = inputs.dim(0), per_input = inputs.shape().per_sample();
  Tensor<T> outputs;
  for (Index start = 0; start < n; start += batch) {
    const Index count = std::min(batch, n - start);
    Shape shape = inputs.shape();
    shape[0] = count;
    Tensor<T> chunk = Tensor<T>::uninitialized(shape);
    std::copy_n(inputs.data() + start * per_input, chunk.numel(), chunk.data());
    Tensor<T> chunk_labels = Tensor<T>::uninitialized(Shape{labels ? count : 0});
    if (labels) std::copy_n(labels->data() + start, count, chunk_labels.data());
    const Tensor<T> out = apply(model, Var<T>(std::move(chunk)), labels ? &chunk_labels : nullptr).value();
    if (start == 0) {
      Shape all = out.shape();
      all[0] = n;
      outputs = Tensor<T>::uninitialized(all);
    }
    std::copy_n(out.data(), out.numel(), outputs.data() + start * out.shape().per_sample());
  }
  return outputs;
}

}  // namespace tinygan::nn
