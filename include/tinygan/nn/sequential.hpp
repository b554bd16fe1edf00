/// \file
/// Sequential: modules applied in order, named "0", "1", ... as in PyTorch (or
/// by a name given). A Sequential can hold Sequentials, so a combined GAN is G
/// followed by D.
#pragma once

#include <memory>
#include <string>
#include <type_traits>

#include "tinygan/nn/module.hpp"

namespace tinygan::nn {

template <class T>
class Sequential : public Module<T> {
 public:
  Sequential() = default;

  /// Takes a module by value: seq.add(Dense<float>(100, 256)).add(ReLU<float>()).
  template <class M, class = std::enable_if_t<std::is_base_of_v<Module<T>, std::decay_t<M>>>>
  Sequential& add(M&& module) {
    return add(std::make_shared<std::decay_t<M>>(std::forward<M>(module)));
  }
  /// Shares a module that lives elsewhere (a G inside the combined G->D model).
  Sequential& add(std::shared_ptr<Module<T>> module) {
    return add(std::to_string(this->children().size()), std::move(module));
  }
  /// Under a name of one's own, as a PyTorch model's attribute ("main"), so
  /// that its state_dict names match.
  Sequential& add(std::string name, std::shared_ptr<Module<T>> module) {
    this->register_module(std::move(name), std::move(module));
    return *this;
  }

  Var<T> forward(const Var<T>& x) override {
    check(!this->children().empty(), "Sequential: forward on an empty model");
    Var<T> h = x;
    for (auto& [name, child] : this->children()) h = child->forward(h);
    return h;
  }
  std::string type_name() const override { return "Sequential"; }

  std::size_t size() const { return this->children().size(); }
  Module<T>& operator[](std::size_t i) const { return *this->children().at(i).second; }
};

}  // namespace tinygan::nn
