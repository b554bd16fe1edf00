/// \file
/// The example programs' life cycle: command line, summaries, data, the
/// training loop (gan/training_loop.hpp) with the programs' outputs, and
/// generation from saved weights. An example describes its models
/// (ModelSpec) and calls run_program; a program of one's own can call the
/// loop directly (docs/tutorial.md).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
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
#include "tinygan/data/datasets.hpp"
#include "tinygan/data/idx.hpp"
#include "tinygan/data/mnist.hpp"
#include "tinygan/dist/communicator.hpp"
#include "tinygan/dist/modules.hpp"
#include "tinygan/gan/classifier.hpp"
#include "tinygan/gan/cli.hpp"
#include "tinygan/gan/metrics.hpp"
#include "tinygan/gan/outputs.hpp"
#include "tinygan/gan/quality.hpp"
#include "tinygan/gan/recipe.hpp"
#include "tinygan/gan/sources.hpp"
#include "tinygan/gan/trainer.hpp"
#include "tinygan/gan/training_loop.hpp"
#include "tinygan/core/json.hpp"
#include "tinygan/io/npy.hpp"
#include "tinygan/io/png.hpp"
#include "tinygan/io/sample_export.hpp"
#include "tinygan/io/state_dict.hpp"
#include "tinygan/nn/initializers.hpp"
#include "tinygan/nn/predict.hpp"
#include "tinygan/nn/summary.hpp"
#include "tinygan/version.hpp"

#ifndef TINYGAN_ASSETS
#define TINYGAN_ASSETS "assets"  // the committed classifiers: <data set>_classifier.safetensors
#endif

namespace tinygan::gan {

/// One model of an example program, with its training settings.
struct ModelSpec {
  using Model = Trainer::Model;
  std::string name;  // "dcgan"
  std::string dataset = "mnist";  // what it trains on (data/datasets.hpp's names)
  std::function<Model(Rng&)> make_generator;
  /// D, built to output what it is asked: probabilities or (Recipe::d_logits) logits.
  std::function<Model(Rng&, DiscriminatorOutput)> make_discriminator;
  /// D's critic variant, without BatchNorm (Recipe::wants_critic: WGAN-GP's
  /// penalty, spectral normalization), built for the recipe; empty: none.
  std::function<Model(Rng&, const Recipe&)> make_critic;
  std::string init;    // how the weights are initialized, for config.json
  Shape image_shape;   // one sample as a picture: C x H x W
  Shape sample_shape;  // one real sample as D takes it (image_shape, or flattened)
  Index latent = 100;             // G's noise size; 0: G takes an image (autoencoder)
  Recipe recipe;       // docs/models.md's settings: the default
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
  /// A conditional model (G(z, y), D(x, y)): how D reads the label, for
  /// config.json; empty for an unconditional one. Its builders take the data
  /// set's number of classes; D's builder takes the recipe, which says what
  /// D outputs and whether it classifies too (Recipe::ac_gan).
  std::string conditional;
  std::function<Model(Rng&, Index classes)> make_conditional_generator;
  std::function<Model(Rng&, const Recipe&, Index classes)> make_conditional_discriminator;
};

namespace detail {

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
  /// The data set as this run reads it: the model's size and channels, its pixel range.
  data::DatasetOptions data_options(data::Scaling scaling) const {
    data::DatasetOptions o;
    o.name = spec.dataset;
    o.path = cli.data_dir;
    o.channels = spec.image_shape[0];
    o.size = spec.image_shape[1];
    o.background = cli.background;
    o.skip_unreadable = cli.skip_unreadable;
    o.allow_fetch = !cli.no_fetch;
    o.scaling = scaling;
    o.classes = spec.digits;  // a model of some digits (the inverted 8s) keeps those alone
    o.progress = reading_progress;
    return o;
  }
  /// A folder's decoding, shown in place on a terminal.
  static void reading_progress(Index done, Index total) {
    if (total < 1000) return;
    std::fprintf(stderr, "\rReading pictures: %lld / %lld", static_cast<long long>(done), static_cast<long long>(total));
    if (done == total) std::fprintf(stderr, "\n");
  }
};

/// Images [N, C, H, W] in the shape D takes them.
inline Tensor<float> as_samples(Tensor<float> images, const Shape& sample_shape) {
  images.reshape(sample_shape.batch_of(images.dim(0)));
  return images;
}

/// One split of the run's data set in the model's pixel range (scaling), or
/// the classifier's [-1, 1].
inline data::ImageSet load_split(const Run& run, data::Split split, std::optional<data::Scaling> scaling = {}) {
  const data::Scaling range = scaling.value_or(run.spec.unit_range ? data::Scaling::zero_to_one
                                                                   : data::Scaling::minus_one_to_one);
  return data::load_dataset(run.data_options(range), split);
}

/// The classes a conditional model learns: those of its training set, which
/// must have a label for every picture. 0 for an unconditional model.
inline Index conditional_classes(const Run& run, const data::ImageSet& train_set) {
  if (run.spec.conditional.empty()) return 0;
  const std::string path = run.cli.data_dir.empty() ? data::default_dataset_path(run.spec.dataset) : run.cli.data_dir;
  if (run.spec.dataset == "folder") data::require_labels(train_set, path);
  check(train_set.labelled() && train_set.classes.size() >= 2, run.program, ": --conditional needs a data set of two ",
        "or more classes with a label on every picture; ", run.spec.dataset, " has ", train_set.classes.size());
  return static_cast<Index>(train_set.classes.size());
}
inline Index conditional_classes(const Run& run) {
  return run.spec.conditional.empty() ? 0 : conditional_classes(run, load_split(run, data::Split::train));
}

/// G and D as the run builds them: conditional ones for `classes` > 0.
inline Trainer::Model build_generator(const Run& run, Rng& rng, Index classes) {
  return classes ? run.spec.make_conditional_generator(rng, classes) : run.spec.make_generator(rng);
}
inline Trainer::Model build_discriminator(const Run& run, Rng& rng, const Recipe& recipe, Index classes) {
  if (recipe.wants_critic()) {
    if (classes || !run.spec.make_critic)
      throw UsageError(run.program + ": --gp, --wgan-gp and --spectral-norm train a critic without BatchNorm, and " +
                       (classes ? "the conditional " + run.spec.name : run.spec.name) + " has no such variant of its D yet");
    return run.spec.make_critic(rng, recipe);
  }
  return classes ? run.spec.make_conditional_discriminator(rng, recipe, classes)
                 : run.spec.make_discriminator(rng, discriminator_output(recipe));
}

/// --recipe picks docs/models.md's settings or the best ones; each switch given on
/// its own then overrides.
inline Recipe chosen_recipe(const Run& run) {
  return apply_switches(run.cli.recipe == "best" ? run.spec.best_recipe : run.spec.recipe, run.cli.recipe_switches,
                        run.program);
}

inline void write_config(const Run& run, const Recipe& recipe, std::int64_t iterations, std::int64_t per_epoch,
                         Index real_batch, Index fake_batch, Index g_batch,
                         const std::vector<std::string>& class_names) {
  const ModelSpec& s = run.spec;
  const auto number = [](auto v) { return std::to_string(v); };
  const auto flag = detail::json_flag;
  std::string digits = "[";
  for (std::size_t i = 0; i < s.digits.size(); ++i) digits += (i ? "," : "") + std::to_string(s.digits[i]);
  digits += "]";
  std::vector<std::pair<std::string, std::string>> fields = {
      {"program", json::quote(run.program)}, {"model", json::quote(s.name)},
      {"tinygan_version", json::quote(TINYGAN_VERSION_STRING)}, {"seed", number(run.cli.seed)},
      {"threads", number(num_threads())}};
  if (run.comm) {
    fields.emplace_back("ranks", number(run.comm->size()));
    fields.emplace_back("sync_bn", flag(run.cli.sync_bn));
  }
  const std::vector<std::pair<std::string, std::string>> run_fields = {
      {"flush_denormals", "true"}, {"iterations", number(iterations)}, {"iterations_per_epoch", number(per_epoch)},
      {"real_batch", number(real_batch)}, {"fake_batch", number(fake_batch)}, {"g_batch", number(g_batch)},
      {"image_shape", json_shape(s.image_shape)}, {"sample_shape", json_shape(s.sample_shape)},
      {"recipe", json::quote(run.cli.recipe)}};
  fields.insert(fields.end(), run_fields.begin(), run_fields.end());
  for (const auto& setting : recipe_settings(recipe)) fields.push_back(setting);
  char labels[64];
  std::snprintf(labels, sizeof labels, "{\"real\": %.6g, \"fake\": 0}", recipe.real_label);
  // --he-init redraws every layer but the last one (nn::init::he_normal_hidden).
  const std::string init = recipe.he_init ? "He normal(0, sqrt(2/fan_in)) hidden layers, biases 0; output layer: " + s.init
                                          : s.init;
  const std::vector<std::pair<std::string, std::string>> model_fields = {
      {"discriminator_loss", json::quote(recipe.loss != AdversarialLoss::bce ? detail::loss_name(recipe.loss)
                                          : recipe.d_logits                  ? "bce_with_logits"
                                                                             : "bce")}, {"labels", labels},
      {"init", json::quote(init)}, {"pixel_range", s.unit_range ? "[0, 1]" : "[-1, 1]"}, {"digits", digits},
      {"inverted", flag(s.inverted)}, {"dataset", json::quote(s.dataset)}, {"data", json::quote(run.cli.data_dir)},
      {"latent", number(s.latent)}};
  fields.insert(fields.end(), model_fields.begin(), model_fields.end());
  if (!class_names.empty()) {  // what --class K means, K the name's position
    fields.emplace_back("conditional", json::quote(s.conditional));
    fields.emplace_back("classes", number(class_names.size()));
    std::string names = "[";
    for (std::size_t k = 0; k < class_names.size(); ++k) names += (k ? ", " : "") + json::quote(class_names[k]);
    fields.emplace_back("class_names", names + "]");
  }
  write_file_atomically(run.out("config.json"), json_object(fields));
}

/// G's input for one sample: noise, or (an autoencoder) a sample as D takes it.
inline Shape generator_input(const ModelSpec& spec) {
  return spec.latent ? Shape{spec.latent} : spec.sample_shape;
}

inline int print_summaries(const Run& run) {
  Rng rng(run.cli.seed);
  const Recipe recipe = chosen_recipe(run);
  const Index classes = conditional_classes(run);
  auto g = build_generator(run, rng, classes);
  auto d = build_discriminator(run, rng, recipe, classes);
  const Shape g_in = generator_input(run.spec);
  std::cout << nn::summary(*g, g_in, "generator") << '\n'
            << nn::summary(*d, run.spec.sample_shape, "discriminator") << '\n';
  if (classes) return 0;  // G(z, y) then D(x, y) is no chain of one input: no combined model to show
  d->set_trainable(false);
  nn::Sequential<float> combined;  // G then D, sharing their modules (Keras's combined model)
  combined.add(g).add(d);
  std::cout << nn::summary(combined, g_in, "combined (discriminator frozen)");
  return 0;
}

constexpr Index kGenerateBatch = 500;

/// Spherical interpolation between latent points a and b (White, 2016): the
/// path keeps the norm a Gaussian's samples have, where a straight line
/// passes through the unlikely middle.
inline void slerp(const float* a, const float* b, Index n, double t, float* out) {
  double ab = 0, aa = 0, bb = 0;
  for (Index i = 0; i < n; ++i) ab += double(a[i]) * b[i], aa += double(a[i]) * a[i], bb += double(b[i]) * b[i];
  const double omega = std::acos(std::clamp(ab / std::sqrt(aa * bb), -1.0, 1.0));
  const double wa = omega < 1e-6 ? 1 - t : std::sin((1 - t) * omega) / std::sin(omega);
  const double wb = omega < 1e-6 ? t : std::sin(t * omega) / std::sin(omega);
  for (Index i = 0; i < n; ++i) out[i] = static_cast<float>(wa * a[i] + wb * b[i]);
}

/// --interpolate: one row per class, each the same walk from one latent point to another.
inline void write_interpolation(const Run& run, nn::Module<float>& g, Index classes) {
  constexpr Index kSteps = 10;
  const Index latent = run.spec.latent;
  Rng noise(run.cli.seed);
  const Tensor<float> ends = Tensor<float>::randn({2, latent}, noise);
  Tensor<float> z(Shape{classes * kSteps, latent}), labels(Shape{classes * kSteps});
  for (Index row = 0; row < classes; ++row)
    for (Index step = 0; step < kSteps; ++step) {
      const Index i = row * kSteps + step;
      slerp(ends.data(), ends.data() + latent, latent, static_cast<double>(step) / (kSteps - 1), z.data() + i * latent);
      labels[i] = static_cast<float>(row);
    }
  Tensor<float> samples = nn::predict(g, z, kGenerateBatch, &labels);
  samples.reshape(run.spec.image_shape.batch_of(samples.dim(0)));
  io::save_image_grid(run.out("interpolation.png"), samples, kSteps, run.lo(), run.hi(), 2);
  std::cout << "Wrote " << run.out("interpolation.png") << ": " << classes << " rows (one per class) of " << kSteps
            << " steps between two latent points\n";
}

/// The class asked of each of n samples: --class K for all, else the classes
/// in turn, ten samples each (a row per class in a 10-wide grid).
inline Tensor<float> generated_labels(const Run& run, Index n, Index classes) {
  if (run.cli.class_index)
    check(*run.cli.class_index < classes, run.program, ": --class ", *run.cli.class_index, ": the model was trained on ",
          classes, " classes (0 to ", classes - 1, ")");
  Tensor<float> labels(Shape{n});
  for (Index i = 0; i < n; ++i)
    labels[i] = static_cast<float>(run.cli.class_index ? *run.cli.class_index : (i / 10) % classes);
  return labels;
}

/// --load: samples from saved weights, no training.
inline int generate(const Run& run) {
  const ModelSpec& spec = run.spec;
  Rng rng(run.cli.seed);
  const Index classes = conditional_classes(run);
  auto g = build_generator(run, rng, classes);
  io::load_weights(run.cli.load, *g);
  std::filesystem::create_directories(run.cli.out_dir);
  const Index count = run.cli.generate.value_or(classes ? std::min<Index>(classes, 10) * 10 : 64);
  const auto as_images = [&](Tensor<float> t) {
    const Shape s = spec.image_shape.batch_of(t.dim(0));
    check(t.numel() == s.numel(), "the generator's outputs ", t.shape(), " are not images of ", spec.image_shape);
    t.reshape(s);
    return t;
  };
  if (spec.latent == 0) {
    // An autoencoder generator maps given images: an IDX3 file, else the test set's.
    Tensor<float> inputs;
    if (!run.cli.input.empty()) {
      const data::IdxArray idx = data::read_idx(run.cli.input);
      check(spec.image_shape[0] == 1 && idx.dims.size() == 3 && idx.dims[1] == spec.image_shape[1] &&
                idx.dims[2] == spec.image_shape[2],
            run.cli.input, ": expected IDX3 images of ", spec.image_shape[1], "x", spec.image_shape[2]);
      inputs = Tensor<float>(Shape{idx.dims[0], spec.image_shape.numel()});
      for (Index i = 0; i < inputs.numel(); ++i) inputs[i] = idx.data[static_cast<std::size_t>(i)] / 255.0f;
    } else {
      inputs = load_split(run, data::Split::test).images;
    }
    const Index n = std::min(count, inputs.dim(0));
    Tensor<float> first(spec.sample_shape.batch_of(n));
    std::copy_n(inputs.data(), first.numel(), first.data());
    const Tensor<float> outputs = as_images(nn::predict(*g, first, kGenerateBatch));
    io::save_image_pairs(run.out("generated_pairs.png"), as_images(first), outputs, 0.0f, 1.0f, 2);
    if (!run.cli.export_samples.empty()) io::export_samples(run.cli.export_samples, outputs, run.lo(), run.hi());
    std::cout << "Wrote " << n << " inverted digits to " << run.out("generated_pairs.png") << "\n";
    return 0;
  }
  if (run.cli.interpolate) write_interpolation(run, *g, classes);
  if (run.cli.interpolate && !run.cli.generate) return 0;
  Tensor<float> z;
  if (!run.cli.latent.empty()) {
    z = io::load_npy(run.cli.latent);
    check(z.rank() == 2 && z.dim(1) == spec.latent, run.cli.latent, ": expected latent vectors of shape (N, ",
          spec.latent, "), found ", z.shape());
  } else {
    Rng noise(run.cli.seed);
    z = Tensor<float>::randn({count, spec.latent}, noise);
  }
  const Tensor<float> labels = classes ? generated_labels(run, z.dim(0), classes) : Tensor<float>();
  const Tensor<float> samples = as_images(nn::predict(*g, z, kGenerateBatch, classes ? &labels : nullptr));
  // The picture shows the first 100; the export holds them all.
  Shape shown_shape = samples.shape();
  shown_shape[0] = std::min<Index>(samples.dim(0), 100);
  Tensor<float> shown(shown_shape);
  std::copy_n(samples.data(), shown.numel(), shown.data());
  io::save_image_grid(run.out("generated.png"), shown, std::min<Index>(shown.dim(0), 10), run.lo(), run.hi(), 2);
  if (!run.cli.export_samples.empty()) io::export_samples(run.cli.export_samples, samples, run.lo(), run.hi());
  if (classes) io::save_npy(run.out("generated_labels.npy"), labels);  // the class asked of each: tinygan-score --asked
  std::cout << "Wrote " << samples.dim(0) << " samples"
            << (run.cli.class_index ? " of class " + std::to_string(*run.cli.class_index) : "") << " to "
            << run.out("generated.png")
            << (run.cli.export_samples.empty() ? "" : " and " + run.cli.export_samples) << "\n";
  return 0;
}

/// The per-epoch scorer, or none when --fid-samples is 0 or no classifier
/// fits (then said once: training goes on without scores).
inline std::optional<QualityTracker> make_quality_tracker(const Run& run, Index classes) {
  const ModelSpec& spec = run.spec;
  const Index count = run.cli.fid_samples.value_or(10000);
  if (count == 0) return std::nullopt;
  const bool chosen = !run.cli.classifier.empty();
  const std::string path = chosen ? run.cli.classifier
                                  : std::string(TINYGAN_ASSETS) + "/" + spec.dataset + "_classifier.safetensors";
  if (!std::filesystem::is_regular_file(path)) {
    std::cout << "Not scoring samples: no classifier at " << path
              << " (pass --classifier FILE, or --fid-samples 0 to silence this)\n";
    return std::nullopt;
  }
  models::ClassifierInfo info;
  auto classifier = models::load_classifier(path, &info);
  const std::string dataset = data::dataset_id(spec.dataset, run.cli.data_dir);
  if (info.dataset != dataset || info.input != spec.image_shape) {
    const std::string why = path + ": a classifier of " + info.dataset + " pictures " + info.input.str() +
                            ", but " + run.program + " trains on " + dataset + " pictures " +
                            spec.image_shape.str();
    if (chosen) throw Error(why);
    std::cout << "Not scoring samples: " << why << " (train one with image_classifier --dataset " << spec.dataset
              << " --size " << spec.image_shape[1] << " --channels " << spec.image_shape[0]
              << " --out FILE and pass --classifier FILE, or --fid-samples 0 to silence this)\n";
    return std::nullopt;
  }
  // The reference: the test split (of the model's digits) in the classifier's range [-1, 1].
  const Tensor<float> test_images = load_split(run, data::Split::test, data::Scaling::minus_one_to_one).images;
  Tensor<double> reference = metrics::reference_features(*classifier, info.input, test_images);
  Tensor<float> inputs;
  if (spec.latent) {
    Rng rng(run.cli.seed ^ 0x7175616c697479ULL);  // the same latents at every epoch
    inputs = Tensor<float>::randn({count, spec.latent}, rng);
  } else {
    // An autoencoder generator is scored on the test set's digits.
    const Tensor<float> test = as_samples(load_split(run, data::Split::test).images, spec.sample_shape);
    Shape shape = test.shape();
    shape[0] = std::min(count, test.dim(0));
    inputs = Tensor<float>::uninitialized(shape);
    std::copy_n(test.data(), inputs.numel(), inputs.data());
  }
  // A conditional G is asked for every class alike, in turn.
  Tensor<float> labels = classes ? every_class(inputs.dim(0), classes) : Tensor<float>();
  check(!classes || info.classes == classes, path, ": a classifier of ", info.classes, " classes, but the model draws ",
        classes);
  return QualityTracker(std::move(classifier), info.input, std::move(reference), std::move(inputs),
                        SampleRange{spec.unit_range, spec.inverted}, kGenerateBatch, std::move(labels));
}

/// How a score's line ends: the digits covered, or for a model of some digits
/// (the inverted 8s) how many samples are those digits.
inline std::string digit_coverage(const ModelSpec& spec, const metrics::Score& score) {
  double wanted = 0;
  std::string digits;
  for (int d : spec.digits) {
    wanted += score.histogram.at(static_cast<std::size_t>(d));
    digits += (digits.empty() ? "" : "/") + std::to_string(d);
  }
  char text[96];
  if (spec.digits.empty())
    std::snprintf(text, sizeof text, "%d/%zu %s", score.classes_covered, score.histogram.size(),
                  spec.dataset == "mnist" ? "digits" : "classes");
  else
    std::snprintf(text, sizeof text, "%.0f%% classified as %s", 100 * wanted, digits.c_str());
  if (score.class_accuracy >= 0)
    std::snprintf(text + std::strlen(text), sizeof text - std::strlen(text), ", %.1f%% the class asked for",
                  100 * score.class_accuracy);
  return text;
}

/// Training: docs/models.md's procedure in the training loop, with the programs' outputs.
inline int train(const Run& run) {
  const ModelSpec& spec = run.spec;
  const CliOptions& cli = run.cli;
  // Rank 0 reads (and if need be fetches) MNIST first, so that ranks sharing a folder never fetch at once.
  if (!run.root()) run.comm->barrier("waiting for rank 0 to read MNIST");
  data::ImageSet train_data = load_split(run, data::Split::train);
  const Index classes = conditional_classes(run, train_data);
  const std::vector<std::string> class_names = classes ? train_data.classes : std::vector<std::string>();
  if (classes && run.root()) {
    std::cout << "Classes (--class K; a row each in the sample grids):";
    for (std::size_t k = 0; k < class_names.size(); ++k)  // MNIST's names are their numbers
      std::cout << (k ? ", " : " ") << k << (class_names[k] == std::to_string(k) ? "" : " " + class_names[k]);
    std::cout << "\n";
  }
  Tensor<float> train_set = as_samples(std::move(train_data.images), spec.sample_shape);
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
  const Recipe recipe = chosen_recipe(run);
  auto generator = build_generator(run, init_rng, classes);
  auto discriminator = build_discriminator(run, init_rng, recipe, classes);
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
  if (recipe.ema_decay > 0) trainer.set_ema_generator(build_generator(run, init_rng, classes));
  Rng noise(cli.seed ^ 0x6e6f697365ULL);  // noise and index draws: the source's stream
  // Noise GANs walk the data in shuffled epochs; the autoencoder draws index sets.
  std::unique_ptr<Source> source;
  if (spec.inverted)
    source = std::make_unique<PairedSource>(train_set, targets, real_batch, noise, run.shard());
  else
    source = std::make_unique<ImageSource>(train_set, noise,
                                           ImageSource::Options{spec.latent, real_batch, fake_batch, g_batch, run.shard()},
                                           classes ? &train_data.labels : nullptr, classes);
  const std::int64_t per_epoch = source->batches_per_epoch();

  LoopOptions options;
  options.out_dir = cli.out_dir;
  options.name = spec.name;
  options.title = run.program + " " + spec.name;
  // --minutes without a length trains until the time is up (iterations 0).
  options.iterations = cli.iters ? *cli.iters
                       : cli.epochs ? *cli.epochs * per_epoch
                       : cli.minutes ? 0
                       : spec.iterations ? spec.iterations : spec.epochs * per_epoch;
  options.minutes = cli.minutes;
  options.sample_every = spec.sample_every;
  options.score_every = spec.score_every;
  options.checkpoint_every = cli.checkpoint_every.value_or(0);
  options.log_every = spec.log_every;
  options.samples = spec.samples;
  options.sample_columns = spec.sample_columns;
  options.lo = run.lo();
  options.hi = run.hi();
  options.seed = cli.seed;
  options.statistics_batch = g_batch;
  options.comm = run.comm;
  options.sync_bn = cli.sync_bn;
  options.non_finite_advice = "A lower --lr or --recipe best may help; --on-nan skip skips such steps instead";
  options.d_wins_advice = "Try --recipe best, or --label-smoothing 0.1, --d-logits, a lower --lr-d";
  options.resume_advice = "continue with --resume " + run.out("checkpoint.safetensors");
  TrainingLoop loop(trainer, *source, options);

  std::optional<QualityTracker> quality;
  if (run.root()) quality = make_quality_tracker(run, classes);
  if (quality) loop.set_quality(&*quality);
  loop.coverage = [&](const metrics::Score& score) { return digit_coverage(spec, score); };
  if (!cli.resume.empty()) loop.resume(cli.resume);
  if (run.root()) write_config(run, recipe, loop.total_iterations(), per_epoch, real_batch, fake_batch, g_batch, class_names);

  std::cout << nn::summary(trainer.generator(), generator_input(spec), "generator") << '\n'
            << nn::summary(trainer.discriminator(), spec.sample_shape, "discriminator") << '\n';
  const int code = loop.run();
  if (code != 0 || !run.root()) return code;  // rank 0 writes the outputs

  if (spec.inverted) {
    // docs/models.md: the generator goes to a file, comes back into a fresh
    // model, and inverts the test set's digits.
    Rng fresh(cli.seed + 1);
    auto reloaded = build_generator(run, fresh, classes);
    io::load_weights(loop.out("generator.safetensors"), *reloaded);
    reloaded->eval();
    NoGrad no_grad;
    Tensor<float> test = as_samples(load_split(run, data::Split::test).images, spec.sample_shape);
    Shape first_shape = test.shape();
    first_shape[0] = std::min<Index>(test.dim(0), 64);
    Tensor<float> first(first_shape);
    std::copy_n(test.data(), first.numel(), first.data());
    io::save_image_pairs(loop.out("test_inverted.png"), first, (*reloaded)(Var<float>(first)).value(), 0.0f, 1.0f, 2);
  }
  if (trainer.skipped_steps())
    std::cout << "Skipped " << trainer.skipped_steps() << " non-finite steps (--on-nan skip)\n";
  std::cout << "Done: " << trainer.iteration() << " iterations in " << static_cast<long>(loop.wall_seconds())
            << " s. Outputs in " << cli.out_dir
            << ": samples_*.png, loss_plot.png, losses.csv, config.json, generator.safetensors, "
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

/// The models of a program whose networks depend on its command line (the
/// image size and channels of image_dcgan).
using SpecsFor = std::function<std::vector<ModelSpec>(const CliOptions&)>;

/// Runs an example program. Exit codes: 0 done, 1 error, 2 bad command line,
/// 130 interrupted (after saving a checkpoint).
inline int run_program(int argc, const char* const* argv, const CliSpec& cli_spec, const SpecsFor& specs_for) {
  const std::string& program = cli_spec.program;
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
    const std::vector<ModelSpec> specs = specs_for(cli);
    for (const auto& s : specs)
      check(s.image_shape.rank() == 3 && s.sample_shape.numel() == s.image_shape.numel(), program, ": model ", s.name,
            " needs an image_shape C x H x W and a sample_shape of as many values, found ", s.image_shape, " and ",
            s.sample_shape);
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

/// A program of fixed models (the MNIST examples).
inline int run_program(int argc, const char* const* argv, const std::string& program,
                       const std::vector<ModelSpec>& specs, bool has_input = false) {
  CliSpec cli_spec{program, {}, has_input};
  if (specs.size() > 1)
    for (const auto& s : specs) cli_spec.models.push_back(s.name);
  for (const auto& s : specs) cli_spec.critic = cli_spec.critic || static_cast<bool>(s.make_critic);
  return run_program(argc, argv, cli_spec, [&](const CliOptions&) { return specs; });
}

}  // namespace tinygan::gan
