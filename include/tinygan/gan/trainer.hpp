/// \file
/// One GAN iteration as docs/models.md describes it: a D step on a real batch and a
/// batch of fakes made without gradient, then a G step through the frozen D
/// (nothing of D changes: weights, BatchNorm statistics, optimizer state),
/// with real label 1 and fake label 0. With Recipe::reuse_fakes the D step's
/// fakes keep G's graph and a G step on the same noise reuses them, as
/// PyTorch's DCGAN example does: G's weights do not change in between, so
/// its second forward pass would repeat the first.
///
/// Data-parallel (distribute()): every rank runs the same steps on its own
/// shard of the batch, and each step's gradients, BatchNorm running
/// statistics and reported losses are averaged over the ranks before the
/// optimizer uses them, so all ranks keep identical weights.
#pragma once

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "tinygan/autograd/backward.hpp"
#include "tinygan/dist/gradient_average.hpp"
#include "tinygan/dist/modules.hpp"
#include "tinygan/gan/divergence.hpp"
#include "tinygan/gan/gradient_penalty.hpp"
#include "tinygan/gan/recipe.hpp"
#include "tinygan/nn/conditional.hpp"
#include "tinygan/ops/activations.hpp"
#include "tinygan/ops/concat.hpp"
#include "tinygan/ops/elementwise.hpp"
#include "tinygan/ops/losses.hpp"
#include "tinygan/optim/adam.hpp"

namespace tinygan::gan {

/// How far a run is before its next step, in [0, 1): the larger of its share
/// of iterations done and, for a run with a time budget (budget_seconds > 0),
/// its share of the time used, so a decay follows whichever ends the run
/// first. A step that starts just as the time runs out still gets a fraction
/// below 1 (the run stops after it).
inline double run_fraction(std::int64_t done, std::int64_t total, double seconds = 0, double budget_seconds = 0) {
  check(total > 0 && done >= 0 && done < total, "run_fraction: expected an iteration in [0, ", total, "), found ",
        done);
  double f = static_cast<double>(done) / static_cast<double>(total);
  if (budget_seconds > 0) f = std::max(f, seconds / budget_seconds);
  return std::clamp(f, 0.0, std::nextafter(1.0, 0.0));
}

/// Recipe::lr_decay's factor once `fraction` of the run is done: 1 for the
/// first half, then linearly down towards 0 at the end.
inline double lr_decay_factor(double fraction) {
  check(fraction >= 0 && fraction < 1, "lr_decay_factor: expected a run fraction in [0, 1), found ", fraction);
  return std::min(1.0, 2.0 * (1.0 - fraction));
}

struct StepStats {
  double d_loss = 0;      // mean BCE over the real and the fake batch, plus the R1 penalty and AC-GAN class loss when on
  double g_loss = 0;
  double d_acc_real = 0;  // share of real samples D scores above 0.5
  double d_acc_fake = 0;  // share of fakes D scores below 0.5
  bool skipped = false;   // a step was not finite and was skipped (OnNonFinite::skip)
};

class Trainer {
 public:
  /// Any modules: G maps its input batch to samples, D maps samples to one
  /// output per sample, a probability or (Recipe::d_logits) a logit. A
  /// conditional module (nn::Conditional) also gets the batch's labels.
  using Model = std::shared_ptr<nn::Module<float>>;

  Trainer(Model generator, Model discriminator, const Recipe& recipe)
      : g_(std::move(generator)),
        d_(std::move(discriminator)),
        recipe_(recipe),
        opt_g_(g_->parameters(), optim::AdamOptions(recipe.lr_g).beta1(recipe.beta1).beta2(recipe.beta2)),
        opt_d_(d_->parameters(), optim::AdamOptions(recipe.lr_d).beta1(recipe.beta1).beta2(recipe.beta2)),
        g_watch_("generator", *g_),
        d_watch_("discriminator", *d_) {
    check(recipe.real_label > 0 && recipe.real_label <= 1, "Trainer: expected a real label in (0, 1], found ",
          recipe.real_label);
    check(recipe.ema_decay >= 0 && recipe.ema_decay < 1, "Trainer: expected an EMA decay in [0, 1), found ",
          recipe.ema_decay);
    check(recipe.d_steps >= 1, "Trainer: expected at least one D step per G step, found ", recipe.d_steps);
    check(recipe.pixel_loss >= 0, "Trainer: expected a pixel-loss weight >= 0, found ", recipe.pixel_loss);
    check(recipe.r1_gamma >= 0, "Trainer: expected an R1 weight >= 0, found ", recipe.r1_gamma);
    check(recipe.ac_gan >= 0, "Trainer: expected an AC-GAN class-loss weight >= 0, found ", recipe.ac_gan);
    check(recipe.ac_gan == 0 || dynamic_cast<nn::Conditional<float>*>(d_.get()), "Trainer: the AC-GAN recipe "
          "(Recipe::ac_gan) trains a conditional discriminator with a classifier head, found ", d_->type_name());
    // A D declared to output logits but ending in a Sigmoid would train BCE-with-logits on probabilities.
    if (const auto* layers = dynamic_cast<const nn::Sequential<float>*>(d_.get());
        recipe.d_logits && layers && layers->size() > 0)
      check((*layers)[layers->size() - 1].type_name() != "Sigmoid", "Trainer: the discriminator is declared to "
            "output logits (Recipe::d_logits) but ends in a Sigmoid; build it without its Sigmoid");
    check(recipe.r1_every >= 1, "Trainer: expected the R1 penalty every 1 or more D steps, found ", recipe.r1_every);
    check(recipe.gp_lambda >= 0, "Trainer: expected a WGAN-GP weight >= 0, found ", recipe.gp_lambda);
    check(recipe.loss == AdversarialLoss::bce || recipe.d_logits, "Trainer: the ", detail::loss_name(recipe.loss),
          " loss needs D's raw score (Recipe::d_logits); build D without its Sigmoid");
    if (recipe.gp_lambda > 0) {
      const std::string batch_norm = first_batch_norm(*d_);
      check(batch_norm.empty(), "Trainer: WGAN-GP's penalty (Recipe::gp_lambda) needs a critic without BatchNorm, "
            "which would couple the samples whose gradients it judges; discriminator layer ", batch_norm,
            " is BatchNorm (build the model's critic variant)");
    }
  }

  /// The moving average of G's weights (Recipe::ema_decay) lives in `copy`, a
  /// second generator of the same architecture; it starts as G's weights.
  void set_ema_generator(Model copy) {
    check(recipe_.ema_decay > 0, "Trainer: set_ema_generator without an EMA decay in the recipe");
    ema_ = std::move(copy);
    const auto pair_up = [](auto from, auto to, std::vector<std::pair<Var<float>, Var<float>>>& out) {
      check(from.size() == to.size(), "Trainer: the EMA generator's architecture differs from the generator's");
      out.clear();
      for (std::size_t i = 0; i < from.size(); ++i) {
        check(from[i].second.shape() == to[i].second.shape(), "Trainer: EMA tensor ", to[i].first, " is ",
              to[i].second.shape(), ", the generator's is ", from[i].second.shape());
        out.emplace_back(from[i].second, to[i].second);
        to[i].second.value() = from[i].second.value();
      }
    };
    pair_up(g_->named_parameters(), ema_->named_parameters(), ema_parameters_);
    pair_up(g_->named_buffers(), ema_->named_buffers(), ema_buffers_);
  }

  /// Trains data-parallel over comm's ranks from now on (see the file's
  /// comment); comm must outlive the trainer. The ranks must start from the
  /// same weights (dist::broadcast_module).
  void distribute(dist::Communicator& comm) {
    dist::shard_dropout(comm, *g_);
    dist::shard_dropout(comm, *d_);
    g_average_.emplace(comm, *g_);
    d_average_.emplace(comm, *d_);
  }
  bool distributed() const { return d_average_.has_value(); }

  /// One D step: real samples against fakes made from fake_input without
  /// gradient. Labels (class indices [N]) go to the models that take them:
  /// real_labels with the real samples, fake_labels with G's input and its fakes.
  StepStats d_step(const Tensor<float>& real, const Tensor<float>& fake_input,
                   const Tensor<float>* real_labels = nullptr, const Tensor<float>* fake_labels = nullptr) {
    StepStats stats;
    Var<float> fake;
    if (recipe_.reuse_fakes) {
      reusable_fakes_ = nn::apply(*g_, Var<float>(fake_input), fake_labels);
      reusable_input_ = fake_input;
      reusable_labels_ = fake_labels ? *fake_labels : Tensor<float>();
      fake = reusable_fakes_.detach();
    } else {
      NoGrad no_grad;
      fake = nn::apply(*g_, Var<float>(fake_input), fake_labels);
    }
    opt_d_.zero_grad();
    // With R1 due, D's pass over the reals serves its loss and the penalty both.
    // (Lazy R1 counts iterations, which a resumed run restores, so it resumes bit for bit.)
    const bool r1_due = recipe_.r1_gamma > 0 && iteration_ % recipe_.r1_every == 0;
    const Var<float> real_in(real, r1_due);
    const Var<float> d_real_out = nn::apply(*d_, real_in, real_labels);
    const Var<float> d_fake_out = nn::apply(*d_, fake, fake_labels);
    const Var<float> d_real = score_of(d_real_out), d_fake = score_of(d_fake_out);
    Var<float> d_loss = adversarial_d_loss(d_real, d_fake);
    if (recipe_.gp_lambda > 0) d_loss = add(d_loss, interpolates_penalty(real, fake.value(), real_labels));
    if (recipe_.ac_gan > 0)  // D's classifier learns the reals' classes and those the fakes were asked for
      d_loss = add(d_loss, scale(add(class_loss(d_real_out, real_labels), class_loss(d_fake_out, fake_labels)),
                                 0.5f * static_cast<float>(recipe_.ac_gan)));
    if (r1_due) {  // lazy R1 (every r1_every iterations) weighs each penalty r1_every times
      const auto gamma = static_cast<float>(recipe_.r1_gamma * recipe_.r1_every);
      d_loss = add(d_loss, r1_penalty(real_in, logit_of(d_real, recipe_.d_logits), gamma));
      real_in.node().requires_grad = false;  // the reals' own gradient is of no use: skip computing it
    }
    backward(d_loss);
    stats.d_loss = d_loss.value()[0];
    const float middle = recipe_.d_logits ? 0.0f : 0.5f;  // D's "undecided" output
    stats.d_acc_real = share(d_real.value(), [middle](float p) { return p > middle; });
    stats.d_acc_fake = share(d_fake.value(), [middle](float p) { return p < middle; });
    if (d_average_) d_average_->average({&stats.d_loss, &stats.d_acc_real, &stats.d_acc_fake});
    if (!finite_step("D", stats.d_loss, d_watch_)) {
      stats.skipped = true;
      return stats;
    }
    opt_d_.step();
    return stats;
  }

  /// One G step through the frozen D (nothing of D changes); ends the iteration.
  /// `paired` is the real image each input should become (Recipe::pixel_loss);
  /// `g_labels` the classes asked of G, which D judges its fakes as.
  double g_step(const Tensor<float>& g_input, const Tensor<float>* paired = nullptr,
                const Tensor<float>* g_labels = nullptr) {
    check(recipe_.pixel_loss == 0 || paired, "Trainer: the pixel loss needs the real image paired with each G input");
    d_->set_trainable(false);
    opt_g_.zero_grad();
    const bool reuse = reusable_fakes_.defined() && same(g_input, reusable_input_) &&
                       (g_labels ? same(*g_labels, reusable_labels_) : reusable_labels_.numel() == 0);
    const Var<float> fake = reuse ? reusable_fakes_ : nn::apply(*g_, Var<float>(g_input), g_labels);
    reusable_fakes_ = Var<float>();  // G's weights change below
    const Var<float> d_out = nn::apply(*d_, fake, g_labels);
    const Var<float> score = score_of(d_out);
    const Tensor<float>& target = labels(g_ones_, g_input.dim(0), 1.0f);
    Var<float> g_loss;
    if (recipe_.loss != AdversarialLoss::bce)
      g_loss = scale(mean(score), -1.0f);  // Wasserstein and hinge: G raises the critic's score
    else if (recipe_.g_loss == GeneratorLoss::msle)
      g_loss = msle(recipe_.d_logits ? sigmoid(score) : score, target);
    else
      g_loss = d_loss_term(score, target);
    if (recipe_.ac_gan > 0) g_loss = add(g_loss, scale(class_loss(d_out, g_labels), static_cast<float>(recipe_.ac_gan)));
    if (recipe_.pixel_loss > 0) g_loss = add(g_loss, scale(mse(fake, *paired), static_cast<float>(recipe_.pixel_loss)));
    backward(g_loss);
    d_->set_trainable(true);
    double loss = g_loss.value()[0];
    if (g_average_) g_average_->average({&loss});
    if (finite_step("G", loss, g_watch_)) {
      opt_g_.step();
      if (ema_) update_ema();
    }
    ++iteration_;
    d_steps_this_iteration_ = 0;
    return loss;
  }

  /// docs/models.md's iteration: one D step, then one G step (with each batch's
  /// labels for conditional models, as d_step and g_step take them).
  StepStats step(const Tensor<float>& real, const Tensor<float>& fake_input, const Tensor<float>& g_input,
                 const Tensor<float>* real_labels = nullptr, const Tensor<float>* fake_labels = nullptr,
                 const Tensor<float>* g_labels = nullptr) {
    StepStats stats = d_step(real, fake_input, real_labels, fake_labels);
    const std::int64_t skipped_before = skipped_steps_;
    stats.g_loss = g_step(g_input, recipe_.pixel_loss > 0 ? &real : nullptr, g_labels);
    stats.skipped = stats.skipped || skipped_steps_ > skipped_before;
    return stats;
  }

  /// A step whose loss or gradients are not finite stops the run with a
  /// NonFiniteError before it changes any weight (the default), or is skipped.
  void set_on_non_finite(OnNonFinite policy) { on_non_finite_ = policy; }
  /// D and G steps skipped so far (OnNonFinite::skip).
  std::int64_t skipped_steps() const { return skipped_steps_; }
  /// Why the last skipped step was skipped: its iteration, loss and first non-finite gradient.
  const std::string& last_skip_reason() const { return last_skip_reason_; }

  nn::Module<float>& generator() { return *g_; }
  nn::Module<float>& discriminator() { return *d_; }
  /// The generator to sample from: the moving average when there is one.
  nn::Module<float>& sampling_generator() { return ema_ ? *ema_ : *g_; }
  bool has_ema() const { return static_cast<bool>(ema_); }
  nn::Module<float>& ema_generator() {
    check(has_ema(), "Trainer: no EMA generator");
    return *ema_;
  }
  /// Both optimizers at `factor` times the recipe's learning rates (a schedule).
  void scale_learning_rates(double factor) {
    opt_g_.set_lr(recipe_.lr_g * factor);
    opt_d_.set_lr(recipe_.lr_d * factor);
  }
  optim::Adam<float>& generator_optimizer() { return opt_g_; }
  optim::Adam<float>& discriminator_optimizer() { return opt_d_; }
  const Recipe& recipe() const { return recipe_; }
  std::int64_t iteration() const { return iteration_; }
  void set_iteration(std::int64_t i) { iteration_ = i; }

 private:
  static bool same(const Tensor<float>& a, const Tensor<float>& b) {
    return a.shape() == b.shape() && std::equal(a.begin(), a.end(), b.begin());
  }
  /// Whether the step may update the weights: its loss and every gradient of
  /// the model it trains are finite. Otherwise it throws (OnNonFinite::stop)
  /// or counts a skipped step: weights and optimizer state stay as they were
  /// (BatchNorm's running statistics keep the forward pass's update, as in
  /// PyTorch's GradScaler), and a skip is refused when those statistics are no
  /// longer finite, since skipping cannot undo that.
  bool finite_step(const char* which, double loss, const GradientWatch<float>& watch) {
    const std::string* culprit = watch.first_non_finite();
    if (std::isfinite(loss) && !culprit) return true;
    // A NaN's sign bit is noise; "-nan" would only puzzle.
    const std::string loss_text = std::isnan(loss) ? "nan" : tinygan::detail::concat(loss);
    const std::string where = tinygan::detail::concat("iteration ", iteration_ + 1, ", ", which, " step: the loss is ", loss_text,
                                             culprit ? "; the first non-finite gradient is " + *culprit
                                                     : std::string("; the gradients are finite"));
    if (on_non_finite_ == OnNonFinite::stop) throw NonFiniteError(where);
    for (const auto& [model_name, model] : {std::pair{"generator", g_.get()}, std::pair{"discriminator", d_.get()}})
      for (const auto& [name, b] : model->named_buffers())
        if (!all_finite(b.value()))
          throw NonFiniteError(where + "; cannot skip it: the buffer " + model_name + "." + name +
                               " is no longer finite");
    ++skipped_steps_;
    last_skip_reason_ = where;
    return false;
  }
  /// D's score of each sample: its whole output, or with AC-GAN its first column.
  Var<float> score_of(const Var<float>& d_out) const {
    if (recipe_.ac_gan == 0) return d_out;
    check(d_out.shape().rank() == 2 && d_out.shape()[1] >= 2, "Trainer: the AC-GAN recipe (Recipe::ac_gan) needs a "
          "discriminator that outputs [N, 1 + classes], its score then class logits, found ", d_out.shape(),
          "; build it with its auxiliary classifier");
    return narrow(d_out, 0, 1);
  }
  /// AC-GAN's loss: the cross-entropy of D's class logits against `classes`.
  static Var<float> class_loss(const Var<float>& d_out, const Tensor<float>* classes) {
    check(classes, "Trainer: the AC-GAN recipe (Recipe::ac_gan) needs each batch's labels");
    return cross_entropy(narrow(d_out, 1, d_out.shape()[1] - 1), *classes);
  }
  Var<float> d_loss_term(const Var<float>& out, const Tensor<float>& target) {
    return recipe_.d_logits ? bce_with_logits(out, target) : bce(out, target);
  }
  /// D's loss on its scores of a real and a fake batch (Recipe::loss).
  Var<float> adversarial_d_loss(const Var<float>& real, const Var<float>& fake) {
    switch (recipe_.loss) {
      case AdversarialLoss::wasserstein: return sub(mean(fake), mean(real));
      case AdversarialLoss::hinge:
        return add(mean(relu(add_scalar(scale(real, -1.0f), 1.0f))), mean(relu(add_scalar(fake, 1.0f))));
      case AdversarialLoss::bce: break;
    }
    return scale(add(d_loss_term(real, labels(real_labels_, real.shape()[0], static_cast<float>(recipe_.real_label))),
                     d_loss_term(fake, labels(fake_zeros_, fake.shape()[0], 0.0f))),
                 0.5f);
  }
  /// WGAN-GP's penalty at x = e real + (1 - e) fake, e uniform in [0, 1] per
  /// sample, drawn from the iteration and the D step within it (so a resumed
  /// run draws what an unbroken one would). The interpolates carry the reals' labels.
  Var<float> interpolates_penalty(const Tensor<float>& real, const Tensor<float>& fake, const Tensor<float>* labels) {
    check(real.shape() == fake.shape(), "Trainer: WGAN-GP's penalty interpolates real and fake batches of one shape, "
          "found ", real.shape(), " and ", fake.shape());
    Rng rng(0x5eed0000u + static_cast<std::uint64_t>(iteration_) * 64 + d_steps_this_iteration_++);
    const Index n = real.dim(0), size = real.numel() / n;
    Tensor<float> mixed = Tensor<float>::uninitialized(real.shape());
    for (Index i = 0; i < n; ++i) {
      const auto e = static_cast<float>(rng.uniform());
      for (Index j = i * size; j < (i + 1) * size; ++j) mixed[j] = e * real[j] + (1 - e) * fake[j];
    }
    const Var<float> x(std::move(mixed), true);
    const Var<float> penalty = wgan_gp_penalty(x, score_of(nn::apply(*d_, x, labels)),
                                               static_cast<float>(recipe_.gp_lambda));
    x.node().requires_grad = false;  // the interpolates' own gradient is of no use
    return penalty;
  }
  /// The path of the first BatchNorm layer in m ("4"), or "".
  static std::string first_batch_norm(const nn::Module<float>& m, const std::string& prefix = "") {
    for (const auto& [name, child] : m.children()) {
      const std::string path = prefix.empty() ? name : prefix + "." + name;
      if (child->type_name() == "BatchNorm") return path;
      if (std::string inner = first_batch_norm(*child, path); !inner.empty()) return inner;
    }
    return "";
  }

  /// ema = d ema + (1 - d) w, with the decay ramped up over the first steps
  /// ((1 + t) / (10 + t), as TensorFlow's ExponentialMovingAverage) so that the
  /// average does not drag the random initial weights along for thousands of
  /// steps. BatchNorm's running statistics are copied: they are averages already.
  void update_ema() {
    const double t = static_cast<double>(iteration_);
    const auto d = static_cast<float>(std::min(recipe_.ema_decay, (1 + t) / (10 + t)));
    for (auto& [w, average] : ema_parameters_) average.value().array() = d * average.value().array() + (1 - d) * w.value().array();
    for (auto& [b, copy] : ema_buffers_) copy.value().array() = b.value().array();
  }

  /// A [n, 1] label tensor, built on first use and reused.
  static const Tensor<float>& labels(Tensor<float>& cache, Index n, float value) {
    if (cache.shape() != Shape{n, 1} || cache[0] != value) cache = Tensor<float>::full({n, 1}, value);
    return cache;
  }
  template <class Pred>
  static double share(const Tensor<float>& p, Pred pred) {
    Index hits = 0;
    for (float v : p) hits += pred(v) ? 1 : 0;
    return p.numel() ? static_cast<double>(hits) / static_cast<double>(p.numel()) : 0.0;
  }

  Model g_, d_, ema_;
  // Recipe::reuse_fakes: the last D step's fakes, with G's graph, and their noise.
  Var<float> reusable_fakes_;
  Tensor<float> reusable_input_, reusable_labels_;
  std::optional<dist::GradientAverager<float>> g_average_, d_average_;  // when distributed
  std::vector<std::pair<Var<float>, Var<float>>> ema_parameters_, ema_buffers_;  // (G's, the average's)
  Recipe recipe_;
  optim::Adam<float> opt_g_, opt_d_;
  Tensor<float> real_labels_, fake_zeros_, g_ones_;  // label batches, built once
  GradientWatch<float> g_watch_, d_watch_;
  OnNonFinite on_non_finite_ = OnNonFinite::stop;
  std::string last_skip_reason_;
  std::int64_t iteration_ = 0, skipped_steps_ = 0;
  int d_steps_this_iteration_ = 0;  // WGAN-GP's draws: D steps since the last G step
};

}  // namespace tinygan::gan
