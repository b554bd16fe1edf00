/// \file
/// linear(x, W, b) = x W^T + b, with x [N, in], W [out, in] (PyTorch's layout), b [out].
#pragma once

#include "tinygan/autograd/var.hpp"
#include "tinygan/core/gemm.hpp"
#include "tinygan/ops/channels.hpp"
#include "tinygan/ops/matmul.hpp"

namespace tinygan {

/// bias may be an undefined Var (no bias).
template <class T>
Var<T> linear(const Var<T>& x, const Var<T>& weight, const Var<T>& bias = {}) {
  check(x.shape().rank() == 2, "linear: expected input [batch, features], found ", x.shape());
  check(weight.shape().rank() == 2 && weight.shape()[1] == x.shape()[1],
        "linear: weight ", weight.shape(), " does not fit input ", x.shape(),
        " (expected [out, ", x.shape()[1], "])");
  const Index batch = x.shape()[0], in = x.shape()[1], out_features = weight.shape()[0];
  check(!bias.defined() || bias.shape() == Shape{out_features}, "linear: expected bias [",
        out_features, "], found ", bias.defined() ? bias.shape() : Shape{});

  Tensor<T> out = Tensor<T>::uninitialized(Shape{batch, out_features});
  auto y = out.matrix();
  if (bias.defined()) {
    // Eigen's "=" zeroes y before it accumulates: starting from the bias saves a pass over y.
    y.rowwise() = bias.value().matrix(1, out_features).row(0);
    gemm(y, x.value().matrix(), weight.value().matrix().transpose(), Accumulate::yes);
  } else {
    gemm(y, x.value().matrix(), weight.value().matrix().transpose());
  }

  const auto first_order = [batch, in, out_features](Node<T>& self) {
    const auto dy = self.grad.matrix(batch, out_features);
    if (auto* g = self.input_grad(0))
      gemm(g->matrix(batch, in), dy, self.input_value(1).matrix(out_features, in), Accumulate::yes);
    if (auto* g = self.input_grad(1))
      gemm(g->matrix(out_features, in), dy.transpose(), self.input_value(0).matrix(batch, in), Accumulate::yes);
    if (auto* g = self.input_grad(2)) g->matrix(1, out_features) += dy.colwise().sum();
  };
  const auto as_graph = [](GradGraph<T>& g) {
    if (g.needs(0)) g.add(0, matmul(g.grad(), g.input(1)));
    if (g.needs(1)) g.add(1, matmul(transpose(g.grad()), g.input(0)));
    if (g.needs(2)) g.add(2, sum_channels(g.grad()));
  };
  return make_result<T>(std::move(out), "linear", {x, weight, bias}, BackwardRules{first_order, as_graph});
}

}  // namespace tinygan
