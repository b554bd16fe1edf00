/// \file
/// backward(loss): reverse-mode sweep over the graph behind a scalar.
#pragma once

#include <atomic>
#include <cstdint>

#include "tinygan/autograd/var.hpp"

namespace tinygan {

namespace detail {
/// Nodes that need a gradient, each after all of its inputs (iterative DFS, so
/// deep graphs cannot overflow the stack). The order owns its nodes, so that
/// freeing the graph during the sweep cannot free a node still to be visited.
/// A node counts as seen when its mark equals this sweep's stamp.
template <class T>
memory::PooledVector<std::shared_ptr<Node<T>>> topological_order(const std::shared_ptr<Node<T>>& root) {
  static std::atomic<std::uint64_t> sweeps{0};
  const std::uint64_t stamp = ++sweeps;
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
    node.backward(node);
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

}  // namespace tinygan
