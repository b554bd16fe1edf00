// A generic finite-difference gradient checker, run in double over every op
// and every layer: the analytic gradient of sum(w * f(inputs)), for a fixed
// random w, must match central differences for every element of every input
// that requires a gradient (of an input above kEveryElementUpTo elements: a
// fixed random sample of them, and random directions through all of them).
// gradgradcheck does the same for the gradient itself, built as a graph by
// grad(..., create_graph) (PyTorch's gradgradcheck).
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tinygan/gan.hpp"

namespace tinygan::testing {

using Vars = std::vector<Var<double>>;
using Function = std::function<Var<double>(const Vars&)>;

// Larger inputs (the Winograd convolutions' weights: 6,400 elements and up)
// get kSampledElements elements checked one by one and kDirections random
// unit directions through every element (PyTorch's gradcheck fast_mode), so
// an error in any element still shows; checking each of them made the
// transposed convolutions' table a minute and a half of CI.
inline constexpr Index kEveryElementUpTo = 2000;
inline constexpr Index kSampledElements = 500;
inline constexpr int kDirections = 4;

struct GradcheckResult {
  double worst_error = 0;  // the largest |analytic - numeric| / max(1, |numeric|)
  std::string worst_at;
  Index checked = 0;
};

// records: f builds a graph of its own (grad() inside), so the objective cannot run under NoGrad.
inline GradcheckResult gradcheck(const Function& f, const Vars& inputs, double step = 1e-6, bool records = false) {
  // The projection w makes every output element matter, with distinct weights.
  const Var<double> probe = f(inputs);
  Rng rng(1234);
  const Tensor<double> w = Tensor<double>::randn(probe.shape(), rng);
  const auto objective = [&]() {
    std::optional<NoGrad> no_grad;
    if (!records) no_grad.emplace();
    const Var<double> out = f(inputs);
    double total = 0;
    for (Index i = 0; i < out.numel(); ++i) total += out.value()[i] * w[i];
    return total;
  };

  for (auto in : inputs) in.zero_grad();
  const Var<double> out = f(inputs);
  // A gradient that is constant (of a linear op) has no graph: its own gradient is zero.
  if (!records || out.requires_grad()) backward(sum(mul(out, Var<double>(w))));

  GradcheckResult result;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    Var<double> in = inputs[k];
    if (!in.requires_grad()) continue;
    const Tensor<double> analytic = in.grad();
    const auto record = [&](double analytic_value, double numeric, const std::string& where) {
      const double error = std::abs(analytic_value - numeric) / std::max(1.0, std::abs(numeric));
      ++result.checked;
      if (error > result.worst_error) {
        result.worst_error = error;
        result.worst_at = "input " + std::to_string(k) + " " + where + ": analytic " +
                          std::to_string(analytic_value) + ", numeric " + std::to_string(numeric);
      }
    };
    const bool every_element = in.numel() <= kEveryElementUpTo;
    Rng pick(99 + k);
    for (Index n = 0; n < (every_element ? in.numel() : kSampledElements); ++n) {
      const Index i = every_element ? n : static_cast<Index>(pick.below(static_cast<std::uint64_t>(in.numel())));
      const double saved = in.value()[i];
      in.value()[i] = saved + step;
      const double up = objective();
      in.value()[i] = saved - step;
      const double down = objective();
      in.value()[i] = saved;
      record(analytic[i], (up - down) / (2 * step), "element " + std::to_string(i));
    }
    for (int d = 0; !every_element && d < kDirections; ++d) {
      Tensor<double> u = Tensor<double>::randn(in.shape(), pick);
      double norm = 0, along = 0;
      for (Index i = 0; i < u.numel(); ++i) norm += u[i] * u[i];
      for (Index i = 0; i < u.numel(); ++i) along += analytic[i] * (u[i] /= std::sqrt(norm));
      const Tensor<double> saved = in.value();  // a copy
      for (Index i = 0; i < u.numel(); ++i) in.value()[i] = saved[i] + step * u[i];
      const double up = objective();
      for (Index i = 0; i < u.numel(); ++i) in.value()[i] = saved[i] - step * u[i];
      const double down = objective();
      for (Index i = 0; i < u.numel(); ++i) in.value()[i] = saved[i];
      record(along, (up - down) / (2 * step), "random direction " + std::to_string(d));
    }
  }
  return result;
}

// Runs the checker and reports the worst element when it fails.
inline void expect_gradients(const std::string& what, const Function& f, const Vars& inputs,
                             double tolerance = 1e-6, double step = 1e-6) {
  const GradcheckResult r = gradcheck(f, inputs, step);
  INFO(what << ": worst at " << r.worst_at);
  CHECK(r.checked > 0);
  CHECK(r.worst_error < tolerance);
}

// f's gradient with respect to its inputs that require one, as a graph: the
// gradient of sum(w * f(inputs)) for a fixed random w, each input's flattened
// and joined into one row [1, total].
inline Function gradient_of(const Function& f) {
  return [f](const Vars& inputs) {
    const Var<double> out = f(inputs);
    Rng rng(4321);
    const Var<double> w(Tensor<double>::randn(out.shape(), rng));
    Vars wanted;
    for (const auto& in : inputs)
      if (in.requires_grad()) wanted.push_back(in);
    const auto grads = grad(sum(mul(out, w)), wanted, GradGraphMode::create_graph);
    Var<double> row;
    for (const auto& g : grads) {
      const Var<double> flat = reshape(g, Shape{1, g.numel()});
      row = row.defined() ? concat(row, flat) : flat;
    }
    return row;
  };
}

// The second-order check: f's gradient (gradient_of) against central differences of it.
inline void expect_second_order(const std::string& what, const Function& f, const Vars& inputs,
                                double tolerance = 1e-6, double step = 1e-6) {
  const GradcheckResult r = gradcheck(gradient_of(f), inputs, step, true);
  INFO(what << " (second order): worst at " << r.worst_at);
  CHECK(r.checked > 0);
  CHECK(r.worst_error < tolerance);
}

// A leaf of random values that requires a gradient.
inline Var<double> random_leaf(const Shape& shape, std::uint64_t seed, double scale = 1.0) {
  Rng rng(seed);
  return Var<double>(Tensor<double>::randn(shape, rng, 0.0, scale), true);
}

}  // namespace tinygan::testing
