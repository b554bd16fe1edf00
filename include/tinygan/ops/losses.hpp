/// \file
/// Losses, each the mean over all elements, returned as a scalar (rank 0).
///
/// BCE follows PyTorch's BCELoss (each log clamped at -100, the gradient's
/// denominator at 1e-12); MSLE clamps its inputs as Keras does (epsilon 1e-7).
/// Both stay finite for probabilities of exactly 0 or 1 and predictions <= -1.
///
/// bce_with_logits, mse and cross_entropy also have their backward as a graph
/// (gradients of gradients); bce and msle, whose clamps have no use there, do not.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <type_traits>

#include "tinygan/autograd/var.hpp"
#include "tinygan/ops/activations.hpp"
#include "tinygan/ops/elementwise.hpp"

namespace tinygan {

constexpr double kLossEpsilon = 1e-7;

namespace detail {
template <class T>
void check_loss_shapes(const char* op, const Var<T>& input, const Tensor<T>& target) {
  check(input.shape() == target.shape(), op, ": prediction ", input.shape(), " and target ",
        target.shape(), " must have the same shape");
  check(input.numel() > 0, op, ": the prediction is empty");
}

/// A mean loss's backward: grad[0] * derivative(x_i, y_i) / count for each
/// element, on tensors; and as a graph when GraphDerivative(x, target) gives
/// the elementwise derivative as a Var (std::nullptr_t: none).
template <class T, class Derivative, class GraphDerivative>
struct MeanLossRule {
  Tensor<T> target;
  Derivative derivative;
  GraphDerivative graph_derivative;
  Index count;

  void operator()(Node<T>& self) const {
    Tensor<T>* g = self.input_grad(0);
    if (!g) return;
    const T factor = self.grad[0] / static_cast<T>(count);
    const Tensor<T>& x = self.input_value(0);
    for (Index i = 0; i < count; ++i) (*g)[i] += factor * derivative(x[i], target[i]);
  }
  template <class G = GraphDerivative, std::enable_if_t<!std::is_same_v<G, std::nullptr_t>, int> = 0>
  void operator()(GradGraph<T>& g) const {
    if (!g.needs(0)) return;
    const Var<T> x = g.input(0);
    g.add(0, scale(mul(broadcast_to(g.grad(), x.shape()), graph_derivative(x, target)), T(1) / static_cast<T>(count)));
  }
};

/// A scalar loss node: the mean of value(x_i, y_i), with MeanLossRule's backward.
template <class T, class Value, class Derivative, class GraphDerivative = std::nullptr_t>
Var<T> mean_loss(const char* op, const Var<T>& input, const Tensor<T>& target, Value value,
                 Derivative derivative, GraphDerivative graph_derivative = nullptr) {
  check_loss_shapes(op, input, target);
  const Index count = input.numel();
  double total = 0;  // in double, so a loss over many elements keeps its digits
  for (Index i = 0; i < count; ++i) total += value(input.value()[i], target[i]);
  Tensor<T> out{Shape{}};
  out[0] = static_cast<T>(total / static_cast<double>(count));
  return make_result<T>(std::move(out), op, {input},
                        MeanLossRule<T, Derivative, GraphDerivative>{target, derivative, graph_derivative, count});
}
}  // namespace detail

/// Binary cross-entropy on probabilities, as PyTorch's BCELoss computes it.
/// The gradient (p - y) / (p (1 - p)) is exact down to p (1 - p) = 1e-12, so
/// that behind a sigmoid it is p - y even for a confidently rejected fake: a
/// clamp at Keras's 1e-7 would shrink G's gradient there by p / 1e-7.
template <class T>
Var<T> bce(const Var<T>& probability, const Tensor<T>& target) {
  return detail::mean_loss(
      "bce", probability, target,
      [](T p, T y) {
        const double log_p = std::max(std::log(static_cast<double>(p)), -100.0);
        const double log_not_p = std::max(std::log1p(-static_cast<double>(p)), -100.0);
        return -(y * log_p + (1 - y) * log_not_p);
      },
      [](T p, T y) { return (p - y) / std::max(p * (1 - p), T(1e-12)); });
}

/// Binary cross-entropy on logits: max(x, 0) - x y + log(1 + exp(-|x|)), exact for any x.
template <class T>
Var<T> bce_with_logits(const Var<T>& logits, const Tensor<T>& target) {
  return detail::mean_loss(
      "bce_with_logits", logits, target,
      [](T x, T y) {
        const double v = x;
        return std::max(v, 0.0) - v * y + std::log1p(std::exp(-std::abs(v)));
      },
      [](T x, T y) { return T(1) / (T(1) + std::exp(-x)) - y; },
      [](const Var<T>& x, const Tensor<T>& y) { return sub(sigmoid(x), Var<T>(y)); });
}

/// Mean squared logarithmic error: (log(1 + max(p, eps)) - log(1 + max(y, eps)))^2.
template <class T>
Var<T> msle(const Var<T>& prediction, const Tensor<T>& target) {
  const auto log1p_clamped = [](T v) { return std::log1p(std::max<T>(v, T(kLossEpsilon))); };
  return detail::mean_loss(
      "msle", prediction, target,
      [log1p_clamped](T p, T y) {
        const double d = static_cast<double>(log1p_clamped(p)) - log1p_clamped(y);
        return d * d;
      },
      [log1p_clamped](T p, T y) {
        // Below the clamp the prediction no longer changes the loss.
        if (p <= T(kLossEpsilon)) return T(0);
        return T(2) * (log1p_clamped(p) - log1p_clamped(y)) / (T(1) + p);
      });
}

/// Softmax cross-entropy of logits [N, C] against class indices [N] (stored
/// as T, 0..C-1), mean over the batch; computed through log-sum-exp with the
/// row's maximum removed, so any logit is safe. PyTorch's CrossEntropyLoss.
template <class T>
Var<T> cross_entropy(const Var<T>& logits, const Tensor<T>& classes) {
  const Shape& s = logits.shape();
  check(s.rank() == 2 && s[0] > 0 && s[1] > 0, "cross_entropy: expected logits [N, C], found ", s);
  check(classes.shape() == Shape{s[0]}, "cross_entropy: expected ", s[0], " class indices [", s[0],
        "], found shape ", classes.shape());
  const Index n = s[0], c = s[1];
  for (Index i = 0; i < n; ++i)
    check(classes[i] >= 0 && classes[i] < static_cast<T>(c) && classes[i] == std::floor(classes[i]),
          "cross_entropy: class index ", classes[i], " at row ", i, " is not a whole number in 0..", c - 1);
  // softmax per row, kept for the backward: d/dlogits = (softmax - onehot) / N.
  Tensor<T> softmax(s);
  double total = 0;
  for (Index i = 0; i < n; ++i) {
    const T* row = logits.value().data() + i * c;
    T* p = softmax.data() + i * c;
    const T top = *std::max_element(row, row + c);
    double sum = 0;
    for (Index j = 0; j < c; ++j) sum += std::exp(static_cast<double>(row[j] - top));
    for (Index j = 0; j < c; ++j) p[j] = static_cast<T>(std::exp(static_cast<double>(row[j] - top)) / sum);
    total += std::log(sum) + top - row[static_cast<Index>(classes[i])];
  }
  Tensor<T> out{Shape{}};
  out[0] = static_cast<T>(total / static_cast<double>(n));
  auto first_order = [softmax = std::move(softmax), classes, n, c](Node<T>& self) {
    Tensor<T>* g = self.input_grad(0);
    if (!g) return;
    const T factor = self.grad[0] / static_cast<T>(n);
    for (Index i = 0; i < n; ++i)
      for (Index j = 0; j < c; ++j) {
        const T onehot = j == static_cast<Index>(classes[i]) ? T(1) : T(0);
        (*g)[i * c + j] += factor * (softmax[i * c + j] - onehot);
      }
  };
  const auto as_graph = [classes, n, c](GradGraph<T>& g) {  // (softmax(x) - onehot) / N
    if (!g.needs(0)) return;
    Tensor<T> onehot(Shape{n, c});
    for (Index i = 0; i < n; ++i) onehot[i * c + static_cast<Index>(classes[i])] = T(1);
    const Var<T> x = g.input(0);
    g.add(0, scale(mul(broadcast_to(g.grad(), x.shape()), sub(tinygan::softmax(x), Var<T>(std::move(onehot)))),
                   T(1) / static_cast<T>(n)));
  };
  return make_result<T>(std::move(out), "cross_entropy", {logits}, BackwardRules{std::move(first_order), as_graph});
}

template <class T>
Var<T> mse(const Var<T>& prediction, const Tensor<T>& target) {
  return detail::mean_loss(
      "mse", prediction, target,
      [](T p, T y) {
        const double d = static_cast<double>(p) - y;
        return d * d;
      },
      [](T p, T y) { return T(2) * (p - y); },
      [](const Var<T>& p, const Tensor<T>& y) { return scale(sub(p, Var<T>(y)), T(2)); });
}

}  // namespace tinygan
