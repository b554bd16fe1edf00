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
  Var<T> forward(const Var<T>& x) override { return dropout(x, p_, rng_, this->is_training(), shard_); }
  std::string type_name() const override { return "Dropout"; }
  void initialize(Rng& rng) override { rng_.seed(rng.next_u64()); }
  double p() const { return p_; }
  Rng& rng() { return rng_; }
  /// Data-parallel: this rank's slice of masks drawn for the joint batch
  /// (every rank's stream must be the same: dist::shard_dropout).
  void set_shard(Shard shard) {
    check(shard.count >= 1 && shard.index >= 0 && shard.index < shard.count, "Dropout: expected shard 0..",
          shard.count - 1, ", found ", shard.index);
    shard_ = shard;
  }

 private:
  double p_;
  Rng rng_;
  Shard shard_;
};

}  // namespace tinygan::nn
