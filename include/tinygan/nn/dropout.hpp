/// \file
/// Dropout with its own seeded mask stream, so runs reproduce bit for bit.
#pragma once

#include "tinygan/nn/init.hpp"
#include "tinygan/nn/module.hpp"
#include "tinygan/ops/dropout.hpp"

namespace tinygan::nn {

template <class T>
class Dropout : public Module<T> {
 public:
  explicit Dropout(double p = 0.5) : p_(p), rng_(init::next_construction_seed()) {
    check(p >= 0 && p < 1, "Dropout: expected a probability in [0, 1), found ", p);
  }
  Var<T> forward(const Var<T>& x) override { return dropout(x, p_, rng_, this->is_training()); }
  std::string type_name() const override { return "Dropout"; }
  void initialize(Rng& rng) override { rng_.seed(rng.next_u64()); }
  double p() const { return p_; }
  Rng& rng() { return rng_; }

 private:
  double p_;
  Rng rng_;
};

}  // namespace tinygan::nn
