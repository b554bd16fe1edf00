// gan/classifier.hpp: the classifier for any input shape C x H x W and class
// count (the MNIST one exactly as it always was), and its files: the
// metadata (input_shape, dataset, classes) written by save_classifier and
// read by load_classifier, files without it read as MNIST, malformed
// metadata refused, and the committed asset.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <string>

#include "test_util.hpp"
#include "tinygan/gan/classifier.hpp"
#include "tinygan/io/state_dict.hpp"

using namespace tinygan;
using namespace tinygan::testing;

namespace {

const std::string kCommittedClassifier = std::string(TINYGAN_FIXTURE_DIR) + "/../../assets/mnist_classifier.safetensors";

// The MNIST classifier as gan/classifier.hpp wrote it out before it took any
// input shape: the committed weights were trained with this network.
std::shared_ptr<nn::Sequential<float>> mnist_classifier_as_written_before(Rng& rng) {
  using namespace nn;
  auto c = std::make_shared<Sequential<float>>();
  const auto conv = [](Index in, Index out, Index stride, Index padding) {
    return Conv2D<float>(Conv2DOptions(in, out, 3).stride(stride).padding(padding).bias(false));
  };
  c->add(conv(1, 32, 1, 1)).add(BatchNorm<float>(32)).add(ReLU<float>())
      .add(conv(32, 32, 2, 1)).add(BatchNorm<float>(32)).add(ReLU<float>())
      .add(conv(32, 64, 2, 1)).add(BatchNorm<float>(64)).add(ReLU<float>())
      .add(conv(64, 48, 2, 0)).add(BatchNorm<float>(48)).add(ReLU<float>())
      .add(Flatten<float>())
      .add(Dropout<float>(0.25))
      .add(Dense<float>(DenseOptions(48 * 3 * 3, 128).bias(false)))
      .add(BatchNorm<float>(128))
      .add(ReLU<float>())
      .add(Dropout<float>(0.25))
      .add(Dense<float>(128, 10));
  c->initialize(rng);
  return c;
}

// Every tensor of a and b has the same name, shape and bits.
bool same_weights(const nn::Module<float>& a, const nn::Module<float>& b) {
  const auto sa = io::state_dict(a), sb = io::state_dict(b);
  if (sa.size() != sb.size()) return false;
  for (const auto& [name, t] : sa) {
    const auto it = sb.find(name);
    if (it == sb.end() || it->second.shape() != t.shape()) return false;
    if (std::memcmp(t.data(), it->second.data(), static_cast<std::size_t>(t.numel()) * sizeof(float)) != 0) return false;
  }
  return true;
}

// The width Dense 14 (after Flatten) takes.
Index flatten_width(const nn::Module<float>& c) { return io::state_dict(c).at("14.weight").dim(1); }

// The error of loading a copy of an MNIST classifier with this metadata.
std::string load_error_with(const std::map<std::string, std::string>& metadata, const std::string& path) {
  Rng rng(3);
  io::save_weights(path, *models::mnist_classifier<float>(rng), metadata);
  return error_of([&] { models::load_classifier(path); });
}

}  // namespace

TEST_CASE("classifier: the 1x28x28 network is the one the committed weights were trained with") {
  Rng rng(1), same(1);
  auto c = models::mnist_classifier<float>(rng);
  auto before = mnist_classifier_as_written_before(same);
  CHECK(c->trainable_parameter_count() == 112778);
  CHECK(c->size() == before->size());
  for (std::size_t i = 0; i < c->size(); ++i) CHECK((*c)[i].type_name() == (*before)[i].type_name());
  CHECK(same_weights(*c, *before));  // names, shapes and initial draws
  CHECK(flatten_width(*c) == 48 * 3 * 3);
  CHECK(models::classifier_feature_map(Shape{1, 28, 28}) == Shape{48, 3, 3});
  Rng again(1);
  CHECK(same_weights(*models::classifier<float>(models::mnist_classifier_info().input, 10, again), *c));
}

TEST_CASE("classifier: other input shapes and class counts build and run") {
  Rng rng(2);
  // 3 x 32 x 32 (CIFAR's shape): 32 -> 32 -> 16 -> 8 -> 3, so Flatten's width is MNIST's 48 x 3 x 3.
  auto cifar = models::classifier<float>(Shape{3, 32, 32}, 10, rng);
  CHECK(io::state_dict(*cifar).at("0.weight").shape() == Shape{32, 3, 3, 3});
  CHECK(models::classifier_feature_map(Shape{3, 32, 32}) == Shape{48, 3, 3});
  CHECK(flatten_width(*cifar) == 48 * 3 * 3);
  const models::ClassifierOutputs out =
      models::features_and_logits(*cifar, Shape{3, 32, 32}, Tensor<float>::rand({3, 3, 32, 32}, rng, -1, 1));
  CHECK(out.features.shape() == Shape{3, models::kClassifierFeatures});
  CHECK(out.probabilities.shape() == Shape{3, 10});

  // 3 x 48 x 40: 48 -> 24 -> 12 -> 5 and 40 -> 20 -> 10 -> 4, a Flatten of 48 x 5 x 4 and 7 classes.
  auto wide = models::classifier<float>(Shape{3, 48, 40}, 7, rng);
  CHECK(models::classifier_feature_map(Shape{3, 48, 40}) == Shape{48, 5, 4});
  CHECK(flatten_width(*wide) == 48 * 5 * 4);
  CHECK(flatten_width(*wide) != flatten_width(*cifar));
  CHECK(wide->trainable_parameter_count() != 112778);
  const models::ClassifierOutputs w =
      models::features_and_logits(*wide, Shape{3, 48, 40}, Tensor<float>::rand({2, 3, 48, 40}, rng, -1, 1));
  CHECK(w.probabilities.shape() == Shape{2, 7});

  // The smallest input, 9 x 9, gives a 1 x 1 map; [N, H, W] is taken when C is 1.
  auto small = models::classifier<float>(Shape{1, 9, 9}, 2, rng);
  CHECK(flatten_width(*small) == 48);
  CHECK(models::features_and_logits(*small, Shape{1, 9, 9}, Tensor<float>(Shape{4, 9, 9})).probabilities.shape() ==
        Shape{4, 2});
}

TEST_CASE("classifier: refuses inputs too small, shapes of another rank and fewer than two classes") {
  Rng rng(3);
  const std::string small = error_of([&] { models::classifier<float>(Shape{1, 8, 28}, 10, rng); });
  CHECK(contains(small, "H, W >= 9"));
  CHECK(contains(small, "found [1, 8, 28]"));
  CHECK(contains(error_of([&] { models::classifier<float>(Shape{28, 28}, 10, rng); }), "found [28, 28]"));
  CHECK(contains(error_of([&] { models::classifier<float>(Shape{0, 28, 28}, 10, rng); }), "C >= 1"));
  CHECK(contains(error_of([&] { models::classifier<float>(Shape{1, 28, 28}, 1, rng); }),
                 "expected at least 2 classes, found 1"));
}

TEST_CASE("classifier: save_classifier and load_classifier round-trip the info and the weights") {
  Rng rng(4);
  const models::ClassifierInfo info{Shape{3, 20, 24}, "tiny_colours", 5};
  auto c = models::classifier<float>(info.input, info.classes, rng);
  // Trained-looking running statistics, so that buffers are compared too.
  for (auto& [name, b] : c->named_buffers()) b.value().fill(0.5f);
  const std::string path = temp_path("classifier_roundtrip.safetensors");
  models::save_classifier(path, *c, info, {{"seed", "4"}});

  const auto file = io::load_safetensors<float>(path);
  CHECK(file.metadata.at("input_shape") == "3,20,24");
  CHECK(file.metadata.at("dataset") == "tiny_colours");
  CHECK(file.metadata.at("classes") == "5");
  CHECK(file.metadata.at("seed") == "4");

  models::ClassifierInfo read;
  auto loaded = models::load_classifier(path, &read);
  CHECK(read == info);
  CHECK(same_weights(*loaded, *c));
  CHECK_FALSE(loaded->is_training());
  std::filesystem::remove(path);

  // The MNIST info writes the keys the committed asset holds.
  CHECK(models::classifier_metadata(models::mnist_classifier_info()) ==
        std::map<std::string, std::string>{{"classes", "10"}, {"dataset", "mnist"}, {"input_shape", "1,28,28"}});
}

TEST_CASE("classifier: save_classifier refuses a model or metadata that do not match the info") {
  Rng rng(5);
  auto mnist = models::mnist_classifier<float>(rng);
  const std::string path = temp_path("classifier_mismatch.safetensors");
  const std::string other =
      error_of([&] { models::save_classifier(path, *mnist, {Shape{3, 28, 28}, "mnist", 10}); });
  CHECK(contains(other, "tensor '0.weight' has shape [32, 1, 3, 3]"));
  CHECK(contains(other, "[32, 3, 3, 3]"));
  CHECK(contains(error_of([&] { models::save_classifier(path, *mnist, {Shape{1, 28, 28}, "mnist", 12}); }),
                 "tensor '18.bias' has shape [10] but a classifier for input_shape 1,28,28 and 12 classes has [12]"));
  CHECK(contains(error_of([&] {
                   models::save_classifier(path, *mnist, models::mnist_classifier_info(), {{"classes", "11"}});
                 }),
                 "metadata 'classes' comes from the ClassifierInfo"));
  CHECK(contains(error_of([&] { models::save_classifier(path, *mnist, {Shape{1, 28, 28}, "my data", 10}); }),
                 "metadata 'dataset'"));
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("classifier: a file without classifier metadata is the MNIST classifier") {
  Rng rng(6);
  auto c = models::mnist_classifier<float>(rng);
  const std::string path = temp_path("classifier_old.safetensors");
  io::save_weights(path, *c, {{"model", "mnist_classifier"}});  // as files were written before the metadata
  models::ClassifierInfo info{Shape{3, 9, 9}, "x", 3};
  auto loaded = models::load_classifier(path, &info);
  CHECK(info == models::ClassifierInfo{Shape{1, 28, 28}, "mnist", 10});
  CHECK(same_weights(*loaded, *c));
  std::filesystem::remove(path);
}

TEST_CASE("classifier: malformed classifier metadata is refused naming the file and the key") {
  const std::string path = temp_path("classifier_bad.safetensors");
  const std::map<std::string, std::string> good{{"input_shape", "1,28,28"}, {"dataset", "mnist"}, {"classes", "10"}};
  const auto with = [&](const std::string& key, const std::string& value) {
    auto m = good;
    m[key] = value;
    return load_error_with(m, path);
  };
  CHECK(load_error_with(good, path).empty());

  const std::string two = with("input_shape", "1,28");
  CHECK(contains(two, path + ": metadata 'input_shape' must be C,H,W"));
  CHECK(contains(two, "e.g. 1,28,28"));
  CHECK(contains(two, "found '1,28'"));
  for (const char* bad : {"1x28x28", "1,28,28,1", "0,28,28", "-1,28,28", "1,,28", "", "1,28,2.5", "1,28,99999999999999999999"}) {
    INFO(bad);
    CHECK(contains(with("input_shape", bad), "metadata 'input_shape' must be C,H,W"));
    CHECK(contains(with("input_shape", bad), std::string("found '") + bad + "'"));
  }
  CHECK(contains(with("input_shape", "1,8,8"), "metadata 'input_shape' must have H, W >= 9"));
  CHECK(load_error_with({{"input_shape", " 1, 28, 28"}, {"dataset", "mnist"}, {"classes", "10"}}, path).empty());

  for (const char* bad : {"ten", "1", "0", "-3", "10.0", ""}) {
    INFO(bad);
    const std::string e = with("classes", bad);
    CHECK(contains(e, path + ": metadata 'classes' must be a whole number from 2"));
    CHECK(contains(e, std::string("found '") + bad + "'"));
  }
  for (const char* bad : {"", "my mnist", "mnist/../x"}) {
    INFO(bad);
    CHECK(contains(with("dataset", bad), path + ": metadata 'dataset' must be a data set name"));
  }

  // Some keys but not all.
  const std::string missing = load_error_with({{"input_shape", "1,28,28"}, {"classes", "10"}}, path);
  CHECK(contains(missing, path + ": metadata 'dataset' is missing"));

  // Well-formed metadata that does not describe the weights: the tensor, both shapes, and what the metadata said.
  const std::string mismatch = with("input_shape", "3,28,28");
  CHECK(contains(mismatch, "tensor '0.weight' has shape [32, 1, 3, 3] but the model expects [32, 3, 3, 3]"));
  CHECK(contains(mismatch, "input_shape 3,28,28 and 10 classes, as the file's metadata says"));
  CHECK(contains(with("classes", "12"), "tensor '18.weight'"));
  std::filesystem::remove(path);
}

TEST_CASE("classifier: the committed asset records MNIST, 1x28x28, 10 classes") {
  if (!std::filesystem::exists(kCommittedClassifier)) {
    MESSAGE("skipped: " << kCommittedClassifier << " does not exist (train it with examples/image_classifier)");
    return;
  }
  const auto file = io::load_safetensors<float>(kCommittedClassifier);
  CHECK(file.metadata.at("input_shape") == "1,28,28");
  CHECK(file.metadata.at("dataset") == "mnist");
  CHECK(file.metadata.at("classes") == "10");
  CHECK(file.metadata.at("seed") == "42");  // the training's metadata stays
  models::ClassifierInfo info;
  auto c = models::load_classifier(kCommittedClassifier, &info);
  CHECK(info == models::mnist_classifier_info());
  CHECK(info.input == Shape{1, 28, 28});
  CHECK(info.dataset == "mnist");
  CHECK(info.classes == 10);
  CHECK(c->trainable_parameter_count() == 112778);
}
