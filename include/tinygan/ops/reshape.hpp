/// \file
/// reshape and flatten: the same values under new dimensions.
#pragma once

#include "tinygan/autograd/var.hpp"

namespace tinygan {

template <class T>
Var<T> reshape(const Var<T>& x, const Shape& shape) {
  check(shape.numel() == x.numel(), "reshape: cannot reshape ", x.shape(), " (", x.numel(),
        " elements) to ", shape, " (", shape.numel(), " elements)");
  return make_result<T>(x.value().reshaped(shape), "reshape", {x},
                        BackwardRules{[](Node<T>& self) {
                                        if (auto* g = self.input_grad(0)) g->array() += self.grad.array();
                                      },
                                      [](GradGraph<T>& g) {
                                        if (g.needs(0)) g.add(0, reshape(g.grad(), g.input_value(0).shape()));
                                      }});
}

/// [N, ...] -> [N, product of the rest].
template <class T>
Var<T> flatten(const Var<T>& x) {
  check(x.shape().rank() >= 1, "flatten: expected a batch dimension, found a scalar");
  return reshape(x, Shape{x.shape()[0], x.shape().per_sample()});
}

}  // namespace tinygan
