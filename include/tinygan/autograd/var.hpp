/// \file
/// Var<T>: a handle to a node of the define-by-run graph. A node holds a value,
/// its gradient, the nodes it was computed from and the rule that sends its
/// gradient back to them. Nodes are whole-tensor ops, never scalars.
#pragma once

#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>

#include "tinygan/autograd/grad_mode.hpp"
#include "tinygan/core/memory.hpp"
#include "tinygan/core/tensor.hpp"

namespace tinygan {

/// A move-only callable void(Arg&) whose captures live in the memory pool:
/// std::function would allocate for every rule that captures more than two
/// pointers, on every step.
template <class Arg>
class PooledFunction {
 public:
  PooledFunction() = default;
  PooledFunction(std::nullptr_t) {}
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, PooledFunction>>>
  PooledFunction(F&& f) {  // NOLINT: implicit, like std::function
    using Fn = std::decay_t<F>;
    static_assert(alignof(Fn) <= memory::kAlignment, "PooledFunction: over-aligned callable");
    storage_ = memory::pool().acquire(sizeof(Fn));
    try {
      ::new (storage_) Fn(std::forward<F>(f));
    } catch (...) {
      memory::pool().release(storage_, sizeof(Fn));
      storage_ = nullptr;
      throw;
    }
    size_ = sizeof(Fn);
    call_ = [](void* s, Arg& a) { (*static_cast<Fn*>(s))(a); };
    destroy_ = [](void* s) { static_cast<Fn*>(s)->~Fn(); };
  }
  PooledFunction(PooledFunction&& o) noexcept { swap(o); }
  PooledFunction& operator=(PooledFunction&& o) noexcept {
    PooledFunction(std::move(o)).swap(*this);
    return *this;
  }
  PooledFunction& operator=(std::nullptr_t) noexcept {
    PooledFunction().swap(*this);
    return *this;
  }
  PooledFunction(const PooledFunction&) = delete;
  PooledFunction& operator=(const PooledFunction&) = delete;
  ~PooledFunction() {
    if (storage_) {
      destroy_(storage_);
      memory::pool().release(storage_, size_);
    }
  }

  explicit operator bool() const { return storage_ != nullptr; }
  void operator()(Arg& a) const { call_(storage_, a); }

 private:
  void swap(PooledFunction& o) noexcept {
    std::swap(storage_, o.storage_);
    std::swap(size_, o.size_);
    std::swap(call_, o.call_);
    std::swap(destroy_, o.destroy_);
  }
  void* storage_ = nullptr;
  std::size_t size_ = 0;
  void (*call_)(void*, Arg&) = nullptr;
  void (*destroy_)(void*) = nullptr;
};

template <class T>
struct Node {
  using BackwardFn = PooledFunction<Node>;

  Tensor<T> value;
  Tensor<T> grad;  // valid only while grad_valid; the buffer is kept for reuse
  bool grad_valid = false;
  bool requires_grad = false;
  bool released = false;  // the graph behind this node was freed by backward
  std::uint64_t visit_mark = 0;  // backward's sweep stamp (autograd/backward.hpp)
  const char* op = "leaf";
  memory::PooledVector<std::shared_ptr<Node>> inputs;
  BackwardFn backward;  // adds this node's grad into the grads of its inputs

  bool is_leaf() const { return !backward; }

  bool has_grad() const { return grad_valid; }

  /// The gradient, starting from zeros when none has arrived since the last
  /// zero_grad; the buffer is reused, so steady-state steps allocate nothing.
  Tensor<T>& grad_buffer() {
    if (!grad_valid) {
      // (A default Tensor has the scalar's shape but no element: compare both.)
      if (grad.numel() != value.numel() || grad.shape() != value.shape())
        grad = Tensor<T>::uninitialized(value.shape());
      grad.fill(T(0));
      grad_valid = true;
    }
    return grad;
  }

  /// Where input i's gradient goes, or nullptr when input i needs none (or was
  /// an absent optional input); backward rules skip work that nothing reads.
  Tensor<T>* input_grad(std::size_t i) {
    Node* in = inputs[i].get();
    return in && in->requires_grad ? &in->grad_buffer() : nullptr;
  }
  /// The same, as the gradient's first element (kernels that take raw pointers).
  T* input_grad_data(std::size_t i) {
    Tensor<T>* g = input_grad(i);
    return g ? g->data() : nullptr;
  }
  const Tensor<T>& input_value(std::size_t i) const { return inputs[i]->value; }
};

template <class T>
class Var {
 public:
  Var() = default;
  explicit Var(Tensor<T> value, bool requires_grad = false) : node_(new_node()) {
    node_->value = std::move(value);
    node_->requires_grad = requires_grad;
  }
  explicit Var(std::shared_ptr<Node<T>> node) : node_(std::move(node)) {}

  bool defined() const { return static_cast<bool>(node_); }
  const Tensor<T>& value() const { return node().value; }
  Tensor<T>& value() { return node().value; }
  const Shape& shape() const { return node().value.shape(); }
  Index numel() const { return node().value.numel(); }

  bool requires_grad() const { return node().requires_grad; }
  void set_requires_grad(bool on) { node().requires_grad = on; }
  /// Whether a gradient arrived since the last zero_grad (optimizers skip the rest).
  bool has_grad() const { return node().has_grad(); }
  /// The accumulated gradient; reading it where none arrived gives zeros.
  Tensor<T>& grad() { return node().grad_buffer(); }
  const Tensor<T>& grad() const { return node().grad_buffer(); }
  /// Forgets the gradient without freeing its buffer.
  void zero_grad() { node().grad_valid = false; }

  /// A new leaf with a copy of the value and no history.
  Var detach() const { return Var(node().value, false); }

  const char* op() const { return node().op; }
  Node<T>& node() const {
    check(node_ != nullptr, "Var: used before it was given a value (an undefined Var)");
    return *node_;
  }
  const std::shared_ptr<Node<T>>& node_ptr() const { return node_; }

  /// Nodes (with their shared_ptr control blocks) come from the memory pool too.
  static std::shared_ptr<Node<T>> new_node() {
    return std::allocate_shared<Node<T>>(memory::PoolAllocator<Node<T>>());
  }

 private:
  std::shared_ptr<Node<T>> node_;
};

/// Builds an op's result. The graph is recorded only when grad mode is on and
/// some input requires a gradient; otherwise the result is a plain leaf.
/// An undefined input (an absent bias) keeps its slot as a null node.
template <class T>
Var<T> make_result(Tensor<T> value, const char* op, std::initializer_list<Var<T>> inputs,
                   typename Node<T>::BackwardFn backward) {
  bool needs_grad = false;
  if (grad_enabled())
    for (const auto& in : inputs) needs_grad = needs_grad || (in.defined() && in.requires_grad());
  auto node = Var<T>::new_node();
  node->value = std::move(value);
  node->op = op;
  if (needs_grad) {
    node->requires_grad = true;
    node->inputs.reserve(inputs.size());
    for (const auto& in : inputs) node->inputs.push_back(in.defined() ? in.node_ptr() : nullptr);
    node->backward = std::move(backward);
  }
  return Var<T>(std::move(node));
}

}  // namespace tinygan
