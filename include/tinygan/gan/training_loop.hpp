/// \file
/// The training loop for any models and any source of batches: Trainer's
/// iterations with a progress line, and around them when to write what a
/// run needs (gan/outputs.hpp): sample grids, scores, checkpoints
/// (gan/run_state.hpp), the losses' history, Ctrl-C (a checkpoint, then exit
/// code 130), a time budget that counts training only (grids, scores and
/// checkpoints are off the clock), the non-finite step policy, and the final
/// weights. Data-parallel over MPI too: every rank runs the loop, rank 0
/// writes the files.
///
///   gan::TrainingLoop loop(trainer, source, options);
///   return loop.run();  // 0 done, 130 interrupted
#pragma once

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "tinygan/core/threads.hpp"
#include "tinygan/dist/communicator.hpp"
#include "tinygan/gan/divergence.hpp"
#include "tinygan/gan/history.hpp"
#include "tinygan/gan/outputs.hpp"
#include "tinygan/gan/progress.hpp"
#include "tinygan/gan/quality.hpp"
#include "tinygan/gan/run_state.hpp"
#include "tinygan/gan/sources.hpp"
#include "tinygan/gan/trainer.hpp"
#include "tinygan/io/checkpoint.hpp"
#include "tinygan/nn/batch_norm_statistics.hpp"
#include "tinygan/nn/conditional.hpp"

namespace tinygan::gan {

struct LoopOptions {
  std::string out_dir = "out";
  std::string name = "gan";          // the model's name: checkpoints and the progress lines
  std::string title;                 // the plots' titles start with it [name]
  std::int64_t iterations = 0;       // the run's length; 0 with `minutes`: as many as fit
  std::optional<double> minutes;     // stop once this much training time has passed
  std::int64_t sample_every = 0;     // iterations between sample grids; 0: once per epoch
  std::int64_t score_every = 0;      // iterations between scores; 0: once per epoch
  std::int64_t checkpoint_every = 0; // iterations between checkpoints; 0: once per epoch
  std::int64_t log_every = 100;      // iterations per progress line when the output is not a terminal
  Index samples = 64, sample_columns = 8;  // the grids' fixed inputs
  float lo = -1, hi = 1;             // G's output range, mapped to black..white
  std::uint64_t seed = 42;           // the grids' inputs and the moving average's statistics draw from it
  Index statistics_batch = 64;       // G batch for the moving average's BatchNorm statistics
  dist::Communicator* comm = nullptr;  // data-parallel over these ranks (the trainer distributed alike)
  /// Advice in the messages, in the caller's terms (the example programs name their flags).
  std::string non_finite_advice = "a lower learning rate may help; OnNonFinite::skip skips such steps instead";
  std::string d_wins_advice = "try one-sided label smoothing (Recipe::real_label 0.9), D on logits or a lower lr_d";
  std::string resume_advice = "TrainingLoop::resume goes on from it";
  bool sync_bn = false;              // for the opening line: BatchNorm synchronized over the ranks
};

namespace detail {
inline volatile std::sig_atomic_t& interrupted() {
  static volatile std::sig_atomic_t flag = 0;
  return flag;
}
extern "C" inline void on_interrupt(int) { interrupted() = 1; }

constexpr std::int64_t kUnboundedIterations = 1000000000;  // --minutes alone: the time decides
constexpr std::int64_t kReportedSkips = 10;     // OnNonFinite::skip: skips told one by one, then only counted
constexpr std::int64_t kMaxSkipsInARow = 100;   // OnNonFinite::skip: a run this far gone has diverged
constexpr int kEmaStatisticsBatches = 16;       // G batches that measure the moving average's BatchNorm statistics
}  // namespace detail

class TrainingLoop {
 public:
  TrainingLoop(Trainer& trainer, Source& source, LoopOptions options)
      : trainer_(trainer), source_(source), o_(std::move(options)) {
    // A conditional G draws its grids one row per class, and its statistics' batches with every class alike.
    if (dynamic_cast<nn::Conditional<float>*>(&trainer.generator())) {
      classes_ = source.classes();
      check(classes_ >= 1, "TrainingLoop: a conditional generator (", trainer.generator().type_name(),
            ") needs labelled data, and the source has no labels");
      o_.samples = classes_ * o_.sample_columns;
      fixed_labels_ = row_per_class(o_.samples, o_.sample_columns);
      statistics_labels_ = every_class(o_.statistics_batch, classes_);
    }
    check(o_.log_every >= 1, "TrainingLoop: expected log_every >= 1, found ", o_.log_every);
    per_epoch_ = source.batches_per_epoch();
    until_time_up_ = o_.minutes && o_.iterations == 0;
    check(o_.iterations > 0 || until_time_up_, "TrainingLoop: expected a number of iterations or minutes");
    total_ = until_time_up_ ? detail::kUnboundedIterations : o_.iterations;
    if (o_.sample_every == 0) o_.sample_every = per_epoch_;
    if (o_.score_every == 0) o_.score_every = per_epoch_;
    if (o_.checkpoint_every == 0) o_.checkpoint_every = per_epoch_;
    if (o_.title.empty()) o_.title = o_.name;
    Rng fixed_rng(o_.seed ^ 0x73616d706c65ULL);  // every grid shows the same inputs
    fixed_inputs_ = source.fixed_inputs(classes_ ? o_.sample_columns : o_.samples, fixed_rng);
    if (classes_) fixed_inputs_ = repeat_rows(fixed_inputs_, classes_);  // a column keeps its input from class to class
    if (root()) std::filesystem::create_directories(o_.out_dir);
  }

  /// Scores the sampling generator every score_every iterations (none: no
  /// scores). Before resume(), which loads the scores so far into it.
  void set_quality(QualityTracker* quality) {
    check(!resumed_, "TrainingLoop: set_quality after resume would lose the checkpoint's scores; call it before");
    quality_ = quality;
  }
  /// Replaces the sample grid writer: called with the file's path.
  std::function<void(const std::string& path)> sample_writer;
  /// How a score's progress line ends: by default "7/10 classes" covered.
  std::function<std::string(const metrics::Score&)> coverage;

  /// Goes on from a checkpoint of this run's model and recipe.
  void resume(const std::string& path) {
    const auto c = io::Checkpoint<float>::load(path);
    state().load(c);
    resumed_ = true;
    seconds_before_ = history_.last_seconds();
    checkpoint_iteration_ = trainer_.iteration();
    std::cout << "Resuming " << o_.name << " from " << path << " at iteration " << trainer_.iteration() << "\n";
  }

  /// Trains to the end, or to Ctrl-C (then 130, after a checkpoint).
  int run();

  /// Writes the checkpoint (rank 0) and losses.csv.
  void save_checkpoint() {
    if (root()) {
      io::Checkpoint<float> c;
      state().save(c);
      c.save(checkpoint_path());
      history_.write_csv(out("losses.csv"));
    }
    // The other ranks still note the iteration, so their messages name rank 0's file.
    checkpoint_iteration_ = trainer_.iteration();
  }

  /// The generator to sample from: the moving average, with BatchNorm
  /// statistics measured for its own weights (at most once per iteration,
  /// on inputs from a stream of their own: training's draws stay as they
  /// were), else G.
  nn::Module<float>& sampling_generator() {
    nn::Module<float>& g = trainer_.sampling_generator();
    if (!trainer_.has_ema() || ema_statistics_at_ == trainer_.iteration()) return g;
    Rng statistics_rng(o_.seed ^ 0x7374617473ULL);
    nn::reestimate_batch_norm(g, detail::kEmaStatisticsBatches, [&]() -> const Tensor<float>& {
      source_.random_inputs(o_.statistics_batch, statistics_rng, statistics_input_);
      return statistics_input_;
    }, StepBatches::labels_or_null(statistics_labels_));
    ema_statistics_at_ = trainer_.iteration();
    return g;
  }

  /// The sampling generator's grid of the fixed inputs (gan/outputs.hpp).
  void write_sample_grid(const std::string& path) {
    gan::write_sample_grid(path, sampling_generator(), fixed_inputs_, StepBatches::labels_or_null(fixed_labels_), source_.paired(),
                           o_.sample_columns, o_.lo, o_.hi);
  }

  /// Labels [n] asking for class i / columns at position i: a grid's rows, one per class.
  static Tensor<float> row_per_class(Index n, Index columns) {
    Tensor<float> labels(Shape{n});
    for (Index i = 0; i < n; ++i) labels[i] = static_cast<float>(i / columns);
    return labels;
  }
  /// `times` copies of a batch, one after the other.
  static Tensor<float> repeat_rows(const Tensor<float>& batch, Index times) {
    Shape shape = batch.shape();
    shape[0] *= times;
    Tensor<float> out = Tensor<float>::uninitialized(shape);
    for (Index t = 0; t < times; ++t) std::copy_n(batch.data(), batch.numel(), out.data() + t * batch.numel());
    return out;
  }
  /// The classes a conditional G was trained on; 0 for an unconditional G.
  Index classes() const { return classes_; }

  std::string out(const std::string& name) const { return (std::filesystem::path(o_.out_dir) / name).string(); }
  std::string checkpoint_path() const { return out("checkpoint.safetensors"); }
  bool root() const { return !o_.comm || o_.comm->is_root(); }
  std::int64_t total_iterations() const { return total_; }
  /// Wall seconds of this process's run() so far (outputs included).
  double wall_seconds() const { return wall_seconds_; }

 private:
  RunState state() { return RunState{o_.name, trainer_, source_, history_, quality_}; }
  std::string last_checkpoint() const {
    return checkpoint_iteration_ < 0 ? std::string("none was written yet")
                                     : checkpoint_path() + ", iteration " + std::to_string(checkpoint_iteration_);
  }
  void score(std::int64_t it, double seconds, Progress& progress);
  StepStats iteration(StepBatches& b, Progress& progress);

  Trainer& trainer_;
  Source& source_;
  LoopOptions o_;
  std::int64_t per_epoch_ = 1, total_ = 0;
  bool until_time_up_ = false, resumed_ = false;
  QualityTracker* quality_ = nullptr;
  History history_;
  double seconds_before_ = 0, output_seconds_ = 0, wall_seconds_ = 0;
  std::int64_t checkpoint_iteration_ = -1;  // of the last checkpoint written or resumed from; -1: none
  std::int64_t ema_statistics_at_ = -1;
  Tensor<float> fixed_inputs_, statistics_input_;
  Index classes_ = 0;
  Tensor<float> fixed_labels_, statistics_labels_;  // a conditional G's; empty for an unconditional one
};

inline void TrainingLoop::score(std::int64_t it, double seconds, Progress& progress) {
  const QualityTracker::Row& row = quality_->evaluate(sampling_generator(), (it - 1) / per_epoch_ + 1, it, seconds);
  const bool best = quality_->last_is_best();
  quality_->write_csv(out("metrics.csv"));
  quality_->write_plot(out("fid_plot.png"), o_.title + ": FID on " + std::to_string(row.score.count) + " samples");
  if (best) io::save_weights(out("generator_best.safetensors"), sampling_generator());
  char classes[32];
  std::snprintf(classes, sizeof classes, "%d/%zu classes", row.score.classes_covered, row.score.histogram.size());
  char line[256];
  std::snprintf(line, sizeof line, "iteration %lld: FID %.2f%s, IS %.2f, %.0f%% confident, %s",
                static_cast<long long>(it), row.score.fid, best ? " (best so far)" : "", row.score.inception_score,
                100 * row.score.confident_share, coverage ? coverage(row.score).c_str() : classes);
  progress.note(line);
}

/// recipe.d_steps D steps, each on fresh batches, then one G step.
inline StepStats TrainingLoop::iteration(StepBatches& b, Progress& progress) {
  const Recipe& recipe = trainer_.recipe();
  const auto tell_skip = [&](std::int64_t before) {
    // OnNonFinite::skip: the first skips are told one by one, the rest only counted.
    const std::int64_t n = trainer_.skipped_steps();
    if (n > before && n <= detail::kReportedSkips)
      progress.note("skipped: " + trainer_.last_skip_reason() +
                    (n == detail::kReportedSkips ? " (further skips are only counted)" : ""));
  };
  StepStats stats;
  for (int k = 0; k < recipe.d_steps; ++k) {
    source_.next(b);
    const std::int64_t before = trainer_.skipped_steps();
    const StepStats d = trainer_.d_step(b.real, b.fake_input, StepBatches::labels_or_null(b.real_labels),
                                        StepBatches::labels_or_null(b.fake_labels));
    tell_skip(before);
    stats.d_loss += d.d_loss / recipe.d_steps;
    stats.d_acc_real += d.d_acc_real / recipe.d_steps;
    stats.d_acc_fake += d.d_acc_fake / recipe.d_steps;
  }
  const std::int64_t before = trainer_.skipped_steps();
  // With reused fakes the G step takes the D step's input (and so its pass through G).
  const bool reuse = recipe.reuse_fakes && !b.paired;
  stats.g_loss = trainer_.g_step(reuse ? b.fake_input : b.g_input, b.paired ? &b.real : nullptr,
                                 StepBatches::labels_or_null(reuse ? b.fake_labels : b.g_labels));
  tell_skip(before);
  return stats;
}

inline int TrainingLoop::run() {
  dist::Communicator* comm = o_.comm;
  char budget[64] = "";
  if (o_.minutes) std::snprintf(budget, sizeof budget, " in %g minutes", *o_.minutes);
  std::cout << "Training " << o_.name << " for "
            << (until_time_up_ ? "as many iterations as fit" : std::to_string(total_) + " iterations") << budget
            << " (" << per_epoch_ << " per epoch) with " << num_threads() << " thread(s)"
            << (comm ? " on each of " + std::to_string(comm->size()) + " ranks" +
                           (o_.sync_bn ? " (synchronized BatchNorm)" : "")
                     : "")
            << "; outputs in "
            << o_.out_dir << std::endl;
  detail::interrupted() = 0;
  // Ctrl-C's handler is this run's only, also when it ends by an exception.
  struct HandlerGuard {
    void (*previous)(int) = std::signal(SIGINT, detail::on_interrupt);
    ~HandlerGuard() { std::signal(SIGINT, previous); }
  } handler;
  // The other ranks' progress would repeat rank 0's (the losses are averaged).
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> quiet(root() ? nullptr : std::fopen("/dev/null", "w"), std::fclose);
  Progress progress(until_time_up_ ? 0 : total_, per_epoch_, o_.log_every, quiet ? quiet.get() : stderr);
  if (o_.minutes) progress.set_time_limit(*o_.minutes * 60 - seconds_before_);
  progress.start_at(trainer_.iteration());
  const auto training_seconds = [&] { return seconds_before_ + progress.seconds() - output_seconds_; };
  const auto off_the_clock = [&](const auto& write) {
    const auto started = std::chrono::steady_clock::now();
    write();
    output_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  const auto samples_to = [&](const std::string& name) {
    if (!root()) return;
    if (sample_writer)
      sample_writer(out(name));
    else
      write_sample_grid(out(name));
  };
  // A step that is not finite stops the run here, before anything is saved over the last checkpoint.
  const auto stopped = [&](const NonFiniteError& e) {
    progress.finish();
    return Error(tinygan::detail::concat("training stopped at ", e.what(),
                                         ". Nothing was saved over the last checkpoint (", last_checkpoint(),
                                         "). ", o_.non_finite_advice));
  };
  // A lost peer ends a distributed run with where it was and what is saved.
  const auto peer_lost = [&](const dist::PeerLost& e) {
    progress.finish();
    return Error(tinygan::detail::concat("training stopped at iteration ", trainer_.iteration() + 1, ": ", e.what(),
                                         ". Last checkpoint: ", last_checkpoint()));
  };
  StepBatches batches;
  DiscriminatorWinWatch d_wins;
  std::int64_t skipped_in_a_row = 0;
  double seconds = training_seconds();  // the time (rank 0's) at the end of the last iteration
  while (trainer_.iteration() < total_) {
    if (trainer_.recipe().lr_decay)
      trainer_.scale_learning_rates(
          lr_decay_factor(run_fraction(trainer_.iteration(), total_, seconds, o_.minutes.value_or(0) * 60)));
    const std::int64_t skipped_before = trainer_.skipped_steps();
    StepStats stats;
    try {
      stats = iteration(batches, progress);
    } catch (const NonFiniteError& e) {
      throw stopped(e);
    } catch (const dist::PeerLost& e) {
      throw peer_lost(e);
    }
    const std::int64_t it = trainer_.iteration();
    seconds = training_seconds();
    // Every rank must stop at the same iteration: they follow rank 0's clock and Ctrl-C.
    bool stop_now = detail::interrupted();
    if (comm) {
      double shared[2] = {seconds, stop_now ? 1.0 : 0.0};
      try {
        comm->broadcast(shared, 2, "the end-of-iteration broadcast");
      } catch (const dist::PeerLost& e) {
        throw peer_lost(e);
      }
      seconds = shared[0];
      stop_now = shared[1] != 0;
    }
    if (trainer_.skipped_steps() > skipped_before) {
      // OnNonFinite::skip: the weights stay as they were; the losses stay out of the history.
      skipped_in_a_row += 1;
      if (skipped_in_a_row == detail::kMaxSkipsInARow)
        throw Error(tinygan::detail::concat("training stopped at iteration ", it, ": the last ",
                                            detail::kMaxSkipsInARow,
                                            " iterations all had non-finite steps, so the model has diverged (",
                                            trainer_.skipped_steps(), " steps skipped in all). Last checkpoint: ",
                                            last_checkpoint()));
    } else {
      skipped_in_a_row = 0;
      history_.add(it, (it - 1) / per_epoch_ + 1, stats, seconds);
      progress.update(it, stats.d_loss, stats.g_loss, 0.5 * (stats.d_acc_real + stats.d_acc_fake));
      if (d_wins.update(stats.d_acc_real, stats.d_acc_fake))
        progress.note(tinygan::detail::concat(
            "warning: at iteration ", it, " the discriminator has been right on at least ", 100 * d_wins.accuracy(),
            "% of real and of fake samples for ", d_wins.patience(),
            " iterations in a row; the generator gets almost no gradient and such runs rarely recover. ",
            o_.d_wins_advice));
    }
    if (it % o_.sample_every == 0) {
      char name[64];
      std::snprintf(name, sizeof name, "samples_%07lld.png", static_cast<long long>(it));
      off_the_clock([&] { samples_to(name); });
    }
    const bool time_up = o_.minutes && seconds >= *o_.minutes * 60;
    if (quality_ && root() && (it % o_.score_every == 0 || it == total_ || time_up))
      off_the_clock([&] { score(it, seconds, progress); });
    if (it % o_.checkpoint_every == 0 && it < total_) off_the_clock([&] { save_checkpoint(); });
    if (stop_now) {
      progress.finish();
      save_checkpoint();
      std::cout << "Interrupted at iteration " << it << ". Checkpoint saved to " << checkpoint_path() << "; "
                << o_.resume_advice << "\n";
      wall_seconds_ = progress.seconds();
      return 130;
    }
    if (time_up) {
      char line[128];
      std::snprintf(line, sizeof line, "--minutes %g: time is up after iteration %lld", *o_.minutes,
                    static_cast<long long>(it));
      progress.note(line);
      break;
    }
  }
  progress.finish();
  if (root()) {  // rank 0 writes the outputs
    save_checkpoint();
    samples_to("samples_final.png");
    history_.write_plot(out("loss_plot.png"), o_.title + ": losses");
    save_final_weights(o_.out_dir, sampling_generator(), trainer_);
  }
  wall_seconds_ = progress.seconds();
  return 0;
}

}  // namespace tinygan::gan
