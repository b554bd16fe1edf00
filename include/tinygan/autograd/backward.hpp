/// \file
/// backward(loss): reverse-mode sweep over the graph behind a scalar.
/// grad(output, inputs): the gradient as values, optionally as a graph of its
/// own (PyTorch's torch.autograd.grad with create_graph), so that a loss on a
/// gradient, such as a gradient penalty, can itself be differentiated.
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <optional>

#include "tinygan/autograd/var.hpp"

namespace tinygan {

namespace detail {
/// A fresh stamp for Node::visit_mark, unique over all sweeps.
inline std::uint64_t next_stamp() {
  static std::atomic<std::uint64_t> stamps{0};
  return ++stamps;
}

/// Nodes that need a gradient, each after all of its inputs (iterative DFS, so
/// deep graphs cannot overflow the stack). The order owns its nodes, so that
/// freeing the graph during the sweep cannot free a node still to be visited.
/// A node counts as seen when its mark equals this sweep's stamp.
template <class T>
memory::PooledVector<std::shared_ptr<Node<T>>> topological_order(const std::shared_ptr<Node<T>>& root) {
  const std::uint64_t stamp = next_stamp();
  memory::PooledVector<std::shared_ptr<Node<T>>> order;
  memory::PooledVector<std::pair<std::shared_ptr<Node<T>>, std::size_t>> stack;
  root->visit_mark = stamp;
  stack.emplace_back(root, 0);
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->inputs.size()) {
      std::shared_ptr<Node<T>> in = node->inputs[next++];
      check(!in || !in->released,
            "backward: part of this graph was already freed by an earlier backward (a value "
            "computed before that backward, such as a batch of fakes, is used again: detach() it "
            "for the earlier use, or compute it anew)");
      if (in && in->requires_grad && in->visit_mark != stamp) {
        in->visit_mark = stamp;
        stack.emplace_back(std::move(in), 0);
      }
    } else {
      order.push_back(std::move(node));
      stack.pop_back();
    }
  }
  return order;
}
}  // namespace detail

namespace detail {
/// Runs every backward rule behind root, whose gradient is already set, then
/// frees the graph: intermediate nodes drop their inputs, saved tensors and
/// gradients, so memory is returned as soon as the caller's handles go.
template <class T>
void sweep_from(const Var<T>& root) {
  const auto order = topological_order(root.node_ptr());
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node<T>& node = **it;
    if (node.is_leaf()) continue;
    if (node.backward.takes_first()) {
      node.backward(node);
    } else {  // an op with a rule in ops only: run it without recording
      NoGrad no_grad;
      GradGraph<T> rule(*it, Var<T>(node.grad), false);
      node.backward(rule);
    }
    node.backward = nullptr;
    node.inputs.clear();
    node.grad = Tensor<T>();
    node.grad_valid = false;
    node.released = true;
  }
}

template <class T>
void check_can_sweep(const Var<T>& root) {
  check(!root.node().released, "backward: the graph behind this value was already freed by an earlier backward");
  check(root.node().requires_grad, "backward: the value does not require a gradient (no parameter "
                                   "that requires one was used, or it was computed under NoGrad)");
}
}  // namespace detail

/// Accumulates d(loss)/d(leaf) into the grad of every leaf that requires one,
/// then frees the graph.
template <class T>
void backward(const Var<T>& loss) {
  check(loss.numel() == 1, "backward: expected a scalar loss (1 element), found shape ", loss.shape());
  detail::check_can_sweep(loss);
  loss.node().grad_buffer().array() += T(1);  // a leaf loss accumulates, as every leaf does
  detail::sweep_from(loss);
}

/// Accumulates upstream^T d(output)/d(leaf) into every leaf's grad, as PyTorch's
/// output.backward(upstream): the gradient of sum(output * upstream).
template <class T>
void backward(const Var<T>& output, const Tensor<T>& upstream) {
  check(upstream.shape() == output.shape(), "backward: expected an upstream gradient of shape ", output.shape(),
        ", found ", upstream.shape());
  detail::check_can_sweep(output);
  Node<T>& root = output.node();
  if (root.has_grad()) {
    root.grad.array() += upstream.array();
  } else {
    root.grad = upstream;  // into the kept buffer: no zero fill first
    root.grad_valid = true;
  }
  detail::sweep_from(output);
}

/// What grad() builds: values (the default), or a graph that a later
/// backward can differentiate again.
enum class GradGraphMode { values, create_graph };

/// d(output)/d(input) for each input (any range of Vars), as torch.autograd.grad(output, inputs,
/// create_graph=...) gives it: output is a scalar, each input a Var that
/// requires a gradient and was used to compute it. Nothing accumulates into
/// the inputs' grad(), and the graph is kept (a later backward through the
/// result also runs through it). Every op between output and the inputs needs
/// its differentiable rule (an error names the op that has none).
template <class T, class Inputs>
memory::PooledVector<Var<T>> grad(const Var<T>& output, const Inputs& inputs, GradGraphMode mode = GradGraphMode::values) {
  check(output.numel() == 1, "grad: expected a scalar output (1 element), found shape ", output.shape());
  detail::check_can_sweep(output);
  std::size_t k = 0;
  for (const Var<T>& in : inputs) {
    check(in.defined() && in.requires_grad(), "grad: input ", k, " does not require a gradient (make it with "
          "requires_grad, or differentiate with respect to a value that does)");
    ++k;
  }
  const auto order = detail::topological_order(output.node_ptr());
  const std::uint64_t reached = order.back()->visit_mark;  // the sweep's stamp (order.back() is output)

  // The nodes on a path to an input: the inputs, then whatever uses one.
  const std::uint64_t needed = detail::next_stamp();
  k = 0;
  for (const Var<T>& in : inputs) {
    check(in.node().visit_mark == reached || in.node().visit_mark == needed, "grad: input ", k,
          " was not used to compute the output");
    in.node().visit_mark = needed;
    ++k;
  }
  for (const auto& node : order)
    for (const auto& in : node->inputs)
      if (in && in->visit_mark == needed) node->visit_mark = needed;

  struct ClearGraphGrads {  // even on an error: a graph_grad can point back at its node
    const memory::PooledVector<std::shared_ptr<Node<T>>>& nodes;
    ~ClearGraphGrads() {
      for (const auto& node : nodes) node->graph_grad.reset();
    }
  } clear{order};
  std::optional<NoGrad> no_grad;
  if (mode == GradGraphMode::values) no_grad.emplace();
  output.node().graph_grad = Var<T>(Tensor<T>::full(output.shape(), T(1))).node_ptr();
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node<T>& node = **it;
    if (node.is_leaf() || node.visit_mark != needed || !node.graph_grad) continue;
    check(node.backward.takes_second(), "grad: the op '", node.op, "' has no differentiable backward rule, so a "
          "gradient cannot run through it as a graph");
    GradGraph<T> rule(*it, Var<T>(node.graph_grad), true, needed);
    node.backward(rule);
  }

  memory::PooledVector<Var<T>> result;
  result.reserve(inputs.size());
  for (const Var<T>& in : inputs)
    result.push_back(in.node().graph_grad ? Var<T>(in.node().graph_grad) : Var<T>(Tensor<T>(in.shape())));
  return result;
}

/// The same for a list of inputs written out, grad(y, {a, b}), and for one input.
template <class T>
memory::PooledVector<Var<T>> grad(const Var<T>& output, std::initializer_list<Var<T>> inputs,
                                  GradGraphMode mode = GradGraphMode::values) {
  return grad<T, std::initializer_list<Var<T>>>(output, inputs, mode);
}
template <class T>
Var<T> grad(const Var<T>& output, const Var<T>& input, GradGraphMode mode = GradGraphMode::values) {
  return grad(output, {input}, mode)[0];
}

}  // namespace tinygan
