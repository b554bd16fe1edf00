/// \file
/// The classifier that sample quality is measured with: a small CNN whose
/// penultimate activation (128 features) is the feature space of FID, and
/// whose softmax gives the class probabilities of the Inception score. It
/// takes images of any shape C x H x W (H, W >= 9) and any number of classes;
/// a classifier file records its input shape, its data set and its class
/// count in the safetensors metadata (load_classifier, save_classifier).
/// The MNIST one (1 x 28 x 28, 10 classes) is trained by
/// examples/image_classifier; its weights are committed in assets/ so that
/// every user gets the same scores.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tinygan/autograd/grad_mode.hpp"
#include "tinygan/io/state_dict.hpp"
#include "tinygan/nn/activations.hpp"
#include "tinygan/nn/batch_norm.hpp"
#include "tinygan/nn/conv2d.hpp"
#include "tinygan/nn/dense.hpp"
#include "tinygan/nn/dropout.hpp"
#include "tinygan/nn/reshape.hpp"
#include "tinygan/nn/sequential.hpp"

namespace tinygan::models {

constexpr Index kClassifierFeatures = 128;  // the FID feature space
/// The smallest height and width the convolutions take: 9 -> 9 -> 5 -> 3 -> 1.
constexpr Index kClassifierMinSide = 9;

/// The MNIST classifier, which is also what a file without classifier
/// metadata (one written before the metadata existed) holds.
constexpr Index kMnistSide = 28;
constexpr Index kMnistClasses = 10;
constexpr Index kClasses = kMnistClasses;  // the old name

/// What a classifier file records beside its weights: the shape of one input
/// image (C, H, W), the data set it was trained on (the loader's name:
/// "mnist") and the number of classes.
struct ClassifierInfo {
  Shape input;
  std::string dataset;
  Index classes = 0;

  friend bool operator==(const ClassifierInfo&, const ClassifierInfo&) = default;
};

inline ClassifierInfo mnist_classifier_info() { return {Shape{1, kMnistSide, kMnistSide}, "mnist", kMnistClasses}; }

/// The safetensors metadata keys: input_shape "1,28,28", dataset "mnist", classes "10".
inline constexpr const char* kInputShapeKey = "input_shape";
inline constexpr const char* kDatasetKey = "dataset";
inline constexpr const char* kClassesKey = "classes";

namespace detail {
/// The convolution stack: in -> out channels, stride, padding (3 x 3 kernels).
struct ClassifierConv {
  Index out, stride, padding;
};
inline constexpr ClassifierConv kClassifierConvs[] = {{32, 1, 1}, {32, 2, 1}, {64, 2, 1}, {48, 2, 0}};

inline Index conv_side(Index side, const ClassifierConv& c) { return (side + 2 * c.padding - 3) / c.stride + 1; }

/// "1,28,28": the metadata form of a shape.
inline std::string shape_text(const Shape& s) {
  std::string out;
  for (int i = 0; i < s.rank(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
  return out;
}

/// A whole decimal number in [lo, hi], spaces around it allowed; false if it is anything else.
inline bool parse_whole(std::string text, Index lo, Index hi, Index& out) {
  const auto first = text.find_first_not_of(' '), last = text.find_last_not_of(' ');
  if (first == std::string::npos) return false;
  text = text.substr(first, last - first + 1);
  if (!std::all_of(text.begin(), text.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) return false;
  Index v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < lo || v > hi) return false;
  out = v;
  return true;
}

/// Refuses an input shape or class count the network cannot have; `where` starts the message.
inline void check_classifier_input(const Shape& input, const std::string& where) {
  check(input.rank() == 3 && input[0] >= 1 && input[1] >= kClassifierMinSide && input[2] >= kClassifierMinSide,
        where, "expected an input shape C x H x W with C >= 1 and H, W >= ", kClassifierMinSide,
        " (three stride-2 convolutions shrink H and W to about an eighth: 9 x 9 to 1 x 1), found ",
        input);
}
inline void check_classifier_classes(Index classes, const std::string& where) {
  check(classes >= 2, where, "expected at least 2 classes, found ", classes);
}
}  // namespace detail

/// The shape the convolutions give an input [C, H, W]: [48, h, w] (48 x 3 x 3
/// for MNIST's 1 x 28 x 28); Flatten passes h * w * 48 features on.
inline Shape classifier_feature_map(const Shape& input) {
  detail::check_classifier_input(input, "classifier: ");
  Index h = input[1], w = input[2], channels = input[0];
  for (const auto& c : detail::kClassifierConvs) h = detail::conv_side(h, c), w = detail::conv_side(w, c), channels = c.out;
  return Shape{channels, h, w};
}

/// [N, C, H, W] in [-1, 1] -> `classes` logits. There is no pooling layer, so
/// stride-2 convolutions shrink the image (28 -> 14 -> 7 -> 3 for MNIST);
/// convolutions followed by batch norm carry no bias (the norm's shift
/// replaces it). For 1 x 28 x 28 and 10 classes: 112,778 parameters, about
/// 450 KB as float32, layers and initial draws as they always were (the
/// committed weights load into it).
template <class T>
std::shared_ptr<nn::Sequential<T>> classifier(const Shape& input, Index classes, Rng& rng) {
  using namespace nn;
  detail::check_classifier_input(input, "classifier: ");
  detail::check_classifier_classes(classes, "classifier: ");
  auto c = std::make_shared<Sequential<T>>();
  Index channels = input[0];
  for (const auto& conv : detail::kClassifierConvs) {
    c->add(Conv2D<T>(Conv2DOptions(channels, conv.out, 3).stride(conv.stride).padding(conv.padding).bias(false)))
        .add(BatchNorm<T>(conv.out))
        .add(ReLU<T>());
    channels = conv.out;
  }
  c->add(Flatten<T>())
      .add(Dropout<T>(0.25))
      .add(Dense<T>(DenseOptions(classifier_feature_map(input).numel(), kClassifierFeatures).bias(false)))
      .add(BatchNorm<T>(kClassifierFeatures))
      .add(ReLU<T>())  // <- the features: the input of the last layer
      .add(Dropout<T>(0.25))
      .add(Dense<T>(kClassifierFeatures, classes));
  c->initialize(rng);
  return c;
}

/// The MNIST digit classifier: classifier(1 x 28 x 28, 10 classes).
template <class T>
std::shared_ptr<nn::Sequential<T>> mnist_classifier(Rng& rng) {
  const ClassifierInfo mnist = mnist_classifier_info();
  return classifier<T>(mnist.input, mnist.classes, rng);
}

/// The classifier metadata of a file: all three keys, or none (a file from
/// before they existed: the MNIST classifier). Anything else is an Error
/// naming source, the key, what was expected and what was found.
inline ClassifierInfo classifier_info(const std::map<std::string, std::string>& metadata, const std::string& source) {
  const char* keys[] = {kInputShapeKey, kDatasetKey, kClassesKey};
  const auto present = std::count_if(std::begin(keys), std::end(keys), [&](const char* k) { return metadata.count(k); });
  if (present == 0) return mnist_classifier_info();
  for (const char* k : keys)
    check(metadata.count(k) == 1, source, ": metadata '", k, "' is missing: a classifier file holds all of ",
          kInputShapeKey, ", ", kDatasetKey, " and ", kClassesKey, " (or none, for the MNIST classifier)");

  ClassifierInfo info;
  const std::string& shape = metadata.at(kInputShapeKey);
  std::vector<std::string> parts{""};
  for (char ch : shape) {
    if (ch == ',')
      parts.emplace_back();
    else
      parts.back().push_back(ch);
  }
  constexpr Index kMaxDim = Index{1} << 20;
  for (const std::string& part : parts) {
    Index d = 0;
    check(parts.size() == 3 && detail::parse_whole(part, 1, kMaxDim, d), source, ": metadata '", kInputShapeKey,
          "' must be C,H,W: three whole numbers from 1 to ", kMaxDim, " separated by commas (e.g. ",
          detail::shape_text(mnist_classifier_info().input), "), found '", shape, "'");
    info.input.push_back(d);
  }
  check(info.input[1] >= kClassifierMinSide && info.input[2] >= kClassifierMinSide, source, ": metadata '",
        kInputShapeKey, "' must have H, W >= ", kClassifierMinSide, " (the classifier's convolutions need them), found '",
        shape, "'");

  info.dataset = metadata.at(kDatasetKey);
  check(!info.dataset.empty() && std::all_of(info.dataset.begin(), info.dataset.end(),
                                             [](char ch) {
                                               return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                                                      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.';
                                             }),
        source, ": metadata '", kDatasetKey,
        "' must be a data set name of letters, digits, '_', '-' or '.' (e.g. mnist), found '", info.dataset, "'");

  const std::string& classes = metadata.at(kClassesKey);
  check(detail::parse_whole(classes, 2, kMaxDim, info.classes), source, ": metadata '", kClassesKey,
        "' must be a whole number from 2 to ", kMaxDim, " (e.g. 10), found '", classes, "'");
  return info;
}

/// The three metadata entries that describe a classifier.
inline std::map<std::string, std::string> classifier_metadata(const ClassifierInfo& info) {
  return {{kInputShapeKey, detail::shape_text(info.input)},
          {kDatasetKey, info.dataset},
          {kClassesKey, std::to_string(info.classes)}};
}

/// A classifier file (safetensors of save_classifier or io::save_weights):
/// the network its metadata describes, with its weights, in eval mode; info,
/// if given, receives what the metadata says. A file without classifier
/// metadata is the MNIST classifier (1 x 28 x 28, 10 classes).
template <class T = float>
std::shared_ptr<nn::Sequential<T>> load_classifier(const std::string& path, ClassifierInfo* info = nullptr) {
  const io::TensorFile<T> file = io::load_safetensors<T>(path);
  const ClassifierInfo read = classifier_info(file.metadata, path);
  Rng rng(0);  // every value is overwritten by the file
  auto c = classifier<T>(read.input, read.classes, rng);
  try {
    io::load_state_dict(*c, file.tensors, path);
  } catch (const Error& e) {
    const bool described = file.metadata.count(kInputShapeKey) == 1;
    throw Error(tinygan::detail::concat(e.what(), " (the classifier for ", kInputShapeKey, " ",
                                        detail::shape_text(read.input), " and ", read.classes, " ", kClassesKey,
                                        described ? ", as the file's metadata says)"
                                                  : ": the file has no classifier metadata, so it is read as MNIST's)"));
  }
  c->eval();
  if (info) *info = read;
  return c;
}

/// Saves a classifier's weights with its info in the metadata (and `extra`
/// entries beside it, e.g. the seed), atomically. The model must be the
/// network classifier(info.input, info.classes) builds, so that
/// load_classifier can read the file back.
template <class T>
void save_classifier(const std::string& path, const nn::Module<T>& model, const ClassifierInfo& info,
                     const std::map<std::string, std::string>& extra = {}) {
  const std::string where = "save_classifier: " + path + ": ";
  detail::check_classifier_input(info.input, where);
  detail::check_classifier_classes(info.classes, where);
  std::map<std::string, std::string> metadata = classifier_metadata(info);
  // The info is checked as load_classifier will read it.
  classifier_info(metadata, "save_classifier: " + path);
  for (const auto& [key, value] : extra) {
    check(metadata.count(key) == 0, where, "metadata '", key, "' comes from the ClassifierInfo; found it in the extra entries too");
    metadata[key] = value;
  }
  Rng rng(0);
  const auto expected = io::state_dict(*classifier<T>(info.input, info.classes, rng));
  const auto found = io::state_dict(model);
  for (const auto& [key, t] : expected) {
    const auto it = found.find(key);
    check(it != found.end(), where, "the model has no tensor '", key, "' (a classifier for ", kInputShapeKey, " ",
          detail::shape_text(info.input), " and ", info.classes, " classes has one of shape ", t.shape(), ")");
    check(it->second.shape() == t.shape(), where, "tensor '", key, "' has shape ", it->second.shape(),
          " but a classifier for ", kInputShapeKey, " ", detail::shape_text(info.input), " and ", info.classes,
          " classes has ", t.shape());
  }
  for (const auto& [key, t] : found)
    check(expected.count(key) == 1, where, "tensor '", key, "' of shape ", t.shape(), " has no place in a classifier");
  io::save_safetensors(path, found, metadata);
}

struct ClassifierOutputs {
  Tensor<double> features;       // [N, D]: the input of the last layer
  Tensor<double> probabilities;  // [N, C]: softmax of the logits
};

namespace detail {
/// Images of one input shape [C, H, W]: [N, C, H, W], or [N, H, W] when C is 1.
inline bool images_of(const Shape& input, const Shape& images) {
  if (images.rank() == 4) return images.tail() == input;
  return images.rank() == 3 && input[0] == 1 && images[1] == input[1] && images[2] == input[2];
}

inline std::string expected_images(const Shape& input) {
  std::string out = "images [N, " + std::to_string(input[0]) + ", " + std::to_string(input[1]) + ", " +
                    std::to_string(input[2]) + "]";
  if (input[0] == 1) out += " or [N, " + std::to_string(input[1]) + ", " + std::to_string(input[2]) + "]";
  return out;
}
}  // namespace detail

/// Runs images of the classifier's input shape `input` [C, H, W] (as
/// ClassifierInfo::input: [N, C, H, W], or [N, H, W] when C is 1) through
/// the classifier in eval mode without a graph, `batch` images at a time so
/// that memory stays small for any N. The features are what the last layer
/// (the logits' Dense) takes; eval-mode dropout in front of it passes them
/// through unchanged. The model's modes are restored afterwards.
template <class T>
ClassifierOutputs features_and_logits(nn::Sequential<T>& model, const Shape& input, const Tensor<T>& images,
                                      Index batch = 256) {
  check(input.rank() == 3, "features_and_logits: expected the classifier's input shape [C, H, W], found ", input);
  check(detail::images_of(input, images.shape()), "features_and_logits: expected ", detail::expected_images(input),
        ", found ", images.shape());
  check(batch >= 1, "features_and_logits: expected a batch size >= 1, found ", batch);
  check(model.size() >= 2, "features_and_logits: expected a model of at least two layers, found ", model.size());
  const Index n = images.dim(0), per_image = input.numel();
  check(n >= 1, "features_and_logits: expected at least one image, found none");

  const nn::ModesGuard<T> restore(model);
  model.eval();
  NoGrad no_grad;

  ClassifierOutputs out;
  Index features = 0, classes = 0;
  for (Index start = 0; start < n; start += batch) {
    const Index count = std::min(batch, n - start);
    Tensor<T> x(Shape{count, input[0], input[1], input[2]});
    std::copy_n(images.data() + start * per_image, x.numel(), x.data());
    Var<T> h(std::move(x));
    for (std::size_t i = 0; i + 1 < model.size(); ++i) h = model[i](h);
    const Tensor<T> f = h.value();
    const Tensor<T> logits = model[model.size() - 1](h).value();
    check(f.rank() == 2 && logits.rank() == 2, "features_and_logits: expected [N, D] features and [N, C] logits, found ",
          f.shape(), " and ", logits.shape());
    if (start == 0) {
      features = f.dim(1), classes = logits.dim(1);
      out.features = Tensor<double>(Shape{n, features});
      out.probabilities = Tensor<double>(Shape{n, classes});
    }
    for (Index r = 0; r < count; ++r) {
      const T* fr = f.data() + r * features;
      std::copy(fr, fr + features, out.features.data() + (start + r) * features);
      // Softmax in double with the row's maximum removed: safe for any logit.
      const T* lr = logits.data() + r * classes;
      double* p = out.probabilities.data() + (start + r) * classes;
      const double top = *std::max_element(lr, lr + classes);
      double sum = 0;
      for (Index j = 0; j < classes; ++j) sum += p[j] = std::exp(static_cast<double>(lr[j]) - top);
      for (Index j = 0; j < classes; ++j) p[j] /= sum;
    }
  }
  return out;
}

}  // namespace tinygan::models
