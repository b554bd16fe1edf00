/// \file
/// GradientAverager: after backward on every rank, makes each trainable
/// parameter's gradient the mean over the ranks, so that every rank takes
/// the same optimizer step: the step one process would take on the union of
/// the ranks' batches (for losses that are means over equal-sized batches).
///
/// Bucketed: the gradients are packed into a few buffers of about
/// bucket_bytes each; a bucket's sum is started as soon as it is packed, so
/// packing the next bucket overlaps it, and a step sends one message per
/// bucket (not per tensor). The module's buffers (BatchNorm's running
/// statistics) are averaged in the same messages, which keeps the ranks'
/// copies equal, and so are a few scalars the caller adds (losses).
/// The buckets are allocated once: a step allocates nothing.
#pragma once

#include <algorithm>
#include <initializer_list>
#include <vector>

#include "tinygan/autograd/var.hpp"
#include "tinygan/dist/communicator.hpp"
#include "tinygan/nn/module.hpp"

namespace tinygan::dist {

/// What one bucket holds: tensors [first, last) of the list; the first
/// bucket then a flag per parameter (did it get a gradient) and the scalars.
struct Bucket {
  std::size_t first = 0, last = 0;
  std::vector<float> values;
};

template <class T>
class GradientAverager {
 public:
  static constexpr Index kDefaultBucketBytes = Index{8} << 20;
  static constexpr std::size_t kMaxScalars = 4;

  GradientAverager(Communicator& comm, const nn::Module<T>& module, Index bucket_bytes = kDefaultBucketBytes)
      : comm_(&comm) {
    check(bucket_bytes >= static_cast<Index>(sizeof(float)), "GradientAverager: expected a bucket of at least 4 bytes, found ",
          bucket_bytes);
    for (auto& [name, p] : module.named_parameters()) tensors_.push_back({p, true});
    for (auto& [name, b] : module.named_buffers()) tensors_.push_back({b, false});
    const Index per_bucket = bucket_bytes / static_cast<Index>(sizeof(float));
    Index filled = 0;
    for (std::size_t i = 0; i < tensors_.size(); ++i) {
      if (buckets_.empty() || (filled > 0 && filled + tensors_[i].var.numel() > per_bucket)) {
        buckets_.push_back({i, i, {}});
        filled = 0;
      }
      buckets_.back().last = i + 1;
      filled += tensors_[i].var.numel();
    }
    if (buckets_.empty()) buckets_.push_back({0, 0, {}});  // a module of nothing still carries the scalars
    for (auto& b : buckets_) {
      Index n = 0;
      for (std::size_t i = b.first; i < b.last; ++i) n += tensors_[i].var.numel();
      b.values.resize(static_cast<std::size_t>(n) + (&b == &buckets_.front() ? tensors_.size() + kMaxScalars : 0));
    }
  }

  /// Averages the gradients of the parameters that require one (a frozen
  /// part of the module is left out on every rank alike), the buffers, and
  /// each scalar in place. A parameter that got no gradient on some rank
  /// counts as zero there; one that got none on any rank keeps none, so that
  /// the optimizer skips it as it would in one process.
  void average(std::initializer_list<double*> scalars = {}) {
    check(scalars.size() <= kMaxScalars, "GradientAverager: at most ", kMaxScalars, " scalars, found ",
          scalars.size());
    for (auto& e : tensors_) e.had_grad = e.parameter && e.var.has_grad();  // before packing fills the gaps
    std::size_t flags_at = 0;  // where the first bucket's flags start
    for (auto& b : buckets_) {
      float* out = b.values.data();
      for (std::size_t i = b.first; i < b.last; ++i) out = pack(tensors_[i], out);
      if (&b == &buckets_.front()) {
        flags_at = static_cast<std::size_t>(out - b.values.data());
        for (const auto& e : tensors_)
          if (e.parameter && takes_part(e)) *out++ = e.had_grad ? 1.0f : 0.0f;
        for (double* s : scalars) *out++ = static_cast<float>(*s);
      }
      comm_->start_sum(b.values.data(), static_cast<Index>(out - b.values.data()));
    }
    comm_->wait("the gradient all-reduce");
    const T inverse = T(1) / static_cast<T>(comm_->size());
    for (auto& b : buckets_) {
      const float* in = b.values.data();
      for (std::size_t i = b.first; i < b.last; ++i) in = unpack(tensors_[i], in, inverse);
    }
    // Only now: unpacking reads each gradient, which would revive one dropped before.
    const float* in = buckets_.front().values.data() + flags_at;
    for (auto& e : tensors_)
      if (e.parameter && takes_part(e) && *in++ == 0.0f) e.var.zero_grad();  // no rank had one
    for (double* s : scalars) *s = static_cast<double>(*in++) * static_cast<double>(inverse);
  }

  /// Messages per average(): one per bucket.
  std::size_t buckets() const { return buckets_.size(); }

 private:
  struct Entry {
    Var<T> var;
    bool parameter;          // else a buffer
    bool had_grad = false;   // a parameter's gradient arrived before this average()
  };
  bool takes_part(const Entry& e) const { return !e.parameter || e.var.requires_grad(); }
  /// The gradient of a parameter, the value of a buffer.
  Tensor<T>& source(Entry& e) { return e.parameter ? e.var.grad() : e.var.value(); }

  float* pack(Entry& e, float* out) {
    if (!takes_part(e)) return out;
    const Tensor<T>& t = source(e);
    return std::transform(t.data(), t.data() + t.numel(), out, [](T v) { return static_cast<float>(v); });
  }
  const float* unpack(Entry& e, const float* in, T inverse) {
    if (!takes_part(e)) return in;
    Tensor<T>& t = source(e);
    std::transform(in, in + t.numel(), t.data(), [inverse](float v) { return static_cast<T>(v) * inverse; });
    return in + t.numel();
  }

  Communicator* comm_;
  std::vector<Entry> tensors_;
  std::vector<Bucket> buckets_;
};

}  // namespace tinygan::dist
