/// \file
/// Where a training loop's batches come from. A Source fills one D step's
/// batches (real samples, G's inputs for the fakes, G's inputs for the G
/// step), each with class labels when the data has them, draws G's inputs
/// for sample grids and BatchNorm statistics, and keeps its place in a
/// checkpoint. Two kinds cover the examples:
///  - ImageSource: real images in shuffled epochs, G's inputs N(0, 1) noise;
///  - PairedSource: image-to-image models, whose G takes an image and whose
///    D's reals are that image's target, drawn as one index set per step.
///
/// Data-parallel runs shard them (see core/shard.hpp): every rank draws the
/// joint batch alike and keeps its own rows.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tinygan/core/rng.hpp"
#include "tinygan/core/shard.hpp"
#include "tinygan/core/tensor.hpp"
#include "tinygan/data/batches.hpp"
#include "tinygan/io/checkpoint.hpp"

namespace tinygan::gan {

/// One D step's batches and the G step's input. Labels are class indices [N]
/// (empty when the data has none).
struct StepBatches {
  Tensor<float> real, real_labels;
  Tensor<float> fake_input, fake_labels;
  Tensor<float> g_input, g_labels;
  bool paired = false;  // `real` is the target of each G input (Recipe::pixel_loss)
  static const Tensor<float>* labels_or_null(const Tensor<float>& t) { return t.numel() ? &t : nullptr; }
};

class Source {
 public:
  virtual ~Source() = default;
  /// Fills the next D step's batches; reuses their storage.
  virtual void next(StepBatches& b) = 0;
  virtual std::int64_t batches_per_epoch() const = 0;
  /// n of G's inputs, the same for every call with the same rng state: the
  /// sample grids' fixed inputs.
  virtual Tensor<float> fixed_inputs(Index n, Rng& rng) const = 0;
  /// n of G's inputs drawn from rng into out (BatchNorm statistics).
  virtual void random_inputs(Index n, Rng& rng, Tensor<float>& out) = 0;
  /// Whether G's input is an image paired with D's real sample (grids then show input beside output).
  virtual bool paired() const { return false; }
  /// The number of classes its batches' labels come from; 0 when they have none.
  virtual Index classes() const { return 0; }
  /// The stream the batches and noise are drawn from: a checkpoint keeps it.
  virtual Rng& noise() = 0;
  /// A resumed run goes on from the same place in the data.
  virtual void save(io::Checkpoint<float>&) const {}
  virtual void load(const io::Checkpoint<float>&) {}
};

namespace detail {
/// This shard's rows [index x n, (index + 1) x n) of a joint batch.
inline void keep_shard_rows(Tensor<float>& joint, Shard shard) {
  if (shard.count == 1) return;
  Shape s = joint.shape();
  s[0] /= shard.count;
  Tensor<float> part = Tensor<float>::uninitialized(s);
  std::copy_n(joint.data() + shard.index * part.numel(), part.numel(), part.data());
  joint = std::move(part);
}
inline void draw_labels(Index n, Index classes, Rng& rng, Tensor<float>& out) {
  if (out.shape() != Shape{n}) out.resize(Shape{n});
  for (Index i = 0; i < n; ++i) out[i] = static_cast<float>(rng.below(static_cast<std::uint64_t>(classes)));
}
}  // namespace detail

/// Labels [n] cycling through the classes (0, 1, ..., classes - 1, 0, ...):
/// every class alike, for a conditional G's scores and statistics.
inline Tensor<float> every_class(Index n, Index classes) {
  Tensor<float> labels(Shape{n});
  for (Index i = 0; i < n; ++i) labels[i] = static_cast<float>(i % classes);
  return labels;
}

/// A noise GAN's data: images [N, ...] (optionally with a class per image)
/// in shuffled epochs, and N(0, 1) noise [batch, latent] for G. With labels,
/// the fakes' classes are drawn uniformly from [0, classes).
class ImageSource : public Source {
 public:
  struct Options {
    Index latent = 100;
    Index real_batch = 64, fake_batch = 64, g_batch = 64;  // per shard
    Shard shard;
  };

  /// images (and labels) are referenced, not copied: they must outlive the source.
  ImageSource(const Tensor<float>& images, Rng& rng, Options options,
              const std::vector<std::int32_t>* labels = nullptr, Index classes = 0)
      : images_(images), rng_(rng), o_(options), labels_(labels), classes_(classes),
        batches_(images, options.real_batch, rng, options.shard) {
    check(options.latent >= 1, "ImageSource: expected a latent size >= 1, found ", options.latent);
    check(!labels || static_cast<Index>(labels->size()) == images.dim(0), "ImageSource: expected ", images.dim(0),
          " labels, one per image, found ", labels ? labels->size() : 0);
    check(!labels || classes >= 1, "ImageSource: labelled images need the number of classes, found ", classes);
    for (std::size_t i = 0; labels && i < labels->size(); ++i)
      check((*labels)[i] >= 0 && (*labels)[i] < classes, "ImageSource: label ", int((*labels)[i]), " of image ", i,
            " is outside the classes 0..", classes - 1);
  }
  /// The source keeps a reference: a temporary would be gone before the first batch.
  ImageSource(Tensor<float>&&, Rng&, Options, const std::vector<std::int32_t>* = nullptr, Index = 0) = delete;

  void next(StepBatches& b) override {
    if (!batches_.next(b.real)) batches_.next(b.real);  // an epoch ended: start the next
    const Index ranks = o_.shard.count;
    b.fake_input = Tensor<float>::randn({o_.fake_batch * ranks, o_.latent}, rng_);
    detail::keep_shard_rows(b.fake_input, o_.shard);
    b.g_input = Tensor<float>::randn({o_.g_batch * ranks, o_.latent}, rng_);
    detail::keep_shard_rows(b.g_input, o_.shard);
    if (!labels_) return;
    const Index* picked = batches_.last_indices();
    if (b.real_labels.shape() != Shape{o_.real_batch}) b.real_labels.resize(Shape{o_.real_batch});
    for (Index k = 0; k < o_.real_batch; ++k) b.real_labels[k] = (*labels_)[static_cast<std::size_t>(picked[k])];
    detail::draw_labels(o_.fake_batch * ranks, classes_, rng_, b.fake_labels);
    detail::keep_shard_rows(b.fake_labels, o_.shard);
    detail::draw_labels(o_.g_batch * ranks, classes_, rng_, b.g_labels);
    detail::keep_shard_rows(b.g_labels, o_.shard);
  }
  std::int64_t batches_per_epoch() const override { return batches_.batches_per_epoch(); }
  Tensor<float> fixed_inputs(Index n, Rng& rng) const override { return Tensor<float>::randn({n, o_.latent}, rng); }
  Index classes() const override { return labels_ ? classes_ : 0; }
  void random_inputs(Index n, Rng& rng, Tensor<float>& out) override { out = Tensor<float>::randn({n, o_.latent}, rng); }
  Rng& noise() override { return rng_; }

  void save(io::Checkpoint<float>& c) const override {
    Tensor<float> order(Shape{batches_.size()});  // indices < 2^24 are exact in float
    for (Index i = 0; i < batches_.size(); ++i) order[i] = static_cast<float>(batches_.order()[static_cast<std::size_t>(i)]);
    c.put_tensor("batches.order", std::move(order));
    c.put_int("batches.position", batches_.position());
    c.put_int("batches.epoch", batches_.epoch());
  }
  void load(const io::Checkpoint<float>& c) override {
    data::Batches::State state;
    for (float k : c.tensor("batches.order")) {
      // Checked before the cast, which is undefined for a NaN or a huge value.
      check(k >= 0 && k < static_cast<float>(images_.dim(0)), c.source(), ": batches.order holds ", k,
            ", expected sample indices from 0 to ", images_.dim(0) - 1);
      state.order.push_back(static_cast<Index>(k));
    }
    state.position = c.get_int("batches.position");
    state.epoch = c.get_int("batches.epoch");
    batches_.set_state(std::move(state));
  }

 private:
  const Tensor<float>& images_;
  Rng& rng_;
  Options o_;
  const std::vector<std::int32_t>* labels_;
  Index classes_;
  data::Batches batches_;
};

/// An image-to-image model's data: one random index set per step (with
/// replacement); G's input is inputs[idx], D's reals are targets[idx]. The
/// fakes of the D step and the G step share that input.
class PairedSource : public Source {
 public:
  /// inputs and targets are referenced, not copied: they must outlive the source.
  PairedSource(const Tensor<float>& inputs, const Tensor<float>& targets, Index batch, Rng& rng, Shard shard = {})
      : inputs_(inputs), targets_(targets), batch_(batch), rng_(rng), shard_(shard) {
    check(inputs.shape() == targets.shape(), "PairedSource: expected targets of the inputs' shape ", inputs.shape(),
          ", found ", targets.shape());
    check(inputs.dim(0) >= 1 && batch >= 1, "PairedSource: expected samples and a batch of at least one, found ",
          inputs.dim(0), " and ", batch);
  }
  /// The source keeps references: temporaries would be gone before the first batch.
  PairedSource(Tensor<float>&&, const Tensor<float>&, Index, Rng&, Shard = {}) = delete;
  PairedSource(const Tensor<float>&, Tensor<float>&&, Index, Rng&, Shard = {}) = delete;

  void next(StepBatches& b) override {
    data::sample_indices(inputs_.dim(0), batch_ * shard_.count, rng_, picks_);
    if (shard_.count > 1) {
      std::copy_n(picks_.begin() + shard_.index * batch_, batch_, picks_.begin());
      picks_.resize(static_cast<std::size_t>(batch_));
    }
    data::gather(targets_, picks_, b.real);
    data::gather(inputs_, picks_, b.fake_input);
    b.g_input = b.fake_input;
    b.paired = true;
  }
  /// An "epoch" is as many index sets as the data has whole batches.
  std::int64_t batches_per_epoch() const override {
    return std::max<Index>(inputs_.dim(0) / (batch_ * shard_.count), 1);
  }
  /// The first n inputs (a small set may have fewer).
  Tensor<float> fixed_inputs(Index n, Rng&) const override {
    Shape s = inputs_.shape();
    s[0] = std::min(n, inputs_.dim(0));
    Tensor<float> out(s);
    std::copy_n(inputs_.data(), out.numel(), out.data());
    return out;
  }
  void random_inputs(Index n, Rng& rng, Tensor<float>& out) override {
    data::sample_indices(inputs_.dim(0), n, rng, statistics_picks_);
    data::gather(inputs_, statistics_picks_, out);
  }
  bool paired() const override { return true; }
  Rng& noise() override { return rng_; }

 private:
  const Tensor<float>& inputs_;
  const Tensor<float>& targets_;
  Index batch_;
  Rng& rng_;
  Shard shard_;
  std::vector<Index> picks_, statistics_picks_;
};

}  // namespace tinygan::gan
