/// \file
/// dropout: in training, zero each element with probability p and scale the
/// survivors by 1 / (1 - p) (inverted dropout); in eval, the identity.
/// With a shard, x is one rank's slice of a joint batch: the mask is drawn
/// for the whole joint batch and this slice kept (core/shard.hpp).
#pragma once

#include <cmath>
#include <cstdint>

#include "tinygan/autograd/var.hpp"
#include "tinygan/core/rng.hpp"
#include "tinygan/core/shard.hpp"
#include "tinygan/core/threads.hpp"

namespace tinygan {

template <class T>
Var<T> dropout(const Var<T>& x, double p, Rng& rng, bool training, Shard shard = {}) {
  check(p >= 0 && p < 1, "dropout: expected a probability in [0, 1), found ", p);
  if (!training || p == 0) return x;
  // The mask holds 0 or 1/(1-p) per element; it is both the forward factor and the backward one.
  // Each 64-bit draw decides two elements: a 32-bit half below p * 2^32 drops one.
  Tensor<T> mask = Tensor<T>::uninitialized(x.shape());
  const T keep_scale = static_cast<T>(1.0 / (1.0 - p));
  const auto threshold = static_cast<std::uint64_t>(std::ldexp(p, 32));
  T* m = mask.data();
  const Index n = mask.numel(), first = shard.index * n, joint = shard.count * n;
  for (Index j = 0; j < joint; j += 2) {
    const std::uint64_t bits = rng.next_u64();
    for (Index i : {j - first, j + 1 - first})  // the two elements this draw decides, in this slice
      if (i >= 0 && i < n && first + i < joint)
        m[i] = ((i == j - first ? bits : bits >> 32) & 0xffffffffu) < threshold ? T(0) : keep_scale;
  }
  Tensor<T> out = Tensor<T>::uninitialized(x.shape());
  for_each_share(n, [&](Index b, Index len) { out.array(b, len) = x.value().array(b, len) * mask.array(b, len); });
  return make_result<T>(std::move(out), "dropout", {x}, [mask = std::move(mask)](Node<T>& self) {
    if (auto* g = self.input_grad(0))
      for_each_share(g->numel(), [&](Index b, Index len) { g->array(b, len) += self.grad.array(b, len) * mask.array(b, len); });
  });
}

}  // namespace tinygan
