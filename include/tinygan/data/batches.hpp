/// \file
/// Mini-batches drawn from a tensor of samples [N, ...], two ways:
///  - Batches: epochs over a shuffled order, each sample once per epoch;
///  - sample_indices + gather: a fresh uniform index set each iteration, with
///    replacement (the "random 128 real images per step" of many GAN loops).
/// The Rng is always the caller's, so a seed reproduces the batches.
///
/// Data-parallel runs shard them: every rank draws the same order (the same
/// seed) and takes its own part of each joint batch, so the ranks together
/// see what one process with their joint batch size would.
#pragma once

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "tinygan/core/error.hpp"
#include "tinygan/core/rng.hpp"
#include "tinygan/core/shard.hpp"
#include "tinygan/core/tensor.hpp"

namespace tinygan::data {

namespace batch_detail {
inline Shape batch_shape(const Shape& samples, Index count) {
  Shape s{count};
  for (int i = 1; i < samples.rank(); ++i) s.push_back(samples[i]);
  return s;
}

/// Copies samples data[indices[k]] into out[k]; out is resized only when its
/// shape changes, so a reused out allocates nothing.
inline void copy_rows(const Tensor<float>& data, const Index* indices, Index count, Tensor<float>& out) {
  const Shape shape = batch_shape(data.shape(), count);
  if (out.shape() != shape) out.resize(shape);
  const Index row = data.shape().per_sample();
  for (Index k = 0; k < count; ++k)
    std::copy_n(data.data() + indices[k] * row, row, out.data() + k * row);
}
}  // namespace batch_detail

/// Epochs of shuffled mini-batches. An epoch's order is drawn (Fisher-Yates,
/// rng.below) when its first batch is taken, so constructing a Batches draws
/// nothing. When fewer than `batch` samples remain, next() returns false and
/// the epoch ends: the last partial batch is dropped, as Keras-style loops do,
/// so every batch has the same size. The samples tensor is referenced, not
/// copied: it must outlive this object and keep its size.
///
/// With a shard, the epoch is walked in joint batches of batch x shard.count
/// samples and next() gives this shard's slice of each; the State counts
/// joint positions, so a checkpoint resumes with any number of shards.
///
///   for (int e = 0; e < epochs; ++e)
///     while (batches.next(x)) train_step(x);
class Batches {
 public:
  /// Everything a checkpoint needs to resume exactly, together with the
  /// Rng's state: this epoch's order, how far into it, and the epoch count.
  struct State {
    std::vector<Index> order;
    Index position = 0;
    Index epoch = 0;
  };

  Batches(const Tensor<float>& data, Index batch, Rng& rng, Shard shard = {})
      : data_(&data), batch_(batch), rng_(&rng), shard_(shard) {
    check(data.rank() >= 1, "Batches: expected samples [N, ...], found shape ", data.shape());
    check(batch >= 1, "Batches: expected a batch size >= 1, found ", batch);
    check(shard.count >= 1 && shard.index >= 0 && shard.index < shard.count, "Batches: expected shard 0..",
          shard.count - 1, ", found ", shard.index);
    check(data.dim(0) >= joint(), "Batches: batch size ", batch, shard.count > 1 ? " on each of " : "",
          shard.count > 1 ? std::to_string(shard.count) + " ranks" : "", " exceeds the ", data.dim(0), " samples");
    state_.order.resize(static_cast<std::size_t>(data.dim(0)));
    for (std::size_t i = 0; i < state_.order.size(); ++i) state_.order[i] = static_cast<Index>(i);
  }

  /// Fills out with the next batch [batch, ...] and returns true, or returns
  /// false (leaving out alone) and ends the epoch when fewer than batch remain.
  bool next(Tensor<float>& out) {
    const Index n = size();
    check(data_->rank() >= 1 && data_->dim(0) == n, "Batches: the samples changed from ", n,
          " to shape ", data_->shape(), " while batching");
    if (state_.position + joint() > n) {
      state_.position = 0;
      ++state_.epoch;
      return false;
    }
    if (state_.position == 0) shuffle();
    batch_detail::copy_rows(*data_, state_.order.data() + state_.position + shard_.index * batch_, batch_, out);
    state_.position += joint();
    return true;
  }

  Index epoch() const { return state_.epoch; }  // epochs completed
  Index batches_per_epoch() const { return size() / joint(); }
  Index batch_size() const { return batch_; }
  Index size() const { return static_cast<Index>(state_.order.size()); }

  const std::vector<Index>& order() const { return state_.order; }
  Index position() const { return state_.position; }
  /// The sample indices of the batch the last next() gave (its labels, say).
  const Index* last_indices() const {
    check(state_.position >= joint(), "Batches::last_indices: no batch was taken in this epoch");
    return state_.order.data() + state_.position - joint() + shard_.index * batch_;
  }
  const State& state() const { return state_; }

  /// Restores a saved state; the order must be a permutation of 0..N-1.
  void set_state(State state) {
    const Index n = size();
    check(static_cast<Index>(state.order.size()) == n, "Batches::set_state: expected an order of ", n,
          " indices, found ", state.order.size());
    std::vector<bool> seen(static_cast<std::size_t>(n), false);
    for (std::size_t i = 0; i < state.order.size(); ++i) {
      const Index k = state.order[i];
      check(k >= 0 && k < n && !seen[static_cast<std::size_t>(k)], "Batches::set_state: order[", i, "] = ", k,
            " makes it no permutation of 0..", n - 1);
      seen[static_cast<std::size_t>(k)] = true;
    }
    check(state.position >= 0 && state.position <= n, "Batches::set_state: position ", state.position,
          " is outside 0..", n);
    check(state.epoch >= 0, "Batches::set_state: epoch must be >= 0, found ", state.epoch);
    state_ = std::move(state);
  }

 private:
  void shuffle() {
    auto& o = state_.order;
    for (std::size_t i = o.size() - 1; i > 0; --i)
      std::swap(o[i], o[static_cast<std::size_t>(rng_->below(i + 1))]);
  }

  Index joint() const { return batch_ * shard_.count; }  // samples per step over all shards

  const Tensor<float>* data_;
  Index batch_;
  Rng* rng_;
  Shard shard_;
  State state_;
};

/// count indices drawn uniformly from [0, n), with replacement, into out
/// (reused: no allocation once it has the capacity).
inline void sample_indices(Index n, Index count, Rng& rng, std::vector<Index>& out) {
  check(n >= 1, "sample_indices: expected n >= 1, found ", n);
  check(count >= 0, "sample_indices: expected count >= 0, found ", count);
  out.resize(static_cast<std::size_t>(count));
  for (auto& i : out) i = static_cast<Index>(rng.below(static_cast<std::uint64_t>(n)));
}
inline std::vector<Index> sample_indices(Index n, Index count, Rng& rng) {
  std::vector<Index> out;
  sample_indices(n, count, rng, out);
  return out;
}

/// out = data[indices], shape [indices.size(), ...]; resized only when needed.
inline void gather(const Tensor<float>& data, const std::vector<Index>& indices, Tensor<float>& out) {
  check(data.rank() >= 1, "gather: expected samples [N, ...], found shape ", data.shape());
  for (std::size_t k = 0; k < indices.size(); ++k)
    check(indices[k] >= 0 && indices[k] < data.dim(0), "gather: index ", indices[k], " at position ", k,
          " is outside the ", data.dim(0), " samples");
  check(&out != &data, "gather: out must not be the samples tensor");
  batch_detail::copy_rows(data, indices.data(), static_cast<Index>(indices.size()), out);
}

}  // namespace tinygan::data
