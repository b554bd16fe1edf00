/// \file
/// Elementwise activations: relu, leaky_relu, tanh, sigmoid; and softmax.
/// Each backward reads what it needs from the node itself (x from the input,
/// y from the output), so nothing extra is saved. Their differentiable rules
/// (gradients of gradients) are products with the slope: a constant for the
/// piecewise-linear ones, whose second derivative is zero almost everywhere.
#pragma once

#include <cmath>

#include "tinygan/autograd/var.hpp"
#include "tinygan/core/threads.hpp"
#include "tinygan/ops/elementwise.hpp"

namespace tinygan {

namespace detail {
/// The sign tests run as SIMD loops: Eigen 3.4's select() is scalar, and on
/// random signs its branch mispredicts every other element (measured 10x
/// slower at -O2, where GCC does not vectorize it either).
template <class T>
void leaky_forward(const T* x, T* y, T slope, Index n) {
#pragma omp simd
  for (Index i = 0; i < n; ++i) y[i] = x[i] > T(0) ? x[i] : x[i] * slope;
}

template <class T>
void leaky_backward(const T* x, const T* dy, T* g, T slope, Index n) {
#pragma omp simd
  for (Index i = 0; i < n; ++i) g[i] += x[i] > T(0) ? dy[i] : dy[i] * slope;
}

/// dy times the slope of leaky_relu(x), fixed at x's signs: the gradient as a graph.
template <class T>
Var<T> times_leaky_slope(const Var<T>& dy, const Tensor<T>& x, T slope) {
  Tensor<T> slopes = Tensor<T>::uninitialized(x.shape());
  slopes.array() = slope + (T(1) - slope) * (x.array() > T(0)).template cast<T>();
  return mul(dy, Var<T>(std::move(slopes)));
}

/// Where x <= 0 nothing is added, even for an infinite dy (as PyTorch).
template <class T>
void relu_backward(const T* x, const T* dy, T* g, Index n) {
#pragma omp simd
  for (Index i = 0; i < n; ++i) g[i] += x[i] > T(0) ? dy[i] : T(0);
}
}  // namespace detail

template <class T>
Var<T> leaky_relu(const Var<T>& x, T slope) {
  Tensor<T> out = Tensor<T>::uninitialized(x.shape());
  for_each_share(out.numel(), [&](Index b, Index n) {
    detail::leaky_forward(x.value().data() + b, out.data() + b, slope, n);
  });
  return make_result<T>(std::move(out), "leaky_relu", {x},
                        BackwardRules{[slope](Node<T>& self) {
                                        if (auto* g = self.input_grad(0)) {
                                          for_each_share(g->numel(), [&](Index b, Index n) {
                                            detail::leaky_backward(self.input_value(0).data() + b, self.grad.data() + b,
                                                                   g->data() + b, slope, n);
                                          });
                                        }
                                      },
                                      [slope](GradGraph<T>& g) {
                                        if (g.needs(0)) g.add(0, detail::times_leaky_slope(g.grad(), g.input_value(0), slope));
                                      }});
}

template <class T>
Var<T> relu(const Var<T>& x) {
  Tensor<T> out = Tensor<T>::uninitialized(x.shape());
  for_each_share(out.numel(), [&](Index b, Index n) { out.array(b, n) = x.value().array(b, n).max(T(0)); });
  return make_result<T>(std::move(out), "relu", {x},
                        BackwardRules{[](Node<T>& self) {
                                        if (auto* g = self.input_grad(0)) {
                                          for_each_share(g->numel(), [&](Index b, Index n) {
                                            detail::relu_backward(self.input_value(0).data() + b, self.grad.data() + b,
                                                                  g->data() + b, n);
                                          });
                                        }
                                      },
                                      [](GradGraph<T>& g) {
                                        if (g.needs(0)) g.add(0, detail::times_leaky_slope(g.grad(), g.input_value(0), T(0)));
                                      }});
}

template <class T>
Var<T> tanh(const Var<T>& x) {
  Tensor<T> out = Tensor<T>::uninitialized(x.shape());
  for_each_share(out.numel(), [&](Index b, Index n) { out.array(b, n) = x.value().array(b, n).tanh(); });
  return make_result<T>(std::move(out), "tanh", {x},
                        BackwardRules{[](Node<T>& self) {
                                        if (auto* g = self.input_grad(0)) {
                                          for_each_share(g->numel(), [&](Index b, Index n) {
                                            const auto y = self.value.array(b, n);
                                            g->array(b, n) += self.grad.array(b, n) * (T(1) - y * y);
                                          });
                                        }
                                      },
                                      [](GradGraph<T>& g) {  // dy (1 - y^2)
                                        const Var<T> y = g.output();
                                        if (g.needs(0)) g.add(0, sub(g.grad(), mul(mul(g.grad(), y), y)));
                                      }});
}

template <class T>
Var<T> sigmoid(const Var<T>& x) {
  Tensor<T> out = Tensor<T>::uninitialized(x.shape());
  // 1 / (1 + exp(-x)) overflows harmlessly to 0 for very negative x.
  for_each_share(out.numel(), [&](Index b, Index n) {
    out.array(b, n) = T(1) / (T(1) + (-x.value().array(b, n)).exp());
  });
  return make_result<T>(std::move(out), "sigmoid", {x},
                        BackwardRules{[](Node<T>& self) {
                                        if (auto* g = self.input_grad(0)) {
                                          for_each_share(g->numel(), [&](Index b, Index n) {
                                            const auto y = self.value.array(b, n);
                                            g->array(b, n) += self.grad.array(b, n) * y * (T(1) - y);
                                          });
                                        }
                                      },
                                      [](GradGraph<T>& g) {  // dy (y - y^2)
                                        const Var<T> y = g.output();
                                        if (g.needs(0)) g.add(0, mul(g.grad(), sub(y, mul(y, y))));
                                      }});
}

/// Softmax over each row of x [N, C], computed with the row's maximum removed.
/// The backward, y (dy - sum(dy y)) per row, is written in ops alone: it
/// serves as the second-order path of cross_entropy.
template <class T>
Var<T> softmax(const Var<T>& x) {
  const Shape& s = x.shape();
  check(s.rank() == 2 && s[1] > 0, "softmax: expected rows [N, C], found ", s);
  Tensor<T> out = Tensor<T>::uninitialized(s);
  out.matrix() = x.value().matrix();
  for (Index i = 0; i < s[0]; ++i) {
    auto row = out.matrix().row(i);
    row.array() = (row.array() - row.maxCoeff()).exp();
    row /= row.sum();
  }
  return make_result<T>(std::move(out), "softmax", {x}, [](GradGraph<T>& g) {
    if (!g.needs(0)) return;
    const Var<T> y = g.output(), dy_y = mul(g.grad(), y);
    g.add(0, sub(dy_y, mul(y, broadcast_to(sum_per_sample(dy_y), y.shape()))));
  });
}

}  // namespace tinygan
