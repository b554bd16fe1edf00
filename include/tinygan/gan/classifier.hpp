/// \file
/// The MNIST digit classifier that sample quality is measured with: a small
/// CNN whose penultimate activation (128 features) is the feature space of
/// FID, and whose softmax gives the class probabilities of the Inception
/// score. Trained by examples/mnist_classifier; the weights used for scoring
/// are committed in assets/ so that every user gets the same scores.
#pragma once

#include <algorithm>
#include <cmath>
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
constexpr Index kClasses = 10;

/// [N, 1, 28, 28] in [-1, 1] -> 10 logits. There is no pooling layer, so
/// stride-2 convolutions shrink 28 -> 14 -> 7 -> 3; convolutions followed by
/// batch norm carry no bias (the norm's shift replaces it). 112,778
/// parameters, about 450 KB as float32.
template <class T>
std::shared_ptr<nn::Sequential<T>> mnist_classifier(Rng& rng) {
  using namespace nn;
  auto c = std::make_shared<Sequential<T>>();
  const auto conv = [](Index in, Index out, Index stride, Index padding) {
    return Conv2D<T>(Conv2DOptions(in, out, 3).stride(stride).padding(padding).bias(false));
  };
  c->add(conv(1, 32, 1, 1)).add(BatchNorm<T>(32)).add(ReLU<T>())     // 32 x 28 x 28
      .add(conv(32, 32, 2, 1)).add(BatchNorm<T>(32)).add(ReLU<T>())  // 32 x 14 x 14
      .add(conv(32, 64, 2, 1)).add(BatchNorm<T>(64)).add(ReLU<T>())  // 64 x 7 x 7
      .add(conv(64, 48, 2, 0)).add(BatchNorm<T>(48)).add(ReLU<T>())  // 48 x 3 x 3
      .add(Flatten<T>())
      .add(Dropout<T>(0.25))
      .add(Dense<T>(DenseOptions(48 * 3 * 3, kClassifierFeatures).bias(false)))
      .add(BatchNorm<T>(kClassifierFeatures))
      .add(ReLU<T>())  // <- the features: the input of the last layer
      .add(Dropout<T>(0.25))
      .add(Dense<T>(kClassifierFeatures, kClasses));
  c->initialize(rng);
  return c;
}

/// A classifier with weights from a file (io::save_weights of the model
/// above), in eval mode.
template <class T = float>
std::shared_ptr<nn::Sequential<T>> load_mnist_classifier(const std::string& path) {
  Rng rng(0);  // every value is overwritten by the file
  auto c = mnist_classifier<T>(rng);
  io::load_weights(path, *c);
  c->eval();
  return c;
}

struct ClassifierOutputs {
  Tensor<double> features;       // [N, D]: the input of the last layer
  Tensor<double> probabilities;  // [N, C]: softmax of the logits
};

/// Runs images [N, 1, 28, 28] (or [N, 28, 28]) through the classifier in eval
/// mode without a graph, `batch` images at a time so that memory stays small
/// for any N. The features are what the last layer (the logits' Dense) takes;
/// eval-mode dropout in front of it passes them through unchanged. The
/// model's modes are restored afterwards.
template <class T>
ClassifierOutputs features_and_logits(nn::Sequential<T>& model, const Tensor<T>& images, Index batch = 256) {
  check(images.rank() >= 3 && images.dim(images.rank() - 1) == 28 && images.dim(images.rank() - 2) == 28 &&
            images.shape().per_sample() == 28 * 28,
        "features_and_logits: expected images [N, 1, 28, 28] or [N, 28, 28], found ", images.shape());
  check(batch >= 1, "features_and_logits: expected a batch size >= 1, found ", batch);
  check(model.size() >= 2, "features_and_logits: expected a model of at least two layers, found ", model.size());
  const Index n = images.dim(0);
  check(n >= 1, "features_and_logits: expected at least one image, found none");

  const nn::ModesGuard<T> restore(model);
  model.eval();
  NoGrad no_grad;

  ClassifierOutputs out;
  Index features = 0, classes = 0;
  for (Index start = 0; start < n; start += batch) {
    const Index count = std::min(batch, n - start);
    Tensor<T> x(Shape{count, 1, 28, 28});
    std::copy_n(images.data() + start * 28 * 28, x.numel(), x.data());
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
