// image_classifier: trains the classifier that tinygan measures sample
// quality with (gan/classifier.hpp) on a labelled data set: MNIST, Fashion-MNIST,
// CIFAR-10, the Twemoji categories or a folder's classes. It reports the test
// accuracy after every epoch (on the test split, or for a folder and the
// emoji on their held-out tenth) and saves the weights as safetensors with the
// metadata the scorers read (input_shape, dataset, classes, class_names:
// models::save_classifier). The committed assets/*_classifier.safetensors were
// made by this program (assets/README.md gives the commands).
#include <tinygan/gan.hpp>
#include <tinygan/gan/classifier.hpp>
#include <tinygan/gan/cli.hpp>
#include <tinygan/data/datasets.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

using namespace tinygan;

namespace {

constexpr const char* kProgram = "image_classifier";
constexpr Index kBatch = 128;
constexpr double kLearningRate = 1e-3;  // halved after every epoch unless --lr-decay says otherwise

struct Options {
  data::DatasetOptions data;
  std::string out;
  std::int64_t epochs = 6;
  double lr_decay = 0.5;
  std::uint64_t seed = 42;
  int threads = 0;
  bool help = false, version = false;
};

std::string usage() {
  return std::string("Usage: ") + kProgram + " [options]\n\n" +
         "Trains the classifier used for FID and the Inception score on a labelled data set, and saves its weights.\n\n"
         "Options (defaults in brackets):\n"
         "  --dataset NAME     mnist, fashion-mnist, cifar10, emoji or folder [mnist; folder when --data is given]\n"
         "  --data DIR         the data set's folder [as image_dcgan: data/mnist, Debian's Fashion-MNIST, ...];\n"
         "                     a folder's first-level sub-folders are its classes\n"
         "  --size N           image side in pixels [the data set's; the emoji and a folder: 32]\n"
         "  --channels N       1 (grey) or 3 (RGB) [the data set's; the emoji and a folder: 3]\n"
         "  --background HEX   colour under transparent pixels, RRGGBB [ffffff]\n"
         "  --skip-unreadable  leave out pictures that cannot be decoded instead of stopping\n"
         "  --no-fetch         never download a data set; fail with instructions instead\n"
         "  --out FILE         weights file (safetensors) [assets/<dataset>_classifier.safetensors]\n"
         "  --epochs N         passes over the training images [6]\n"
         "  --lr-decay X       the learning rate (1e-3) is multiplied by X after every epoch [0.5]\n"
         "  --seed N           random seed [42]\n"
         "  --threads N        threads [all cores]\n"
         "  --help             print this help and exit\n"
         "  --version          print the version and exit\n";
}

Options parse(int argc, char** argv) {
  using namespace gan::detail;
  Options o;
  Arguments args(kProgram, argc, argv);
  while (args.next()) {
    const std::string& flag = args.flag();
    if (flag == "--help" || flag == "-h") o.help = true;
    else if (flag == "--version") o.version = true;
    else if (flag == "--dataset") o.data.name = parse_choice(kProgram, flag, args.value(), data::dataset_names());
    else if (flag == "--data") o.data.path = args.value();
    else if (flag == "--size") o.data.size = parse_count(kProgram, flag, args.value(), 1, 4096);
    else if (flag == "--channels") o.data.channels = parse_count(kProgram, flag, args.value(), 1, 3);
    else if (flag == "--background") o.data.background = parse_colour(kProgram, flag, args.value());
    else if (flag == "--skip-unreadable") o.data.skip_unreadable = true;
    else if (flag == "--no-fetch") o.data.allow_fetch = false;
    else if (flag == "--out") o.out = args.value();
    else if (flag == "--epochs") o.epochs = parse_count(kProgram, flag, args.value(), 1, 1000);
    else if (flag == "--lr-decay") o.lr_decay = parse_fraction(kProgram, flag, args.value(), 1.0 + 1e-9);
    else if (flag == "--seed") o.seed = static_cast<std::uint64_t>(parse_count(kProgram, flag, args.value(), 0, INT64_MAX));
    else if (flag == "--threads") o.threads = static_cast<int>(parse_count(kProgram, flag, args.value(), 1, 1024));
    else throw gan::UsageError(std::string(kProgram) + ": unknown option '" + flag + "' (see --help)");
  }
  bool named = false;
  for (int i = 1; i < argc; ++i) named = named || std::string(argv[i]) == "--dataset";
  if (!named && !o.data.path.empty()) o.data.name = "folder";
  if (o.data.channels == 2) throw gan::UsageError(std::string(kProgram) + ": --channels expects 1 (grey) or 3 (RGB), found 2");
  if (o.out.empty())
    o.out = o.data.name == "folder" ? "out/" + data::dataset_id("folder", o.data.path).substr(7) + "_classifier.safetensors"
                                    : "assets/" + o.data.name + "_classifier.safetensors";
  return o;
}

// The share of images whose most probable class is their label.
double accuracy(nn::Sequential<float>& model, const Shape& input, const data::ImageSet& set) {
  const Tensor<double> p = models::features_and_logits(model, input, set.images).probabilities;
  Index right = 0;
  for (Index i = 0; i < set.size(); ++i) {
    const double* row = p.data() + i * p.dim(1);
    right += std::max_element(row, row + p.dim(1)) - row == set.labels[static_cast<std::size_t>(i)];
  }
  return static_cast<double>(right) / static_cast<double>(set.size());
}

int train(const Options& o) {
  data::DatasetOptions data_options = o.data;
  data_options.scaling = data::Scaling::minus_one_to_one;  // the range of the generators' tanh
  data_options.progress = [](Index done, Index total) {
    if (total >= 1000) std::fprintf(stderr, "\rReading pictures: %lld / %lld%s", static_cast<long long>(done),
                                    static_cast<long long>(total), done == total ? "\n" : "");
  };
  const data::ImageSet train_set = data::load_dataset(data_options, data::Split::train);
  const data::ImageSet test_set = data::load_dataset(data_options, data::Split::test);
  const std::string path = data_options.path.empty() ? data::default_dataset_path(o.data.name) : data_options.path;
  if (o.data.name == "folder") data::require_labels(train_set, path);
  check(train_set.labelled() && test_set.labelled() && !train_set.classes.empty(), kProgram, ": ", o.data.name,
        " has no classes to learn");

  const Shape input{train_set.images.dim(1), train_set.images.dim(2), train_set.images.dim(3)};
  const models::ClassifierInfo info{input, data::dataset_id(o.data.name, path),
                                    static_cast<Index>(train_set.classes.size())};
  Rng rng(o.seed);
  auto model = models::classifier<float>(info.input, info.classes, rng);
  std::cout << nn::summary(*model, info.input, kProgram) << '\n';
  std::cout << "Training on " << train_set.size() << " images for " << o.epochs << " epoch(s), batch " << kBatch
            << ", with " << num_threads() << " thread(s); " << info.classes << " classes, tested on "
            << test_set.size() << " images" << std::endl;

  data::Batches batches(train_set.images, kBatch, rng);
  auto optimizer = std::make_unique<optim::Adam<float>>(model->parameters(), optim::AdamOptions(kLearningRate));
  Tensor<float> images, classes(Shape{kBatch});
  const auto start = std::chrono::steady_clock::now();
  double test_accuracy = 0;
  for (std::int64_t epoch = 1; epoch <= o.epochs; ++epoch) {
    if (epoch > 1) {
      // AdamOptions are fixed at construction: a new Adam that takes over the
      // moments and step counts is the same optimizer with a smaller rate.
      auto next = std::make_unique<optim::Adam<float>>(
          model->parameters(), optim::AdamOptions(optimizer->options().lr() * o.lr_decay));
      next->state() = optimizer->state();
      optimizer = std::move(next);
    }
    model->train();
    double loss_sum = 0;
    Index steps = 0;
    while (batches.next(images)) {
      // The batch's rows are the last kBatch entries of this epoch's order.
      const Index* picked = batches.order().data() + batches.position() - kBatch;
      for (Index k = 0; k < kBatch; ++k) classes[k] = train_set.labels[static_cast<std::size_t>(picked[k])];
      optimizer->zero_grad();
      const Var<float> loss = cross_entropy((*model)(Var<float>(images)), classes);
      loss_sum += loss.value()[0];
      ++steps;
      backward(loss);
      optimizer->step();
    }
    check(std::isfinite(loss_sum), kProgram, ": the training loss is not finite in epoch ", epoch);
    test_accuracy = accuracy(*model, info.input, test_set);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("epoch %lld/%lld  lr %.2e  train loss %.4f  test accuracy %.2f%%  (%.0f s)\n",
                static_cast<long long>(epoch), static_cast<long long>(o.epochs), optimizer->options().lr(),
                loss_sum / static_cast<double>(steps), 100 * test_accuracy, seconds);
    std::fflush(stdout);
  }

  const std::filesystem::path out(o.out);
  if (out.has_parent_path()) std::filesystem::create_directories(out.parent_path());
  char accuracy_text[32];
  std::snprintf(accuracy_text, sizeof accuracy_text, "%.4f", test_accuracy);
  std::string class_names;
  for (const auto& c : train_set.classes) class_names += (class_names.empty() ? "" : ",") + c;
  models::save_classifier(o.out, *model, info,
                          {{"model", kProgram},
                           {"class_names", class_names},
                           {"tinygan_version", TINYGAN_VERSION_STRING},
                           {"epochs", std::to_string(o.epochs)},
                           {"seed", std::to_string(o.seed)},
                           {"test_accuracy", accuracy_text}});
  std::cout << "Saved " << o.out << " (test accuracy " << 100 * test_accuracy << "%)\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return gan::run_tool(kProgram, usage(), argc, argv, parse, train); }
