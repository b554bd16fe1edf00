/// \file
/// dropout: in training, zero each element with probability p and scale the
/// survivors by 1 / (1 - p) (inverted dropout); in eval, the identity.
/// With a shard, x is one rank's slice of a joint batch: the mask is the one
/// the whole joint batch would get, of which this rank draws its slice
/// (core/shard.hpp).
#pragma once

#include <cmath>
#include <cstdint>

#include "tinygan/autograd/var.hpp"
#include "tinygan/core/rng.hpp"
#include "tinygan/core/shard.hpp"
#include "tinygan/core/threads.hpp"
#include "tinygan/ops/elementwise.hpp"

namespace tinygan {

namespace detail {
/// The mask [x's shape], 0 or 1/(1-p), is both the forward factor and the backward one.
template <class T>
struct DropoutRule {
  Tensor<T> mask;
  void operator()(Node<T>& self) const {
    if (auto* g = self.input_grad(0))
      for_each_share(g->numel(), [&](Index b, Index len) { g->array(b, len) += self.grad.array(b, len) * mask.array(b, len); });
  }
  void operator()(GradGraph<T>& g) const {
    if (g.needs(0)) g.add(0, mul(g.grad(), Var<T>(mask)));
  }
};
}  // namespace detail

template <class T>
Var<T> dropout(const Var<T>& x, double p, Rng& rng, bool training, Shard shard = {}) {
  check(p >= 0 && p < 1, "dropout: expected a probability in [0, 1), found ", p);
  if (!training || p == 0) return x;
  // The mask holds 0 or 1/(1-p) per element; it is both the forward factor and the backward one.
  // One draw keys the call; element g of the joint batch is dropped when hash32 of (key, g) falls
  // below p * 2^32. So any thread or rank draws any part of the mask alone, in vector registers.
  const Index n = x.value().numel(), first = shard.index * n, joint = shard.count * n;
  check(joint <= (Index{1} << 32), "dropout: expected at most 2^32 elements in the (joint) batch, found ", joint);
  Tensor<T> mask = Tensor<T>::uninitialized(x.shape());
  const std::uint64_t key = rng.next_u64();
  const auto key_low = static_cast<std::uint32_t>(key), key_high = static_cast<std::uint32_t>(key >> 32);
  const auto threshold = static_cast<std::uint32_t>(std::ldexp(p, 32));  // p < 1: below 2^32
  const T keep_scale = static_cast<T>(1.0 / (1.0 - p));
  T* const m = mask.data();
  for_each_share(n, [&](Index b, Index len) {
    // Locals, not the captures: a store through m could alias those, which stops vectorization.
    T* const out = m;
    const T scale = keep_scale;
    const std::uint32_t low = key_low + static_cast<std::uint32_t>(first), high = key_high, below = threshold;
    for (Index i = b; i < b + len; ++i)
      out[i] = hash32(hash32(low + static_cast<std::uint32_t>(i)) ^ high) < below ? T(0) : scale;
  });
  Tensor<T> out = Tensor<T>::uninitialized(x.shape());
  for_each_share(n, [&](Index b, Index len) { out.array(b, len) = x.value().array(b, len) * mask.array(b, len); });
  return make_result<T>(std::move(out), "dropout", {x}, detail::DropoutRule<T>{std::move(mask)});
}

}  // namespace tinygan
