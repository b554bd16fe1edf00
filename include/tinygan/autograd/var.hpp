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

/// Stands in for PooledFunction's second argument type when it has none.
struct NoSecondArg {};

/// A move-only callable void(Arg&), and optionally also void(Second&), whose
/// captures live in the memory pool: std::function would allocate for every
/// rule that captures more than two pointers, on every step. A callable may
/// take either argument or both (BackwardRules joins two lambdas into one).
template <class Arg, class Second = NoSecondArg>
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
    if constexpr (std::is_invocable_v<Fn&, Arg&>) call_ = [](void* s, Arg& a) { (*static_cast<Fn*>(s))(a); };
    if constexpr (std::is_invocable_v<Fn&, Second&>)
      call_second_ = [](void* s, Second& a) { (*static_cast<Fn*>(s))(a); };
    static_assert(std::is_invocable_v<Fn&, Arg&> || std::is_invocable_v<Fn&, Second&>,
                  "PooledFunction: the callable takes neither argument");
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
  bool takes_first() const { return call_ != nullptr; }
  bool takes_second() const { return call_second_ != nullptr; }
  void operator()(Arg& a) const { call_(storage_, a); }
  void operator()(Second& a) const { call_second_(storage_, a); }

 private:
  void swap(PooledFunction& o) noexcept {
    std::swap(storage_, o.storage_);
    std::swap(size_, o.size_);
    std::swap(call_, o.call_);
    std::swap(call_second_, o.call_second_);
    std::swap(destroy_, o.destroy_);
  }
  void* storage_ = nullptr;
  std::size_t size_ = 0;
  void (*call_)(void*, Arg&) = nullptr;
  void (*call_second_)(void*, Second&) = nullptr;
  void (*destroy_)(void*) = nullptr;
};

template <class T>
class Var;
template <class T>
class GradGraph;

/// An op's backward given two ways (PooledFunction takes either or both): a
/// fast rule on tensors, void(Node<T>&), and a rule written in differentiable
/// ops, void(GradGraph<T>&), which gradients of gradients run through.
template <class First, class Second>
struct BackwardRules : First, Second {
  using First::operator();
  using Second::operator();
};
template <class First, class Second>
BackwardRules(First, Second) -> BackwardRules<First, Second>;

template <class T>
struct Node {
  /// Takes Node& (adds this node's grad into its inputs' grads) or
  /// GradGraph<T>& (the same as a graph, autograd/backward.hpp's grad()), or both.
  using BackwardFn = PooledFunction<Node, GradGraph<T>>;

  Tensor<T> value;
  Tensor<T> grad;  // valid only while grad_valid; the buffer is kept for reuse
  bool grad_valid = false;
  bool requires_grad = false;
  bool released = false;  // the graph behind this node was freed by backward
  std::uint64_t visit_mark = 0;  // backward's sweep stamp (autograd/backward.hpp)
  const char* op = "leaf";
  memory::PooledVector<std::shared_ptr<Node>> inputs;
  BackwardFn backward;
  std::shared_ptr<Node> graph_grad;  // grad() of a graph: this node's gradient so far, itself a node

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

/// What an op's differentiable backward rule sees: its node, the gradient
/// arriving at it as a Var, and where to send each input's share. grad()
/// runs these rules to build a gradient as a graph; the first-order sweep
/// runs them, without recording, for ops that have no tensor rule.
template <class T>
class GradGraph {
 public:
  /// as_graph: add() sums into the inputs' graph_grad, for the inputs whose
  /// node carries needed_mark; else into their grad tensors, for the inputs
  /// that require one.
  GradGraph(const std::shared_ptr<Node<T>>& self, Var<T> grad, bool as_graph, std::uint64_t needed_mark = 0)
      : self_(self), grad_(std::move(grad)), as_graph_(as_graph), needed_mark_(needed_mark) {}

  /// This node's output, and input i, as values the rule may compute with.
  Var<T> output() const { return Var<T>(self_); }
  Var<T> input(std::size_t i) const { return Var<T>(self_->inputs[i]); }
  const Tensor<T>& input_value(std::size_t i) const { return self_->inputs[i]->value; }
  /// d(whatever is differentiated) / d(this node's output).
  const Var<T>& grad() const { return grad_; }

  /// Whether input i's gradient is wanted.
  bool needs(std::size_t i) const {
    const Node<T>* in = self_->inputs[i].get();
    return in && (as_graph_ ? in->visit_mark == needed_mark_ : in->requires_grad);
  }
  /// Adds g to input i's gradient (needs(i) must hold).
  void add(std::size_t i, const Var<T>& g);

 private:
  const std::shared_ptr<Node<T>>& self_;
  Var<T> grad_;
  bool as_graph_;
  std::uint64_t needed_mark_;
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

namespace detail {
/// a + b: the gradient of a value reached by two paths.
template <class T>
Var<T> accumulate(const Var<T>& a, const Var<T>& b) {
  check(a.shape() == b.shape(), "grad: an op's backward rule gave a gradient of shape ", b.shape(), " for a value of shape ",
        a.shape());
  Tensor<T> out = Tensor<T>::uninitialized(a.shape());
  out.array() = a.value().array() + b.value().array();
  return make_result<T>(std::move(out), "add", {a, b},
                        BackwardRules{[](Node<T>& self) {
                                        for (std::size_t i = 0; i < 2; ++i)
                                          if (auto* g = self.input_grad(i)) g->array() += self.grad.array();
                                      },
                                      [](GradGraph<T>& g) {
                                        for (std::size_t i = 0; i < 2; ++i)
                                          if (g.needs(i)) g.add(i, g.grad());
                                      }});
}
}  // namespace detail

template <class T>
void GradGraph<T>::add(std::size_t i, const Var<T>& g) {
  Node<T>& in = *self_->inputs[i];
  check(g.shape() == in.value.shape(), "grad: the backward rule of '", self_->op, "' gave input ", i,
        " a gradient of shape ", g.shape(), ", expected ", in.value.shape());
  if (!as_graph_) {
    in.grad_buffer().array() += g.value().array();
  } else if (in.graph_grad) {
    in.graph_grad = detail::accumulate(Var<T>(in.graph_grad), g).node_ptr();
  } else {
    in.graph_grad = g.node_ptr();
  }
}

}  // namespace tinygan
