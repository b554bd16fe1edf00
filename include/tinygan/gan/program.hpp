/// \file
/// The example programs' whole life cycle, shared by all of them: command
/// line, summaries, data, training with progress, samples, checkpoints and
/// Ctrl-C, final outputs, and generation from saved weights. An example only
/// describes its models (ModelSpec) and calls run_program.
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
#include <thread>
#include <utility>
#include <vector>

#include "tinygan/core/threads.hpp"
#include "tinygan/data/batches.hpp"
#include "tinygan/data/idx.hpp"
#include "tinygan/data/mnist.hpp"
#include "tinygan/dist/communicator.hpp"
#include "tinygan/dist/modules.hpp"
#include "tinygan/gan/cli.hpp"
#include "tinygan/gan/history.hpp"
#include "tinygan/gan/progress.hpp"
#include "tinygan/gan/quality.hpp"
#include "tinygan/gan/trainer.hpp"
#include "tinygan/io/checkpoint.hpp"
#include "tinygan/io/json.hpp"
#include "tinygan/io/npy.hpp"
#include "tinygan/io/png.hpp"
#include "tinygan/io/state_dict.hpp"
#include "tinygan/nn/batch_norm_statistics.hpp"
#include "tinygan/nn/predict.hpp"
#include "tinygan/nn/summary.hpp"
#include "tinygan/version.hpp"

#ifndef TINYGAN_CLASSIFIER
#define TINYGAN_CLASSIFIER "assets/mnist_classifier.safetensors"
#endif

namespace tinygan::gan {

/// One model of MODELS.md, with its training settings.
struct ModelSpec {
  std::string name;  // "dcgan"
  std::function<models::Model<float>(Rng&)> make_generator, make_discriminator;
  std::string init;  // how the weights are initialized, for config.json
  Shape sample_shape{1, 28, 28};  // one real sample as D takes it
  Index latent = 100;             // G's noise size; 0: G takes an image (autoencoder)
  Recipe recipe;       // MODELS.md's settings: the default
  Recipe best_recipe;  // --recipe best: measured to give lower FID (docs/results.md)
  Index real_batch = 64, fake_batch = 64, g_batch = 64;
  std::int64_t epochs = 0, iterations = 0;  // the default length, one of the two
  bool unit_range = false;                  // pixels in [0, 1] rather than [-1, 1]
  std::vector<int> digits;                  // digits to keep; empty: all
  bool inverted = false;  // D's reals are the inverted digits 1 - x, G's input is x[idx]
  std::int64_t sample_every = 0;  // iterations between sample grids; 0: once per epoch
  std::int64_t score_every = 0;   // iterations between FID scores; 0: once per epoch
  Index samples = 64, sample_columns = 8;
  std::int64_t log_every = 100;   // iterations per progress line when piped
};

namespace detail {

inline volatile std::sig_atomic_t& interrupted() {
  static volatile std::sig_atomic_t flag = 0;
  return flag;
}
extern "C" inline void on_interrupt(int) { interrupted() = 1; }

struct Run {
  const ModelSpec& spec;
  const CliOptions& cli;
  std::string program;
  dist::Communicator* comm = nullptr;  // --distributed
  /// The process that writes files and prints: rank 0, or the only one.
  bool root() const { return !comm || comm->is_root(); }
  Shard shard() const { return comm ? Shard{comm->rank(), comm->size()} : Shard{}; }
  float lo() const { return spec.unit_range ? 0.0f : -1.0f; }
  float hi() const { return 1.0f; }
  std::string out(const std::string& name) const { return (std::filesystem::path(cli.out_dir) / name).string(); }
};

/// [N, 1, 28, 28] images as D takes them.
inline Tensor<float> as_samples(Tensor<float> images, const Shape& sample_shape) {
  Shape s{images.dim(0)};
  for (int i = 0; i < sample_shape.rank(); ++i) s.push_back(sample_shape[i]);
  images.reshape(s);
  return images;
}

/// A distributed run's ranks take rows [rank x n, (rank + 1) x n) of a joint
/// batch that every rank draws alike; one process takes them all.
inline Tensor<float> shard_rows(const Tensor<float>& joint, const Run& run) {
  if (!run.comm) return joint;
  Shape s = joint.shape();
  s[0] /= run.comm->size();
  Tensor<float> part = Tensor<float>::uninitialized(s);
  std::copy_n(joint.data() + run.comm->rank() * part.numel(), part.numel(), part.data());
  return part;
}

inline data::MnistSet load_split(const Run& run, data::Split split, bool allow_fetch) {
  // Files that are there are used as they are (load_mnist validates them);
  // missing ones are fetched and checked against MNIST's sizes and checksums.
  if (!data::mnist_present(run.cli.data_dir)) data::ensure_mnist(run.cli.data_dir, allow_fetch);
  data::MnistOptions options;
  options.scaling = run.spec.unit_range ? data::Scaling::zero_to_one : data::Scaling::minus_one_to_one;
  options.digits = run.spec.digits;
  return data::load_mnist(run.cli.data_dir, split, options);
}

/// Writes samples in G's output range: .npy float32 (N, 28, 28), else IDX3 ubyte.
inline void export_samples(const std::string& path, const Tensor<float>& samples, float lo, float hi) {
  const Index n = samples.dim(0);
  Tensor<float> images = samples.reshaped({n, 28, 28});
  if (path.size() >= 4 && path.compare(path.size() - 4, 4, ".npy") == 0) {
    io::save_npy(path, images);
    return;
  }
  data::IdxArray idx;
  idx.dims = {n, 28, 28};
  idx.data.resize(static_cast<std::size_t>(images.numel()));
  for (Index i = 0; i < images.numel(); ++i) {
    const float unit = std::clamp((images[i] - lo) / (hi - lo), 0.0f, 1.0f);
    idx.data[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(std::lround(unit * 255.0f));
  }
  data::write_idx(path, idx);
}

/// --recipe picks MODELS.md's settings or the best ones; each switch given on
/// its own then overrides.
inline Recipe chosen_recipe(const ModelSpec& spec, const CliOptions& cli) {
  Recipe r = cli.recipe == "best" ? spec.best_recipe : spec.recipe;
  if (cli.lr) r.lr_g = r.lr_d = *cli.lr;
  if (cli.lr_g) r.lr_g = *cli.lr_g;
  if (cli.lr_d) r.lr_d = *cli.lr_d;
  if (cli.label_smoothing) r.real_label = 1 - *cli.label_smoothing;
  if (cli.ema) r.ema_decay = *cli.ema;
  if (cli.d_steps) r.d_steps = static_cast<int>(*cli.d_steps);
  if (cli.d_logits) r.d_logits = true;
  if (cli.reuse_fakes) r.reuse_fakes = true;
  if (cli.he_init) r.he_init = true;
  if (cli.lr_decay) r.lr_decay = true;
  if (cli.pixel_loss) r.pixel_loss = *cli.pixel_loss;
  if (cli.r1) r.r1_gamma = *cli.r1;
  if (!cli.g_loss.empty()) r.g_loss = cli.g_loss == "bce" ? GeneratorLoss::bce : GeneratorLoss::msle;
  return r;
}

/// The recipe's settings by name, each as its JSON value. config.json lists
/// them, and a checkpoint keeps them so that --resume can refuse to go on
/// with another recipe (a forgotten --recipe best, say).
inline std::vector<std::pair<std::string, std::string>> recipe_settings(const Recipe& r) {
  const auto number = [](double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%.6g", v);
    return std::string(text);
  };
  const auto flag = [](bool on) { return std::string(on ? "true" : "false"); };
  return {{"lr_g", number(r.lr_g)},
          {"lr_d", number(r.lr_d)},
          {"beta1", number(r.beta1)},
          {"beta2", number(r.beta2)},
          {"real_label", number(r.real_label)},
          {"d_logits", flag(r.d_logits)},
          {"ema_decay", number(r.ema_decay)},
          {"d_steps", std::to_string(r.d_steps)},
          {"reuse_fakes", flag(r.reuse_fakes)},
          {"pixel_loss", number(r.pixel_loss)},
          {"r1_gamma", number(r.r1_gamma)},
          {"generator_loss", json::quote(r.g_loss == GeneratorLoss::bce ? "bce" : "msle")},
          {"he_init", flag(r.he_init)},
          {"lr_decay", flag(r.lr_decay)}};
}

/// --resume goes on with the recipe the checkpoint was trained with, or not
/// at all: a different one would silently make a run that no command line
/// reproduces. Checkpoints written before recipes were kept are not checked.
inline void check_resumed_recipe(const io::Checkpoint<float>& c, const Recipe& recipe) {
  if (!c.has_meta("recipe.lr_g")) {
    std::cout << "Note: " << c.source() << " predates recorded recipes; this run's is not checked against it\n";
    return;
  }
  for (const auto& [name, value] : recipe_settings(recipe)) {
    const std::string& trained = c.meta("recipe." + name);
    check(trained == value, c.source(), ": trained with ", name, " ", trained, ", but this run has ", value,
          ". Resume with the --recipe and switches it was trained with (its config.json lists them)");
  }
}

inline void write_config(const Run& run, const Recipe& recipe, std::int64_t iterations, std::int64_t per_epoch,
                         Index batch_scale_real, Index fake_batch, Index g_batch) {
  const ModelSpec& s = run.spec;
  std::string digits = "[";
  for (std::size_t i = 0; i < s.digits.size(); ++i) digits += (i ? "," : "") + std::to_string(s.digits[i]);
  digits += "]";
  std::string text = "{\n";
  text += "  \"program\": " + json::quote(run.program) + ",\n";
  text += "  \"model\": " + json::quote(s.name) + ",\n";
  text += "  \"tinygan_version\": " + json::quote(TINYGAN_VERSION_STRING) + ",\n";
  text += "  \"seed\": " + std::to_string(run.cli.seed) + ",\n";
  text += "  \"threads\": " + std::to_string(num_threads()) + ",\n";
  if (run.comm) {
    text += "  \"ranks\": " + std::to_string(run.comm->size()) + ",\n";
    text += "  \"sync_bn\": " + std::string(run.cli.sync_bn ? "true" : "false") + ",\n";
  }
  text += "  \"flush_denormals\": true,\n";
  text += "  \"iterations\": " + std::to_string(iterations) + ",\n";
  text += "  \"iterations_per_epoch\": " + std::to_string(per_epoch) + ",\n";
  text += "  \"real_batch\": " + std::to_string(batch_scale_real) + ",\n";
  text += "  \"fake_batch\": " + std::to_string(fake_batch) + ",\n";
  text += "  \"g_batch\": " + std::to_string(g_batch) + ",\n";
  text += "  \"recipe\": " + json::quote(run.cli.recipe) + ",\n";
  for (const auto& [name, value] : recipe_settings(recipe)) text += "  \"" + name + "\": " + value + ",\n";
  text += "  \"discriminator_loss\": " + json::quote(recipe.d_logits ? "bce_with_logits" : "bce") + ",\n";
  char labels[96];
  std::snprintf(labels, sizeof labels, "  \"labels\": {\"real\": %.6g, \"fake\": 0},\n", recipe.real_label);
  text += labels;
  // --he-init redraws every layer but the last one (nn::init::he_normal_hidden).
  const std::string init = recipe.he_init ? "He normal(0, sqrt(2/fan_in)) hidden layers, biases 0; output layer: " + s.init
                                          : s.init;
  text += "  \"init\": " + json::quote(init) + ",\n";
  text += "  \"pixel_range\": " + std::string(s.unit_range ? "[0, 1]" : "[-1, 1]") + ",\n";
  text += "  \"digits\": " + digits + ",\n";
  text += "  \"inverted\": " + std::string(s.inverted ? "true" : "false") + ",\n";
  text += "  \"data\": " + json::quote(run.cli.data_dir) + ",\n";
  text += "  \"latent\": " + std::to_string(s.latent) + "\n";
  text += "}\n";
  write_file_atomically(run.out("config.json"), text);
}

inline int print_summaries(const Run& run) {
  Rng rng(run.cli.seed);
  auto g = run.spec.make_generator(rng);
  auto d = run.spec.make_discriminator(rng);
  const Shape g_in = run.spec.latent ? Shape{run.spec.latent} : run.spec.sample_shape;
  std::cout << nn::summary(*g, g_in, "generator") << '\n'
            << nn::summary(*d, run.spec.sample_shape, "discriminator") << '\n';
  d->set_trainable(false);
  std::cout << nn::summary(*models::combined(g, d), g_in, "combined (discriminator frozen)");
  return 0;
}

constexpr Index kGenerateBatch = 500;
constexpr std::int64_t kUnboundedIterations = 1000000000;  // --minutes alone: the time decides
constexpr std::int64_t kReportedSkips = 10;     // --on-nan skip: skips told one by one, then only counted
constexpr std::int64_t kMaxSkipsInARow = 100;   // --on-nan skip: a run this far gone has diverged
constexpr int kEmaStatisticsBatches = 16;       // G batches that measure the moving average's BatchNorm statistics

/// --load: samples from saved weights, no training.
inline int generate(const Run& run) {
  Rng rng(run.cli.seed);
  auto g = run.spec.make_generator(rng);
  io::load_weights(run.cli.load, *g);
  std::filesystem::create_directories(run.cli.out_dir);
  const Index count = run.cli.generate.value_or(64);
  if (run.spec.latent == 0) {
    // An autoencoder generator maps given digits: an IDX3 file, else the test set's.
    Tensor<float> inputs;
    if (!run.cli.input.empty()) {
      const data::IdxArray idx = data::read_idx(run.cli.input);
      check(idx.dims.size() == 3 && idx.dims[1] == 28 && idx.dims[2] == 28, run.cli.input,
            ": expected IDX3 images of 28x28");
      inputs = Tensor<float>(Shape{idx.dims[0], 784});
      for (Index i = 0; i < inputs.numel(); ++i) inputs[i] = idx.data[static_cast<std::size_t>(i)] / 255.0f;
    } else {
      inputs = as_samples(load_split(run, data::Split::test, !run.cli.no_fetch).images, run.spec.sample_shape);
    }
    const Index n = std::min(count, inputs.dim(0));
    Tensor<float> batch = inputs.reshaped({inputs.dim(0), 784});
    Tensor<float> first(Shape{n, 784});
    std::copy_n(batch.data(), first.numel(), first.data());
    const Tensor<float> outputs = nn::predict(*g, first, kGenerateBatch);
    io::save_image_pairs(run.out("generated_pairs.png"), first, outputs, 0.0f, 1.0f, 2);
    if (!run.cli.export_samples.empty()) export_samples(run.cli.export_samples, outputs, run.lo(), run.hi());
    std::cout << "Wrote " << n << " inverted digits to " << run.out("generated_pairs.png") << "\n";
    return 0;
  }
  Tensor<float> z;
  if (!run.cli.latent.empty()) {
    z = io::load_npy(run.cli.latent);
    check(z.rank() == 2 && z.dim(1) == run.spec.latent, run.cli.latent, ": expected latent vectors of shape (N, ",
          run.spec.latent, "), found ", z.shape());
  } else {
    Rng noise(run.cli.seed);
    z = Tensor<float>::randn({count, run.spec.latent}, noise);
  }
  Tensor<float> samples = nn::predict(*g, z, kGenerateBatch);
  samples.reshape(Shape{samples.dim(0), samples.shape().per_sample()});
  // The picture shows the first 100; the export holds them all.
  Tensor<float> shown(Shape{std::min<Index>(samples.dim(0), 100), samples.shape().per_sample()});
  std::copy_n(samples.data(), shown.numel(), shown.data());
  io::save_image_grid(run.out("generated.png"), shown, std::min<Index>(shown.dim(0), 10), run.lo(), run.hi(), 2);
  if (!run.cli.export_samples.empty()) export_samples(run.cli.export_samples, samples, run.lo(), run.hi());
  std::cout << "Wrote " << samples.dim(0) << " samples to " << run.out("generated.png")
            << (run.cli.export_samples.empty() ? "" : " and " + run.cli.export_samples) << "\n";
  return 0;
}

/// The per-epoch scorer, or none when --fid-samples is 0 or the classifier is
/// missing (then said once: training goes on without scores).
inline std::optional<QualityTracker> make_quality_tracker(const Run& run) {
  const ModelSpec& spec = run.spec;
  const Index count = run.cli.fid_samples.value_or(10000);
  if (count == 0) return std::nullopt;
  const std::string path = run.cli.classifier.empty() ? TINYGAN_CLASSIFIER : run.cli.classifier;
  if (!std::filesystem::is_regular_file(path)) {
    std::cout << "Not scoring samples: no classifier at " << path
              << " (pass --classifier FILE, or --fid-samples 0 to silence this)\n";
    return std::nullopt;
  }
  auto classifier = models::load_mnist_classifier(path);
  if (!data::mnist_present(run.cli.data_dir)) data::ensure_mnist(run.cli.data_dir, !run.cli.no_fetch);
  Tensor<double> reference = metrics::reference_features(*classifier, run.cli.data_dir, spec.digits);
  Tensor<float> inputs;
  if (spec.latent) {
    Rng rng(run.cli.seed ^ 0x7175616c697479ULL);  // the same latents at every epoch
    inputs = Tensor<float>::randn({count, spec.latent}, rng);
  } else {
    // An autoencoder generator is scored on the test set's digits.
    const Tensor<float> test = as_samples(load_split(run, data::Split::test, !run.cli.no_fetch).images,
                                          spec.sample_shape);
    Shape shape = test.shape();
    shape[0] = std::min(count, test.dim(0));
    inputs = Tensor<float>::uninitialized(shape);
    std::copy_n(test.data(), inputs.numel(), inputs.data());
  }
  return QualityTracker(std::move(classifier), std::move(reference), std::move(inputs),
                        SampleRange{spec.unit_range, spec.inverted});
}

/// Training: the MODELS.md procedure with progress, samples, checkpoints.
inline int train(const Run& run) {
  const ModelSpec& spec = run.spec;
  const CliOptions& cli = run.cli;
  // Rank 0 reads (and if need be fetches) MNIST first, so that ranks sharing a folder never fetch at once.
  if (!run.root()) run.comm->barrier("waiting for rank 0 to read MNIST");
  Tensor<float> train_set = as_samples(load_split(run, data::Split::train, !cli.no_fetch).images, spec.sample_shape);
  if (run.root() && run.comm) run.comm->barrier("waiting for rank 0 to read MNIST");
  Tensor<float> targets;  // the autoencoder's reals: the inverted digits
  if (spec.inverted) {
    targets = train_set;
    targets.array() = 1.0f - targets.array();
  }
  const Index real_batch = cli.batch.value_or(spec.real_batch);
  const Index fake_batch = cli.batch ? *cli.batch * spec.fake_batch / spec.real_batch : spec.fake_batch;
  const Index g_batch = cli.batch ? *cli.batch * spec.g_batch / spec.real_batch : spec.g_batch;
  const Index ranks = run.comm ? run.comm->size() : 1;
  check(spec.inverted || train_set.dim(0) >= real_batch * ranks, run.program, ": the training set has ",
        train_set.dim(0), " samples, fewer than one batch of ", real_batch * ranks,
        ranks > 1 ? " (" + std::to_string(real_batch) + " on each of " + std::to_string(ranks) + " ranks)" : "");

  Rng init_rng(cli.seed);
  const Recipe recipe = chosen_recipe(spec, cli);
  auto generator = spec.make_generator(init_rng);
  auto discriminator = spec.make_discriminator(init_rng);
  if (recipe.he_init) {
    nn::init::he_normal_hidden(*generator, init_rng);
    nn::init::he_normal_hidden(*discriminator, init_rng);
  }
  if (run.comm) {
    dist::broadcast_module(*run.comm, *generator);
    dist::broadcast_module(*run.comm, *discriminator);
    if (cli.sync_bn)
      check(dist::synchronize_batch_norm(*run.comm, *generator) + dist::synchronize_batch_norm(*run.comm, *discriminator) > 0,
            run.program, ": --sync-bn: the ", spec.name, " model has no BatchNorm layer");
  }
  Trainer trainer(generator, discriminator, recipe);
  if (run.comm) trainer.distribute(*run.comm);
  trainer.set_on_non_finite(cli.on_nan == "skip" ? OnNonFinite::skip : OnNonFinite::stop);
  if (recipe.ema_decay > 0) trainer.set_ema_generator(spec.make_generator(init_rng));
  Rng rng(cli.seed ^ 0x6e6f697365ULL);  // noise and index draws
  // Noise GANs walk the data in shuffled epochs; the autoencoder draws index sets.
  std::optional<data::Batches> batches;
  if (!spec.inverted) batches.emplace(train_set, real_batch, rng, run.shard());
  const std::int64_t per_epoch = batches ? batches->batches_per_epoch()
                                         : std::max<Index>(train_set.dim(0) / (real_batch * ranks), 1);
  // --minutes without a length trains until the time is up.
  const bool until_time_up = cli.minutes && !cli.iters && !cli.epochs;
  const std::int64_t total = cli.iters ? *cli.iters
                             : cli.epochs ? *cli.epochs * per_epoch
                             : until_time_up ? kUnboundedIterations
                             : spec.iterations ? spec.iterations : spec.epochs * per_epoch;
  const std::int64_t sample_every = spec.sample_every ? spec.sample_every : per_epoch;
  const std::int64_t score_every = spec.score_every ? spec.score_every : per_epoch;
  const std::int64_t checkpoint_every = cli.checkpoint_every.value_or(per_epoch);

  std::optional<QualityTracker> quality;
  if (run.root()) quality = make_quality_tracker(run);
  History history;
  double seconds_before = 0;
  const std::string checkpoint_path = run.out("checkpoint.safetensors");
  std::int64_t checkpoint_iteration = -1;  // of the last checkpoint written or resumed from; -1: none
  if (run.root()) std::filesystem::create_directories(cli.out_dir);
  if (!cli.resume.empty()) {
    const auto c = io::Checkpoint<float>::load(cli.resume);
    check(c.meta("model") == spec.name, cli.resume, ": a checkpoint of model '", c.meta("model"),
          "', not '", spec.name, "'");
    check_resumed_recipe(c, recipe);
    c.get_module("generator", trainer.generator());
    c.get_module("discriminator", trainer.discriminator());
    if (trainer.has_ema()) c.get_module("generator_ema", trainer.ema_generator());
    c.get_adam("opt_g", trainer.generator_optimizer());
    c.get_adam("opt_d", trainer.discriminator_optimizer());
    c.get_rng("noise", rng);
    if (batches) {
      data::Batches::State state;
      for (float k : c.tensor("batches.order")) {
        // Checked before the cast, which is undefined for a NaN or a huge value.
        check(k >= 0 && k < static_cast<float>(train_set.dim(0)), cli.resume, ": batches.order holds ", k,
              ", expected sample indices from 0 to ", train_set.dim(0) - 1);
        state.order.push_back(static_cast<Index>(k));
      }
      state.position = c.get_int("batches.position");
      state.epoch = c.get_int("batches.epoch");
      batches->set_state(std::move(state));
    }
    trainer.set_iteration(c.get_int("iteration"));
    history.load(c);
    if (quality) quality->load(c);
    seconds_before = history.last_seconds();
    checkpoint_iteration = trainer.iteration();
    std::cout << "Resuming " << spec.name << " from " << cli.resume << " at iteration " << trainer.iteration()
              << "\n";
  }
  if (run.root()) write_config(run, recipe, total, per_epoch, real_batch, fake_batch, g_batch);

  // Only rank 0 writes files: the ranks' weights are the same. The others
  // still note the iteration, so that their messages name rank 0's file.
  const auto save_checkpoint = [&]() {
    if (!run.root()) {
      checkpoint_iteration = trainer.iteration();
      return;
    }
    io::Checkpoint<float> c;
    c.put_text("model", spec.name);
    for (const auto& [name, value] : recipe_settings(recipe)) c.put_text("recipe." + name, value);
    c.put_module("generator", trainer.generator());
    c.put_module("discriminator", trainer.discriminator());
    if (trainer.has_ema()) c.put_module("generator_ema", trainer.ema_generator());
    c.put_adam("opt_g", trainer.generator_optimizer());
    c.put_adam("opt_d", trainer.discriminator_optimizer());
    c.put_rng("noise", rng);
    if (batches) {
      Tensor<float> order(Shape{batches->size()});  // indices < 2^24 are exact in float
      for (Index i = 0; i < batches->size(); ++i) order[i] = static_cast<float>(batches->order()[static_cast<std::size_t>(i)]);
      c.put_tensor("batches.order", std::move(order));
      c.put_int("batches.position", batches->position());
      c.put_int("batches.epoch", batches->epoch());
    }
    c.put_int("iteration", trainer.iteration());
    history.save(c);
    if (quality) quality->save(c);
    c.save(checkpoint_path);
    checkpoint_iteration = trainer.iteration();
    history.write_csv(run.out("losses.csv"));
  };

  // The moving average is sampled and saved with BatchNorm statistics measured
  // for its own weights (nn::reestimate_batch_norm), at most once per
  // iteration, on inputs from a stream of their own: training's draws stay as
  // they were.
  std::int64_t ema_statistics_at = -1;
  Tensor<float> statistics_input;
  std::vector<Index> statistics_picks;
  const auto sampling_generator = [&]() -> nn::Sequential<float>& {
    nn::Sequential<float>& g = trainer.sampling_generator();
    if (!trainer.has_ema() || ema_statistics_at == trainer.iteration()) return g;
    Rng statistics_rng(cli.seed ^ 0x7374617473ULL);
    nn::reestimate_batch_norm(g, kEmaStatisticsBatches, [&]() -> const Tensor<float>& {
      if (spec.latent) {
        statistics_input = Tensor<float>::randn({g_batch, spec.latent}, statistics_rng);
      } else {
        data::sample_indices(train_set.dim(0), g_batch, statistics_rng, statistics_picks);
        data::gather(train_set, statistics_picks, statistics_input);
      }
      return statistics_input;
    });
    ema_statistics_at = trainer.iteration();
    return g;
  };

  // A fixed batch of inputs, so that every sample grid shows the same latents.
  Rng fixed_rng(cli.seed ^ 0x73616d706c65ULL);
  Tensor<float> fixed_inputs;
  if (spec.latent) {
    fixed_inputs = Tensor<float>::randn({spec.samples, spec.latent}, fixed_rng);
  } else {
    fixed_inputs = Tensor<float>(Shape{std::min(spec.samples, train_set.dim(0)), 784});  // a small set may have fewer
    std::copy_n(train_set.data(), fixed_inputs.numel(), fixed_inputs.data());
  }
  const auto write_samples = [&](const std::string& name) {
    if (!run.root()) return;
    const Tensor<float> out = nn::predict(sampling_generator(), fixed_inputs);
    if (spec.latent)
      io::save_image_grid(run.out(name), out, spec.sample_columns, run.lo(), run.hi(), 2);
    else
      io::save_image_pairs(run.out(name), fixed_inputs, out, 0.0f, 1.0f, 2);
  };

  Tensor<float> real, fake_input, g_input;
  std::vector<Index> picks;
  const auto next_batches = [&]() {
    if (spec.inverted) {
      // MODELS.md: one random index set per iteration; D's reals are the
      // inverted digits, G's input is the same digits as they are.
      data::sample_indices(train_set.dim(0), real_batch * ranks, rng, picks);
      if (run.comm) {
        std::copy_n(picks.begin() + run.comm->rank() * real_batch, real_batch, picks.begin());
        picks.resize(static_cast<std::size_t>(real_batch));
      }
      data::gather(targets, picks, real);
      data::gather(train_set, picks, fake_input);
      g_input = fake_input;
      return;
    }
    if (!batches->next(real)) batches->next(real);  // an epoch ended: start the next
    fake_input = shard_rows(Tensor<float>::randn({fake_batch * ranks, spec.latent}, rng), run);
    g_input = shard_rows(Tensor<float>::randn({g_batch * ranks, spec.latent}, rng), run);
  };

  const Shape g_in = spec.latent ? Shape{spec.latent} : spec.sample_shape;
  std::cout << nn::summary(trainer.generator(), g_in, "generator") << '\n'
            << nn::summary(trainer.discriminator(), spec.sample_shape, "discriminator") << '\n';
  char budget[64] = "";
  if (cli.minutes) std::snprintf(budget, sizeof budget, " in %g minutes", *cli.minutes);
  const std::string ranks_text = run.comm ? " on each of " + std::to_string(ranks) + " ranks" +
                                                (cli.sync_bn ? " (synchronized BatchNorm)" : "")
                                          : "";
  std::cout << "Training " << spec.name << " for "
            << (until_time_up ? "as many iterations as fit" : std::to_string(total) + " iterations") << budget << " (" << per_epoch
            << " per epoch) with " << num_threads() << " thread(s)" << ranks_text << "; outputs in " << cli.out_dir
            << std::endl;
  interrupted() = 0;
  auto previous_handler = std::signal(SIGINT, on_interrupt);
  // The other ranks' progress would repeat rank 0's (the losses are averaged).
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> quiet(run.root() ? nullptr : std::fopen("/dev/null", "w"), std::fclose);
  Progress progress(until_time_up ? 0 : total, per_epoch, spec.log_every, quiet ? quiet.get() : stderr);
  if (cli.minutes) progress.set_time_limit(*cli.minutes * 60 - seconds_before);
  progress.start_at(trainer.iteration());
  // Scoring, sample grids and checkpoints are outputs, not training: their time is kept out of the
  // training time that losses.csv and metrics.csv show and that --minutes counts.
  double output_seconds = 0;
  const auto training_seconds = [&] { return seconds_before + progress.seconds() - output_seconds; };
  const auto off_the_clock = [&](const auto& write) {
    const auto started = std::chrono::steady_clock::now();
    write();
    output_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  const auto score_epoch = [&](std::int64_t it, double seconds) {
    const QualityTracker::Row& row = quality->evaluate(sampling_generator(), (it - 1) / per_epoch + 1, it, seconds);
    const bool best = quality->last_is_best();
    quality->write_csv(run.out("metrics.csv"));
    quality->write_plot(run.out("fid_plot.png"), run.program + " " + spec.name + ": FID on " +
                                                     std::to_string(row.score.count) + " samples");
    if (best) io::save_weights(run.out("generator_best.safetensors"), sampling_generator());
    char line[256];
    // A model of some digits (the inverted 8s) reports how many samples are those digits.
    double wanted = 0;
    std::string digits;
    for (int d : spec.digits) {
      wanted += row.score.histogram.at(static_cast<std::size_t>(d));
      digits += (digits.empty() ? "" : "/") + std::to_string(d);
    }
    char coverage[64];
    if (spec.digits.empty())
      std::snprintf(coverage, sizeof coverage, "%d/10 digits", row.score.classes_covered);
    else
      std::snprintf(coverage, sizeof coverage, "%.0f%% classified as %s", 100 * wanted, digits.c_str());
    std::snprintf(line, sizeof line, "iteration %lld: FID %.2f%s, IS %.2f, %.0f%% confident, %s",
                  static_cast<long long>(it), row.score.fid, best ? " (best so far)" : "", row.score.inception_score,
                  100 * row.score.confident_share, coverage);
    progress.note(line);
  };
  const auto last_checkpoint = [&] {
    return checkpoint_iteration < 0 ? std::string("none was written yet")
                                    : checkpoint_path + ", iteration " + std::to_string(checkpoint_iteration);
  };
  // A step that is not finite stops the run here, before anything is saved over the last checkpoint.
  const auto stopped = [&](const NonFiniteError& e) {
    progress.finish();
    return Error(tinygan::detail::concat("training stopped at ", e.what(),
                                         ". Nothing was saved over the last checkpoint (", last_checkpoint(),
                                         "). A lower --lr or --recipe best may help; --on-nan skip skips such "
                                         "steps instead"));
  };
  // --on-nan skip: the first skips are told one by one, the rest only counted.
  const auto tell_skip = [&](std::int64_t before) {
    const std::int64_t n = trainer.skipped_steps();
    if (n > before && n <= kReportedSkips)
      progress.note("skipped: " + trainer.last_skip_reason() +
                    (n == kReportedSkips ? " (further skips are only counted)" : ""));
  };
  // A lost peer ends a distributed run with where it was and what is saved.
  const auto peer_lost = [&](const dist::PeerLost& e) {
    progress.finish();
    return Error(tinygan::detail::concat("training stopped at iteration ", trainer.iteration() + 1, ": ", e.what(),
                                         ". Last checkpoint: ", last_checkpoint()));
  };
  DiscriminatorWinWatch d_wins;
  std::int64_t skipped_in_a_row = 0;
  double seconds = training_seconds();  // the time (rank 0's) at the end of the last iteration
  while (trainer.iteration() < total) {
    if (recipe.lr_decay)
      trainer.scale_learning_rates(lr_decay_factor(run_fraction(trainer.iteration(), total, seconds,
                                                                 cli.minutes.value_or(0) * 60)));
    // recipe.d_steps D steps, each on fresh batches, then one G step.
    StepStats stats;
    const std::int64_t skipped_before = trainer.skipped_steps();
    try {
      for (int k = 0; k < recipe.d_steps; ++k) {
        next_batches();
        const std::int64_t before = trainer.skipped_steps();
        const StepStats d = trainer.d_step(real, fake_input);
        tell_skip(before);
        stats.d_loss += d.d_loss / recipe.d_steps;
        stats.d_acc_real += d.d_acc_real / recipe.d_steps;
        stats.d_acc_fake += d.d_acc_fake / recipe.d_steps;
      }
      const std::int64_t before = trainer.skipped_steps();
      stats.g_loss =
          trainer.g_step(recipe.reuse_fakes && spec.latent ? fake_input : g_input, spec.inverted ? &real : nullptr);
      tell_skip(before);
    } catch (const NonFiniteError& e) {
      throw stopped(e);
    } catch (const dist::PeerLost& e) {
      throw peer_lost(e);
    }
    const std::int64_t it = trainer.iteration();
    seconds = training_seconds();
    // Every rank must stop at the same iteration: they follow rank 0's clock and Ctrl-C.
    bool stop_now = interrupted();
    if (run.comm) {
      double shared[2] = {seconds, stop_now ? 1.0 : 0.0};
      try {
        run.comm->broadcast(shared, 2, "the end-of-iteration broadcast");
      } catch (const dist::PeerLost& e) {
        throw peer_lost(e);
      }
      seconds = shared[0];
      stop_now = shared[1] != 0;
    }
    if (trainer.skipped_steps() > skipped_before) {
      // --on-nan skip: the weights stay as they were; the losses stay out of the history.
      skipped_in_a_row += 1;
      if (skipped_in_a_row == kMaxSkipsInARow)
        throw Error(tinygan::detail::concat("training stopped at iteration ", it, ": the last ", kMaxSkipsInARow,
                                            " iterations all had non-finite steps, so the model has diverged (",
                                            trainer.skipped_steps(), " steps skipped in all). Last checkpoint: ",
                                            last_checkpoint()));
    } else {
      skipped_in_a_row = 0;
      history.add(it, (it - 1) / per_epoch + 1, stats, seconds);
      progress.update(it, stats.d_loss, stats.g_loss, 0.5 * (stats.d_acc_real + stats.d_acc_fake));
      if (d_wins.update(stats.d_acc_real, stats.d_acc_fake))
        progress.note(tinygan::detail::concat(
            "warning: at iteration ", it, " the discriminator has been right on at least ", 100 * d_wins.accuracy(),
            "% of real and of fake samples for ", d_wins.patience(),
            " iterations in a row; the generator gets almost no gradient and such runs rarely recover. "
            "Try --recipe best, or --label-smoothing 0.1, --d-logits, a lower --lr-d"));
    }
    if (it % sample_every == 0) {
      char name[64];
      std::snprintf(name, sizeof name, "samples_%07lld.png", static_cast<long long>(it));
      off_the_clock([&] { write_samples(name); });
    }
    const bool time_up = cli.minutes && seconds >= *cli.minutes * 60;
    if (quality && (it % score_every == 0 || it == total || time_up)) off_the_clock([&] { score_epoch(it, seconds); });
    if (it % checkpoint_every == 0 && it < total) off_the_clock(save_checkpoint);
    if (stop_now) {
      progress.finish();
      save_checkpoint();
      std::signal(SIGINT, previous_handler);
      std::cout << "Interrupted at iteration " << it << ". Checkpoint saved to " << checkpoint_path
                << "; continue with --resume " << checkpoint_path << "\n";
      return 130;
    }
    if (time_up) {
      char line[128];
      std::snprintf(line, sizeof line, "--minutes %g: time is up after iteration %lld", *cli.minutes,
                    static_cast<long long>(it));
      progress.note(line);
      break;
    }
  }
  progress.finish();
  std::signal(SIGINT, previous_handler);
  if (!run.root()) return 0;  // rank 0 writes the outputs

  save_checkpoint();
  write_samples("samples_final.png");
  history.write_plot(run.out("loss_plot.png"), run.program + " " + spec.name + ": losses");
  // generator.safetensors is the generator to sample from: the moving average when there is one.
  io::save_weights(run.out("generator.safetensors"), sampling_generator());
  if (trainer.has_ema()) io::save_weights(run.out("generator_trained.safetensors"), trainer.generator());
  io::save_weights(run.out("discriminator.safetensors"), trainer.discriminator());

  if (spec.inverted) {
    // MODELS.md: the generator goes to a file, comes back into a fresh model,
    // and inverts the test set's digits.
    Rng fresh(cli.seed + 1);
    auto reloaded = spec.make_generator(fresh);
    io::load_weights(run.out("generator.safetensors"), *reloaded);
    reloaded->eval();
    NoGrad no_grad;
    Tensor<float> test = as_samples(load_split(run, data::Split::test, !cli.no_fetch).images, spec.sample_shape);
    const Index n = std::min<Index>(test.dim(0), 64);
    Tensor<float> first(Shape{n, 784});
    std::copy_n(test.data(), first.numel(), first.data());
    io::save_image_pairs(run.out("test_inverted.png"), first, (*reloaded)(Var<float>(first)).value(), 0.0f, 1.0f, 2);
  }
  if (trainer.skipped_steps())
    std::cout << "Skipped " << trainer.skipped_steps() << " non-finite steps (--on-nan skip)\n";
  std::cout << "Done: " << trainer.iteration() << " iterations in " << static_cast<long>(progress.seconds()) << " s. Outputs in "
            << cli.out_dir << ": samples_*.png, loss_plot.png, losses.csv, config.json, generator.safetensors, "
            << "discriminator.safetensors, checkpoint.safetensors"
            << (quality ? ", metrics.csv, fid_plot.png, generator_best.safetensors" : "")
            << (trainer.has_ema() ? ", generator_trained.safetensors" : "")
            << (spec.inverted ? ", test_inverted.png" : "") << "\n";
  if (quality && !quality->rows().empty()) {
    const auto best = std::min_element(quality->rows().begin(), quality->rows().end(),
                                       [](const auto& a, const auto& b) { return a.score.fid < b.score.fid; });
    std::cout << "Best FID " << best->score.fid << " at iteration " << best->iteration
              << " (generator_best.safetensors); last " << quality->rows().back().score.fid << "\n";
  }
  return 0;
}

}  // namespace detail

namespace detail {
/// --distributed: one rank of an MPI job. Only rank 0 prints and writes; an
/// error on any rank is printed with its rank and stops the whole job, since
/// the others would wait for it.
inline int train_distributed(Run run, bool threads_given) {
  dist::Communicator comm(run.cli.dist_timeout.value_or(600));
  run.comm = &comm;
  if (!threads_given) {
    // The machine's cores shared among the ranks on it (mpirun may also bind each rank to its cores).
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    set_num_threads(std::max(1, std::min(num_threads(), cores / comm.local_size())));
  }
  if (!comm.is_root()) std::cout.setstate(std::ios::failbit);
  try {
    return train(run);
  } catch (const std::exception& e) {
    // One write for the whole line: every rank may fail at once, and mpirun
    // merges their streams, so piecewise writes would interleave mid-line.
    const std::string line = run.program + " (" + comm.name() + "): error: " + e.what() + "\n";
    std::cerr.write(line.data(), static_cast<std::streamsize>(line.size()));
    std::cerr.flush();
    comm.abort_on_exit(1);
    return 1;
  }
}
}  // namespace detail

/// Runs an example program. Exit codes: 0 done, 1 error, 2 bad command line,
/// 130 interrupted (after saving a checkpoint).
inline int run_program(int argc, const char* const* argv, const std::string& program,
                       const std::vector<ModelSpec>& specs, bool has_input = false) {
  CliSpec cli_spec{program, {}, has_input};
  if (specs.size() > 1)
    for (const auto& s : specs) cli_spec.models.push_back(s.name);
  return run_main(program, [&] {
    const CliOptions cli = parse_cli(argc, argv, cli_spec);
    if (cli.help) {
      std::cout << usage(cli_spec);
      return 0;
    }
    if (cli.version) {
      std::cout << version_line(program);
      return 0;
    }
    const ModelSpec* spec = &specs.front();
    for (const auto& s : specs)
      if (s.name == cli.model) spec = &s;
    if (cli.threads) set_num_threads(cli.threads);
    set_flush_denormals(true);  // see core/threads.hpp: a winning D otherwise slows training 2-5x
    if (!cli.distributed) {
      const detail::Run run{*spec, cli, program};
      if (cli.summary) return detail::print_summaries(run);
      if (!cli.load.empty()) return detail::generate(run);
      return detail::train(run);
    }
    return detail::train_distributed(detail::Run{*spec, cli, program}, cli.threads != 0);
  });
}

}  // namespace tinygan::gan
