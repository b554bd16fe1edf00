/// \file
/// matmul(a, b) = a b, with a [n, k] and b [k, m]: the product linear() has
/// no layout for (it multiplies by W^T). The R1 gradient penalty builds D's
/// input gradient from it.
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
  return make_result<T>(std::move(out), "matmul", {a, b}, [n, k, m](Node<T>& self) {
    const auto dy = self.grad.matrix(n, m);
    if (auto* g = self.input_grad(0))
      gemm(g->matrix(n, k), dy, self.input_value(1).matrix(k, m).transpose(), Accumulate::yes);
    if (auto* g = self.input_grad(1))
      gemm(g->matrix(k, m), self.input_value(0).matrix(n, k).transpose(), dy, Accumulate::yes);
  });
}

}  // namespace tinygan
