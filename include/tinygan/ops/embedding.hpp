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
  // The indices travel with the rule (a pooled copy): the caller's labels may change before backward.
  return make_result<T>(std::move(out), "embedding", {table}, [indices, width](Node<T>& self) {
    if (T* g = self.input_grad_data(0))
      for (Index i = 0; i < indices.numel(); ++i) {
        T* row = g + static_cast<Index>(indices[i]) * width;
        const T* from = self.grad.data() + i * width;
        for (Index j = 0; j < width; ++j) row[j] += from[j];
      }
  });
}

}  // namespace tinygan
