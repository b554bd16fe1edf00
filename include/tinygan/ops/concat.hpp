/// \file
/// Joining a label to an input: concat along dimension 1 (features of [N, F],
/// channels of [N, C, H, W]) and broadcast_spatial, which spreads a vector per
/// sample over an H x W map (PyTorch's v[:, :, None, None].expand(-1, -1, H, W)).
/// narrow takes part of dimension 1 back out: an AC-GAN's D answers with one
/// row of [source, class logits...] per sample.
#pragma once

#include <algorithm>

#include "tinygan/autograd/var.hpp"
#include "tinygan/ops/elementwise.hpp"
#include "tinygan/ops/reshape.hpp"

namespace tinygan {

/// a [N, A, ...] and b [N, B, ...] -> [N, A + B, ...]; the dimensions after the second must agree.
template <class T>
Var<T> concat(const Var<T>& a, const Var<T>& b) {
  const Shape &sa = a.shape(), &sb = b.shape();
  bool fits = sa.rank() >= 2 && sa.rank() == sb.rank() && sa[0] == sb[0];
  for (int i = 2; fits && i < sa.rank(); ++i) fits = sa[i] == sb[i];
  check(fits, "concat: expected two tensors [N, A, ...] and [N, B, ...] alike but for the second dimension, found ",
        sa, " and ", sb);
  Shape shape = sa;
  shape[1] = sa[1] + sb[1];
  const Index n = sa[0], size_a = sa.per_sample(), size_b = sb.per_sample();
  Tensor<T> out = Tensor<T>::uninitialized(shape);
  for (Index i = 0; i < n; ++i) {
    T* row = out.data() + i * (size_a + size_b);
    std::copy_n(a.value().data() + i * size_a, size_a, row);
    std::copy_n(b.value().data() + i * size_b, size_b, row + size_a);
  }
  const auto first_order = [n, size_a, size_b](Node<T>& self) {
    T* ga = self.input_grad_data(0);
    T* gb = self.input_grad_data(1);
    for (Index i = 0; i < n; ++i) {
      const T* row = self.grad.data() + i * (size_a + size_b);
      for (Index j = 0; ga && j < size_a; ++j) ga[i * size_a + j] += row[j];
      for (Index j = 0; gb && j < size_b; ++j) gb[i * size_b + j] += row[size_a + j];
    }
  };
  const auto as_graph = [a_count = sa[1], b_count = sb[1]](GradGraph<T>& g) {
    if (g.needs(0)) g.add(0, narrow(g.grad(), 0, a_count));
    if (g.needs(1)) g.add(1, narrow(g.grad(), a_count, b_count));
  };
  return make_result<T>(std::move(out), "concat", {a, b}, BackwardRules{first_order, as_graph});
}

/// x [N, A, ...] -> [N, count, ...]: entries begin to begin + count - 1 of
/// dimension 1, as PyTorch's x.narrow(1, begin, count).
template <class T>
Var<T> narrow(const Var<T>& x, Index begin, Index count) {
  const Shape& s = x.shape();
  check(s.rank() >= 2 && begin >= 0 && count >= 1 && begin + count <= s[1], "narrow: expected entries ", begin,
        " to ", begin + count - 1, " of dimension 1 of a tensor [N, A, ...], found ", s);
  Shape shape = s;
  shape[1] = count;
  const Index n = s[0], row = s.per_sample(), inner = row / s[1], offset = begin * inner, size = count * inner;
  Tensor<T> out = Tensor<T>::uninitialized(shape);
  for (Index i = 0; i < n; ++i) std::copy_n(x.value().data() + i * row + offset, size, out.data() + i * size);
  const auto first_order = [n, row, offset, size](Node<T>& self) {
    if (T* g = self.input_grad_data(0))
      for (Index i = 0; i < n; ++i)
        for (Index j = 0; j < size; ++j) g[i * row + offset + j] += self.grad[i * size + j];
  };
  const auto as_graph = [begin, total = s[1]](GradGraph<T>& g) {
    if (g.needs(0)) g.add(0, widen(g.grad(), begin, total));
  };
  return make_result<T>(std::move(out), "narrow", {x}, BackwardRules{first_order, as_graph});
}

/// narrow's backward: x [N, A, ...] placed at entries begin to begin + A - 1
/// of dimension 1 of [N, total, ...], zeros elsewhere.
template <class T>
Var<T> widen(const Var<T>& x, Index begin, Index total) {
  const Shape& s = x.shape();
  check(s.rank() >= 2 && begin >= 0 && begin + s[1] <= total, "widen: cannot place ", s, " at entry ", begin,
        " of a dimension of ", total);
  Shape shape = s;
  shape[1] = total;
  const Index n = s[0], size = s.per_sample(), inner = size / s[1], row = total * inner;
  Tensor<T> out(shape);
  for (Index i = 0; i < n; ++i) std::copy_n(x.value().data() + i * size, size, out.data() + i * row + begin * inner);
  return make_result<T>(std::move(out), "widen", {x}, [begin, count = s[1]](GradGraph<T>& g) {
    if (g.needs(0)) g.add(0, narrow(g.grad(), begin, count));
  });
}

/// v [N, K] -> [N, K, height, width], each v[n, k] over the whole map.
template <class T>
Var<T> broadcast_spatial(const Var<T>& v, Index height, Index width) {
  check(v.shape().rank() == 2, "broadcast_spatial: expected vectors [N, K], found ", v.shape());
  check(height >= 1 && width >= 1, "broadcast_spatial: expected a map of at least 1 x 1, found ", height, " x ", width);
  const Index rows = v.numel(), area = height * width;
  Tensor<T> out = Tensor<T>::uninitialized(Shape{v.shape()[0], v.shape()[1], height, width});
  for (Index r = 0; r < rows; ++r) std::fill_n(out.data() + r * area, area, v.value()[r]);
  const auto first_order = [rows, area](Node<T>& self) {
    if (T* g = self.input_grad_data(0))
      for (Index r = 0; r < rows; ++r) {
        const T* map = self.grad.data() + r * area;
        T total = 0;
        for (Index j = 0; j < area; ++j) total += map[j];
        g[r] += total;
      }
  };
  const auto as_graph = [rows, area](GradGraph<T>& g) {  // each map's sum
    if (g.needs(0))
      g.add(0, reshape(sum_per_sample(reshape(g.grad(), Shape{rows, area})), g.input_value(0).shape()));
  };
  return make_result<T>(std::move(out), "broadcast_spatial", {v}, BackwardRules{first_order, as_graph});
}

}  // namespace tinygan
