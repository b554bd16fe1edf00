/// \file
/// Module: the base of every layer and container. It owns named parameters
/// (trainable leaves), named buffers (state that is saved but not trained,
/// like BatchNorm's running statistics) and named child modules, and carries
/// the train/eval mode and the trainable flag down the tree.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tinygan/autograd/var.hpp"
#include "tinygan/core/rng.hpp"

namespace tinygan::nn {

template <class T>
class Module {
 public:
  using Named = std::vector<std::pair<std::string, Var<T>>>;

  Module() = default;
  virtual ~Module() = default;
  /// Parameters are handles into shared nodes: copying a module would alias
  /// them silently, so modules move but do not copy.
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  Module(Module&&) noexcept = default;
  Module& operator=(Module&&) noexcept = default;

  virtual Var<T> forward(const Var<T>& x) = 0;
  Var<T> operator()(const Var<T>& x) { return forward(x); }
  virtual std::string type_name() const = 0;

  /// Draws fresh parameters (PyTorch's default initialization) and reseeds any
  /// random stream (dropout masks) from rng, for this module and its children.
  virtual void initialize(Rng& rng) {
    for (auto& [name, child] : children_) child->initialize(rng);
  }

  void train(bool on = true) {
    visit([on](Module& m) { m.training_ = on; });
  }
  void eval() { train(false); }
  bool is_training() const { return training_; }
  /// This module's mode alone, for code that saves and restores every mode.
  void train_self(bool on) { training_ = on; }

  /// A frozen module keeps its parameters out of gradient computation (and so
  /// out of every optimizer step) from this moment on, recursively.
  void set_trainable(bool on) {
    visit([on](Module& m) {
      m.trainable_ = on;
      for (auto& [name, p] : m.parameters_) p.set_requires_grad(on);
    });
  }
  bool trainable() const { return trainable_; }

  /// PyTorch state_dict names: "0.weight", "3.running_mean", ...
  Named named_parameters() const { return collect(&Module::parameters_); }
  Named named_buffers() const { return collect(&Module::buffers_); }
  std::vector<Var<T>> parameters() const {
    std::vector<Var<T>> out;
    for (auto& [name, p] : named_parameters()) out.push_back(p);
    return out;
  }

  /// Keras's counts: buffers and frozen parameters are non-trainable.
  Index trainable_parameter_count() const {
    Index n = 0;
    for (auto& [name, p] : named_parameters()) n += p.requires_grad() ? p.numel() : 0;
    return n;
  }
  Index total_parameter_count() const {
    Index n = 0;
    for (auto& [name, p] : named_parameters()) n += p.numel();
    for (auto& [name, b] : named_buffers()) n += b.numel();
    return n - uncounted_buffer_count();
  }

  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const {
    return children_;
  }

  /// Calls f on this module, then on every descendant (pre-order).
  void visit(const std::function<void(Module&)>& f) {
    f(*this);
    for (auto& [name, child] : children_) child->visit(f);
  }

 protected:
  Var<T> register_parameter(std::string name, Tensor<T> value) {
    Var<T> p(std::move(value), trainable_);
    parameters_.emplace_back(std::move(name), p);
    return p;
  }
  /// counted = false keeps bookkeeping (BatchNorm's num_batches_tracked) out
  /// of the parameter counts, as Keras counts them.
  Var<T> register_buffer(std::string name, Tensor<T> value, bool counted = true) {
    Var<T> b(std::move(value), false);
    buffers_.emplace_back(std::move(name), b);
    if (!counted) uncounted_ += b.numel();
    return b;
  }
  void register_module(std::string name, std::shared_ptr<Module> child) {
    check(child != nullptr, type_name(), ": cannot register an empty module as '", name, "'");
    children_.emplace_back(std::move(name), std::move(child));
  }

 private:
  Named collect(Named Module::*list) const {
    Named out = this->*list;
    for (auto& [prefix, child] : children_)
      for (auto& [name, v] : child->collect(list)) out.emplace_back(prefix + "." + name, v);
    return out;
  }

  Index uncounted_buffer_count() const {
    Index n = uncounted_;
    for (auto& [name, child] : children_) n += child->uncounted_buffer_count();
    return n;
  }

  Named parameters_, buffers_;
  Index uncounted_ = 0;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
  bool trainable_ = true;
};

/// Saves the training mode of a module and of every module under it, and puts
/// each back when it goes out of scope, also when a forward pass throws.
template <class T>
class ModesGuard {
 public:
  explicit ModesGuard(Module<T>& model) {
    model.visit([this](Module<T>& m) { modes_.emplace_back(&m, m.is_training()); });
  }
  ~ModesGuard() {
    for (auto& [m, training] : modes_) m->train_self(training);
  }
  ModesGuard(const ModesGuard&) = delete;
  ModesGuard& operator=(const ModesGuard&) = delete;

 private:
  std::vector<std::pair<Module<T>*, bool>> modes_;
};

}  // namespace tinygan::nn
