/// \file
/// Per-channel sums and their broadcast, over axis 1 of [N, C] or [N, C, H, W]:
/// how the gradients of biases and of batch_norm are written as graphs. Each
/// is the other's backward.
#pragma once

#include <algorithm>
#include <numeric>

#include "tinygan/autograd/var.hpp"

namespace tinygan {

namespace detail {
/// (batch, channels, plane) of [N, C] or [N, C, H, W].
inline void channel_layout(const char* op, const Shape& s, Index& batch, Index& channels, Index& plane) {
  check(s.rank() == 2 || s.rank() == 4, op, ": expected [N, C] or [N, C, H, W], found ", s);
  batch = s[0];
  channels = s[1];
  plane = s.rank() == 4 ? s[2] * s[3] : 1;
}
}  // namespace detail

template <class T>
Var<T> broadcast_channels(const Var<T>& v, const Shape& shape);

/// x [N, C, ...] -> [C]: each channel's sum over the batch and the plane.
template <class T>
Var<T> sum_channels(const Var<T>& x) {
  Index batch, channels, plane;
  detail::channel_layout("sum_channels", x.shape(), batch, channels, plane);
  Tensor<T> out(Shape{channels});
  for (Index n = 0; n < batch; ++n)
    for (Index c = 0; c < channels; ++c) {
      const T* p = x.value().data() + (n * channels + c) * plane;
      out[c] += std::accumulate(p, p + plane, T(0));
    }
  return make_result<T>(std::move(out), "sum_channels", {x}, [](GradGraph<T>& g) {
    if (g.needs(0)) g.add(0, broadcast_channels(g.grad(), g.input_value(0).shape()));
  });
}

/// v [C] -> `shape` [N, C, ...]: v[c] at every element of channel c.
template <class T>
Var<T> broadcast_channels(const Var<T>& v, const Shape& shape) {
  Index batch, channels, plane;
  detail::channel_layout("broadcast_channels", shape, batch, channels, plane);
  check(v.shape() == Shape{channels}, "broadcast_channels: expected a value per channel [", channels, "] for ", shape,
        ", found ", v.shape());
  Tensor<T> out = Tensor<T>::uninitialized(shape);
  for (Index n = 0; n < batch; ++n)
    for (Index c = 0; c < channels; ++c) std::fill_n(out.data() + (n * channels + c) * plane, plane, v.value()[c]);
  return make_result<T>(std::move(out), "broadcast_channels", {v}, [](GradGraph<T>& g) {
    if (g.needs(0)) g.add(0, sum_channels(g.grad()));
  });
}

}  // namespace tinygan
