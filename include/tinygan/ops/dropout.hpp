// dropout: in training, zero each element with probability p and scale the
// survivors by 1 / (1 - p) (inverted dropout); in eval, the identity.
#pragma once

#include "tinygan/autograd/var.hpp"
#include "tinygan/core/rng.hpp"

namespace tinygan {

template <class T>
Var<T> dropout(const Var<T>& x, double p, Rng& rng, bool training) {
  check(p >= 0 && p < 1, "dropout: expected a probability in [0, 1), found ", p);
  if (!training || p == 0) return x;
  // The mask holds 0 or 1/(1-p) per element; it is both the forward factor and the backward one.
  Tensor<T> mask(x.shape());
  const T keep_scale = static_cast<T>(1.0 / (1.0 - p));
  for (T& m : mask) m = rng.uniform() < p ? T(0) : keep_scale;
  Tensor<T> out(x.shape());
  out.array() = x.value().array() * mask.array();
  return make_result<T>(std::move(out), "dropout", {x}, [mask = std::move(mask)](Node<T>& self) {
    if (auto* g = self.input_grad(0)) g->array() += self.grad.array() * mask.array();
  });
}

}  // namespace tinygan
