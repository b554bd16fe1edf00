/// \file
/// embedding: the rows of a table picked by class index (PyTorch's
/// F.embedding), how a conditional GAN turns a label into a vector. The
/// backward adds each output row's gradient into the table row it came from.
#pragma once

#include <algorithm>
#include <cmath>

#include "tinygan/autograd/var.hpp"

namespace tinygan {

namespace detail {
/// Class indices [N] held as T (the form the data's labels take): whole numbers in [0, rows).
template <class T>
void check_class_indices(const char* op, const Tensor<T>& indices, Index rows) {
  check(indices.rank() == 1, op, ": expected class indices of shape [N], found ", indices.shape());
  for (Index i = 0; i < indices.numel(); ++i) {
    const T c = indices[i];
    check(c >= 0 && c < static_cast<T>(rows) && std::floor(c) == c, op, ": expected class indices 0 to ", rows - 1,
          " (whole numbers), found ", c, " at position ", i);
  }
}

/// table_grad[indices[n]] += grad row n.
template <class T>
void scatter_rows(const T* grad, const Tensor<T>& indices, Index width, T* table_grad) {
  for (Index i = 0; i < indices.numel(); ++i) {
    T* row = table_grad + static_cast<Index>(indices[i]) * width;
    const T* from = grad + i * width;
    for (Index j = 0; j < width; ++j) row[j] += from[j];
  }
}

/// The indices travel with the rule (a pooled copy): the caller's labels may change before backward.
template <class T>
struct EmbeddingRule {
  Tensor<T> indices;
  Index rows;
  void operator()(Node<T>& self) const {
    if (T* g = self.input_grad_data(0)) scatter_rows(self.grad.data(), indices, self.value.shape()[1], g);
  }
  void operator()(GradGraph<T>& g) const {
    if (g.needs(0)) g.add(0, embedding_scatter(g.grad(), indices, rows));
  }
};
}  // namespace detail

/// table [K, E], indices [N] -> [N, E]: row n is table[indices[n]].
template <class T>
Var<T> embedding(const Var<T>& table, const Tensor<T>& indices) {
  check(table.shape().rank() == 2, "embedding: expected a table [classes, features], found ", table.shape());
  detail::check_class_indices("embedding", indices, table.shape()[0]);
  const Index n = indices.numel(), width = table.shape()[1];
  Tensor<T> out = Tensor<T>::uninitialized(Shape{n, width});
  for (Index i = 0; i < n; ++i) {
    const T* row = table.value().data() + static_cast<Index>(indices[i]) * width;
    std::copy(row, row + width, out.data() + i * width);
  }
  return make_result<T>(std::move(out), "embedding", {table}, detail::EmbeddingRule<T>{indices, table.shape()[0]});
}

/// embedding's backward: rows [N, E] added into a zero table [rows, E] at
/// their indices. Its own backward picks the rows again (embedding).
template <class T>
Var<T> embedding_scatter(const Var<T>& grad, const Tensor<T>& indices, Index rows) {
  check(grad.shape().rank() == 2 && grad.shape()[0] == indices.numel(), "embedding_scatter: expected [",
        indices.numel(), ", E] rows for ", indices.numel(), " indices, found ", grad.shape());
  detail::check_class_indices("embedding_scatter", indices, rows);
  const Index width = grad.shape()[1];
  Tensor<T> out(Shape{rows, width});
  detail::scatter_rows(grad.value().data(), indices, width, out.data());
  return make_result<T>(std::move(out), "embedding_scatter", {grad}, [indices](GradGraph<T>& g) {
    if (g.needs(0)) g.add(0, embedding(g.grad(), indices));
  });
}

}  // namespace tinygan
