/// \file
/// Elementwise arithmetic and reductions, each with its backward, as a fast
/// rule on tensors and as a graph of these same ops (for gradients of gradients).
#pragma once

#include <algorithm>

#include "tinygan/autograd/var.hpp"
#include "tinygan/ops/reshape.hpp"

namespace tinygan {

namespace detail {
template <class T>
void check_same_shape(const char* op, const Var<T>& a, const Var<T>& b) {
  check(a.shape() == b.shape(), op, ": operands must have the same shape, found ", a.shape(),
        " and ", b.shape());
}
}  // namespace detail

template <class T>
Var<T> add(const Var<T>& a, const Var<T>& b) {
  detail::check_same_shape("add", a, b);
  Tensor<T> out = Tensor<T>::uninitialized(a.shape());
  out.array() = a.value().array() + b.value().array();
  return detail::accumulate(a, b);
}

template <class T>
Var<T> sub(const Var<T>& a, const Var<T>& b) {
  detail::check_same_shape("sub", a, b);
  Tensor<T> out = Tensor<T>::uninitialized(a.shape());
  out.array() = a.value().array() - b.value().array();
  return make_result<T>(std::move(out), "sub", {a, b},
                        BackwardRules{[](Node<T>& self) {
                                        if (auto* g = self.input_grad(0)) g->array() += self.grad.array();
                                        if (auto* g = self.input_grad(1)) g->array() -= self.grad.array();
                                      },
                                      [](GradGraph<T>& g) {
                                        if (g.needs(0)) g.add(0, g.grad());
                                        if (g.needs(1)) g.add(1, scale(g.grad(), T(-1)));
                                      }});
}

template <class T>
Var<T> mul(const Var<T>& a, const Var<T>& b) {
  detail::check_same_shape("mul", a, b);
  Tensor<T> out = Tensor<T>::uninitialized(a.shape());
  out.array() = a.value().array() * b.value().array();
  return make_result<T>(
      std::move(out), "mul", {a, b},
      BackwardRules{[](Node<T>& self) {
                      if (auto* g = self.input_grad(0)) g->array() += self.grad.array() * self.input_value(1).array();
                      if (auto* g = self.input_grad(1)) g->array() += self.grad.array() * self.input_value(0).array();
                    },
                    [](GradGraph<T>& g) {
                      if (g.needs(0)) g.add(0, mul(g.grad(), g.input(1)));
                      if (g.needs(1)) g.add(1, mul(g.grad(), g.input(0)));
                    }});
}

template <class T>
Var<T> scale(const Var<T>& a, T factor) {
  Tensor<T> out = Tensor<T>::uninitialized(a.shape());
  out.array() = a.value().array() * factor;
  return make_result<T>(std::move(out), "scale", {a},
                        BackwardRules{[factor](Node<T>& self) {
                                        if (auto* g = self.input_grad(0)) g->array() += self.grad.array() * factor;
                                      },
                                      [factor](GradGraph<T>& g) {
                                        if (g.needs(0)) g.add(0, scale(g.grad(), factor));
                                      }});
}

/// 1 / sqrt(a + shift), elementwise: batch_norm's scale as a graph.
template <class T>
Var<T> inverse_sqrt(const Var<T>& a, T shift) {
  Tensor<T> out = Tensor<T>::uninitialized(a.shape());
  out.array() = (a.value().array() + shift).rsqrt();
  return make_result<T>(std::move(out), "inverse_sqrt", {a}, [](GradGraph<T>& g) {  // -dy y^3 / 2
    const Var<T> y = g.output();
    if (g.needs(0)) g.add(0, scale(mul(g.grad(), mul(y, mul(y, y))), T(-0.5)));
  });
}

/// a + c, elementwise, for a constant c.
template <class T>
Var<T> add_scalar(const Var<T>& a, T c) {
  Tensor<T> out = Tensor<T>::uninitialized(a.shape());
  out.array() = a.value().array() + c;
  return make_result<T>(std::move(out), "add_scalar", {a}, [](GradGraph<T>& g) {
    if (g.needs(0)) g.add(0, g.grad());
  });
}

/// sqrt(a + shift), elementwise: a norm that stays differentiable at zero
/// for shift > 0 (WGAN-GP's per-sample gradient norm).
template <class T>
Var<T> square_root(const Var<T>& a, T shift = T(0)) {
  Tensor<T> out = Tensor<T>::uninitialized(a.shape());
  out.array() = (a.value().array() + shift).sqrt();
  return make_result<T>(std::move(out), "square_root", {a}, [shift](GradGraph<T>& g) {  // dy / (2 y)
    if (g.needs(0)) g.add(0, scale(mul(g.grad(), inverse_sqrt(g.input(0), shift)), T(0.5)));
  });
}

/// 1 / a, elementwise (spectral normalization's 1 / sigma).
template <class T>
Var<T> reciprocal(const Var<T>& a) {
  Tensor<T> out = Tensor<T>::uninitialized(a.shape());
  out.array() = a.value().array().inverse();
  return make_result<T>(std::move(out), "reciprocal", {a}, [](GradGraph<T>& g) {  // -dy y^2
    const Var<T> y = g.output();
    if (g.needs(0)) g.add(0, scale(mul(g.grad(), mul(y, y)), T(-1)));
  });
}

/// Sum of all elements, as a scalar (rank 0).
template <class T>
Var<T> sum(const Var<T>& a) {
  Tensor<T> out{Shape{}};
  out[0] = a.value().array().sum();
  return make_result<T>(std::move(out), "sum", {a},
                        BackwardRules{[](Node<T>& self) {
                                        if (auto* g = self.input_grad(0)) g->array() += self.grad[0];
                                      },
                                      [](GradGraph<T>& g) {
                                        if (g.needs(0)) g.add(0, broadcast_to(g.grad(), g.input_value(0).shape()));
                                      }});
}

template <class T>
Var<T> mean(const Var<T>& a) {
  check(a.numel() > 0, "mean: the input is empty");
  return scale(sum(a), T(1) / static_cast<T>(a.numel()));
}

/// Each sample's sum: [N, ...] -> [N, 1] (PyTorch's x.flatten(1).sum(1, keepdim=True)).
template <class T>
Var<T> sum_per_sample(const Var<T>& a) {
  check(a.shape().rank() >= 1, "sum_per_sample: expected a batch dimension, found a scalar");
  const Index n = a.shape()[0], size = a.shape().per_sample();
  Tensor<T> out = Tensor<T>::uninitialized(Shape{n, 1});
  out.array() = a.value().matrix(n, size).rowwise().sum().array();
  return make_result<T>(std::move(out), "sum_per_sample", {a},
                        BackwardRules{[n, size](Node<T>& self) {
                                        if (T* g = self.input_grad_data(0))
                                          for (Index i = 0; i < n; ++i)
                                            for (Index j = 0; j < size; ++j) g[i * size + j] += self.grad[i];
                                      },
                                      [](GradGraph<T>& g) {
                                        if (g.needs(0)) g.add(0, broadcast_to(g.grad(), g.input_value(0).shape()));
                                      }});
}

/// a spread over `shape`: a single value over every element, or a value per
/// sample ([N, 1]) over each sample of [N, ...]. The backward of sum and
/// sum_per_sample, and theirs of it.
template <class T>
Var<T> broadcast_to(const Var<T>& a, const Shape& shape) {
  const bool per_sample = a.numel() != 1;
  check(!per_sample || (a.shape() == Shape{shape.rank() >= 1 ? shape[0] : 0, 1}), "broadcast_to: expected one value, "
        "or one per sample [N, 1] for [N, ...], found ", a.shape(), " for ", shape);
  const Index n = per_sample ? shape[0] : 1, size = shape.numel() / std::max<Index>(n, 1);
  Tensor<T> out = Tensor<T>::uninitialized(shape);
  for (Index i = 0; i < n; ++i) std::fill_n(out.data() + i * size, size, a.value()[i]);
  return make_result<T>(std::move(out), "broadcast_to", {a}, [per_sample](GradGraph<T>& g) {
    if (!g.needs(0)) return;
    const Shape& from = g.input_value(0).shape();
    g.add(0, per_sample ? sum_per_sample(g.grad()) : reshape(sum(g.grad()), from));
  });
}

}  // namespace tinygan
