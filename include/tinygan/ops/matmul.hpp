/// \file
/// matmul(a, b) = a b, with a [n, k] and b [k, m], and transpose(a): the
/// products linear()'s gradient, as a graph, is made of.
#pragma once

#include "tinygan/autograd/var.hpp"
#include "tinygan/core/gemm.hpp"

namespace tinygan {

template <class T>
Var<T> matmul(const Var<T>& a, const Var<T>& b) {
  check(a.shape().rank() == 2 && b.shape().rank() == 2 && a.shape()[1] == b.shape()[0],
        "matmul: expected [n, k] times [k, m], found ", a.shape(), " times ", b.shape());
  const Index n = a.shape()[0], k = a.shape()[1], m = b.shape()[1];
  Tensor<T> out = Tensor<T>::uninitialized(Shape{n, m});
  gemm(out.matrix(), a.value().matrix(), b.value().matrix());
  return make_result<T>(std::move(out), "matmul", {a, b},
                        BackwardRules{[n, k, m](Node<T>& self) {
                                        const auto dy = self.grad.matrix(n, m);
                                        if (auto* g = self.input_grad(0))
                                          gemm(g->matrix(n, k), dy, self.input_value(1).matrix(k, m).transpose(),
                                               Accumulate::yes);
                                        if (auto* g = self.input_grad(1))
                                          gemm(g->matrix(k, m), self.input_value(0).matrix(n, k).transpose(), dy,
                                               Accumulate::yes);
                                      },
                                      [](GradGraph<T>& g) {
                                        if (g.needs(0)) g.add(0, matmul(g.grad(), transpose(g.input(1))));
                                        if (g.needs(1)) g.add(1, matmul(transpose(g.input(0)), g.grad()));
                                      }});
}

/// a [n, m] -> a^T [m, n].
template <class T>
Var<T> transpose(const Var<T>& a) {
  check(a.shape().rank() == 2, "transpose: expected a matrix [n, m], found ", a.shape());
  const Index n = a.shape()[0], m = a.shape()[1];
  Tensor<T> out = Tensor<T>::uninitialized(Shape{m, n});
  out.matrix() = a.value().matrix().transpose();
  return make_result<T>(std::move(out), "transpose", {a}, [](GradGraph<T>& g) {
    if (g.needs(0)) g.add(0, transpose(g.grad()));
  });
}

}  // namespace tinygan
