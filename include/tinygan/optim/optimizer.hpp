/// \file
/// Optimizer: owns the list of parameters it was given and updates them in
/// place. A parameter that does not require a gradient (frozen) or that
/// received none is skipped, and its state is left as it was.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tinygan/autograd/var.hpp"

namespace tinygan::optim {

template <class T>
class Optimizer {
 public:
  Optimizer(std::vector<Var<T>> parameters, const char* name)
      : parameters_(std::move(parameters)) {
    check(!parameters_.empty(), name, ": given no parameters to optimize");
    for (std::size_t i = 0; i < parameters_.size(); ++i)
      check(parameters_[i].defined(), name, ": parameter ", i, " is undefined");
  }
  virtual ~Optimizer() = default;

  virtual void step() = 0;

  void zero_grad() {
    for (auto& p : parameters_) p.zero_grad();
  }

  const std::vector<Var<T>>& parameters() const { return parameters_; }

 protected:
  bool updatable(const Var<T>& p) const { return p.requires_grad() && p.has_grad(); }

  std::vector<Var<T>> parameters_;
};

}  // namespace tinygan::optim
