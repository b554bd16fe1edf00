// Finite-difference gradient checks, in double, for every op and every layer.
#include <doctest/doctest.h>

#include "gradcheck.hpp"

using namespace tinygan;
using tinygan::testing::expect_gradients;
using tinygan::testing::random_leaf;
using tinygan::testing::Vars;

namespace {
Var<double> uniform_leaf(const Shape& shape, std::uint64_t seed, double lo, double hi) {
  Rng rng(seed);
  return Var<double>(Tensor<double>::rand(shape, rng, lo, hi), true);
}
Tensor<double> targets(const Shape& shape, std::uint64_t seed) {
  Rng rng(seed);
  return Tensor<double>::rand(shape, rng);
}
}  // namespace

// The checker itself can fail: a large input is checked on a sample of its
// elements plus random directions, and the directions must find a gradient
// wrong at one element the sample leaves out (the value depends on x[j]
// through a constant the graph does not see).
TEST_CASE("gradcheck finds a gradient wrong at one element of a large input") {
  const Index n = testing::kEveryElementUpTo * 3;
  for (const Index j : {Index(1), Index(999), n - 1}) {
    const Vars in{random_leaf({n}, 7)};
    const auto hidden_square = [j, n](const Vars& v) {
      Tensor<double> hidden = Tensor<double>::full({n}, 0.0);
      hidden[0] = v[0].value()[j] * v[0].value()[j];
      return add(mul(v[0], v[0]), Var<double>(hidden));
    };
    INFO("wrong at element " << j);
    CHECK(testing::gradcheck(hidden_square, in).worst_error > 1e-3);
    CHECK(testing::gradcheck([](const Vars& v) { return mul(v[0], v[0]); }, in).worst_error < 1e-6);
  }
}

TEST_CASE("gradcheck elementwise: add, sub, mul, scale, sum, mean") {
  const Vars in{random_leaf({3, 4}, 1), random_leaf({3, 4}, 2)};
  expect_gradients("add", [](const Vars& v) { return add(v[0], v[1]); }, in);
  expect_gradients("sub", [](const Vars& v) { return sub(v[0], v[1]); }, in);
  expect_gradients("mul", [](const Vars& v) { return mul(v[0], v[1]); }, in);
  expect_gradients("scale", [](const Vars& v) { return scale(v[0], -2.5); }, in);
  expect_gradients("sum", [](const Vars& v) { return sum(v[0]); }, in);
  expect_gradients("mean", [](const Vars& v) { return mean(v[1]); }, in);
  // A value used twice receives the sum of both paths' gradients.
  expect_gradients("mul(x, x)", [](const Vars& v) { return mul(v[0], v[0]); }, in);
}

TEST_CASE("gradcheck matmul") {
  const Vars in{random_leaf({3, 4}, 11), random_leaf({4, 5}, 12)};
  expect_gradients("matmul", [](const Vars& v) { return matmul(v[0], v[1]); }, in);
  // The R1 penalty's shape of use: a column of ones times a weight, twice over one weight.
  const Vars square{random_leaf({4, 4}, 13)};
  expect_gradients("matmul(w, w)", [](const Vars& v) { return matmul(v[0], v[0]); }, square);
}

TEST_CASE("gradcheck activations: relu, leaky_relu, tanh, sigmoid") {
  const Vars in{random_leaf({4, 5}, 3, 2.0)};
  expect_gradients("relu", [](const Vars& v) { return relu(v[0]); }, in);
  expect_gradients("leaky_relu", [](const Vars& v) { return leaky_relu(v[0], 0.2); }, in);
  expect_gradients("tanh", [](const Vars& v) { return tanh(v[0]); }, in);
  expect_gradients("sigmoid", [](const Vars& v) { return sigmoid(v[0]); }, in);
}

TEST_CASE("gradcheck reshape and flatten") {
  const Vars in{random_leaf({2, 3, 2, 2}, 4)};
  expect_gradients("reshape", [](const Vars& v) { return reshape(v[0], Shape{2, 12}); }, in);
  expect_gradients("flatten then tanh", [](const Vars& v) { return tanh(flatten(v[0])); }, in);
}

TEST_CASE("gradcheck linear with and without bias") {
  const Vars in{random_leaf({3, 5}, 5), random_leaf({4, 5}, 6), random_leaf({4}, 7)};
  expect_gradients("linear", [](const Vars& v) { return linear(v[0], v[1], v[2]); }, in);
  expect_gradients("linear no bias", [](const Vars& v) { return linear(v[0], v[1]); }, in);
}

TEST_CASE("gradcheck conv2d over a table of geometries") {
  struct Case { Index in, out, h, w, k, stride, pad; bool bias; };
  const Case cases[] = {
      {2, 3, 7, 6, 3, 1, 1, true},   // non-square input, "same"
      {3, 2, 8, 8, 5, 2, 2, true},   // docs/models.md's discriminator convolutions
      {1, 2, 6, 5, 4, 1, 0, false},  // even kernel, no padding, no bias
      {2, 2, 9, 9, 3, 3, 0, true},   // stride equal to the kernel
      {2, 3, 5, 5, 1, 1, 0, true},   // 1x1
      {1, 1, 4, 4, 3, 2, 2, true},   // padding larger than the kernel's half
      // >= 8 channels each side: the per-tap products of tap_conv.hpp
      {8, 9, 8, 7, 5, 2, 2, true},   // the discriminator's geometry, odd width
      {9, 8, 5, 6, 3, 1, 1, false},  // stride 1, "same"
      {8, 8, 7, 7, 2, 3, 0, true},   // stride above the kernel: pixels no tap reads
      {8, 8, 3, 4, 3, 2, 2, true},   // padding larger than the kernel's half
      // pytorch/examples' DCGAN D (image_dcgan --size 32/64): k4 s2 p1, then a k4 head on 4x4
      {3, 2, 8, 8, 4, 2, 1, false},
      {8, 8, 6, 6, 4, 2, 1, false},
      {8, 1, 4, 4, 4, 1, 0, false},
  };
  for (const Case& c : cases) {
    const Vars in{random_leaf({2, c.in, c.h, c.w}, 10), random_leaf({c.out, c.in, c.k, c.k}, 11),
                  random_leaf({c.out}, 12)};
    const Index s = c.stride, p = c.pad;
    const bool b = c.bias;
    expect_gradients("conv2d k" + std::to_string(c.k) + " s" + std::to_string(s) + " p" +
                         std::to_string(p) + (b ? " bias" : ""),
                     [s, p, b](const Vars& v) { return conv2d(v[0], v[1], b ? v[2] : Var<double>(), s, p); },
                     in);
  }
}

// A convolution is linear in each element of each input, so central
// differences are exact at any step; a large one keeps the rounding of the
// forward (Winograd's transforms round more than a direct sum) out of them.
constexpr double kLinearStep = 1e-2;

TEST_CASE("gradcheck conv_transpose2d over a table of geometries") {
  struct Case { Index in, out, h, w, k, stride, pad, out_pad; bool bias; };
  const Case cases[] = {
      {3, 2, 4, 4, 5, 1, 2, 0, false},  // docs/models.md's first transposed conv (k5 s1 same)
      {3, 2, 4, 4, 5, 2, 2, 1, false},  // its second and third (k5 s2 same, output padding 1)
      {2, 3, 3, 4, 3, 2, 1, 1, true},   // non-square, with bias
      {2, 2, 3, 3, 4, 2, 1, 0, true},   // even kernel
      {2, 1, 2, 3, 3, 3, 0, 2, true},   // stride 3, output padding 2
      {1, 2, 3, 3, 1, 1, 0, 0, true},   // 1x1
      // >= 8 channels each side: the per-tap products of tap_conv.hpp
      {9, 8, 3, 3, 5, 1, 2, 0, false},  // k5 s1 same
      {8, 9, 3, 4, 5, 2, 2, 1, true},   // k5 s2 same, output padding 1
      {8, 8, 2, 3, 3, 3, 0, 2, true},   // stride 3, output padding 2
      {8, 8, 3, 3, 4, 2, 1, 0, false},  // even kernel; pytorch/examples' DCGAN G's k4 s2 p1
      {3, 2, 1, 1, 4, 1, 0, 0, false},  // that G's stem: 1x1 -> 4x4
      {8, 9, 1, 1, 4, 1, 0, 0, false},
      // >= 16 channels each side, k5 s1: winograd_conv.hpp's F(4x4, 5x5) tiles
      {16, 16, 5, 6, 5, 1, 2, 0, true},  // k5 s1 same; the last tiles hang over the edge
      {16, 17, 3, 2, 5, 1, 0, 0, false}, // no padding: the correlation pads 4
      {17, 16, 9, 9, 5, 1, 4, 0, false}, // padding 4: the correlation pads nothing
  };
  for (const Case& c : cases) {
    const Vars in{random_leaf({2, c.in, c.h, c.w}, 20), random_leaf({c.in, c.out, c.k, c.k}, 21),
                  random_leaf({c.out}, 22)};
    const Index s = c.stride, p = c.pad, op = c.out_pad;
    const bool b = c.bias;
    expect_gradients("conv_transpose2d k" + std::to_string(c.k) + " s" + std::to_string(s) +
                         " p" + std::to_string(p) + " op" + std::to_string(op) + (b ? " bias" : ""),
                     [s, p, op, b](const Vars& v) {
                       return conv_transpose2d(v[0], v[1], b ? v[2] : Var<double>(), s, p, op);
                     },
                     in, 1e-6, kLinearStep);
  }
}

TEST_CASE("gradcheck batch_norm over features and channels, train and eval") {
  for (bool training : {true, false}) {
    for (const Shape& shape : {Shape{6, 4}, Shape{3, 2, 3, 2}}) {
      const Index c = shape[1];
      const Vars in{random_leaf(shape, 30, 2.0), uniform_leaf({c}, 31, 0.5, 1.5),
                    random_leaf({c}, 32)};
      Tensor<double> running_mean = Tensor<double>::full({c}, 0.3);
      Tensor<double> running_var = Tensor<double>::full({c}, 1.7);
      BatchNormConfig config;
      config.training = training;
      expect_gradients(std::string("batch_norm ") + (training ? "train " : "eval ") + shape.str(),
                       [&](const Vars& v) {
                         return batch_norm(v[0], v[1], v[2], &running_mean, &running_var, config);
                       },
                       in);
    }
  }
}

TEST_CASE("gradcheck dropout with its mask fixed by the seed") {
  const Vars in{random_leaf({4, 6}, 40)};
  expect_gradients("dropout", [](const Vars& v) {
    Rng rng(99);  // the same mask on every evaluation
    return dropout(v[0], 0.3, rng, true);
  }, in);
}

TEST_CASE("gradcheck losses: bce, bce_with_logits, msle, mse, cross_entropy") {
  const Tensor<double> y = targets({5, 2}, 50);
  expect_gradients("bce", [&](const Vars& v) { return bce(v[0], y); },
                   {uniform_leaf({5, 2}, 51, 0.05, 0.95)});
  expect_gradients("bce_with_logits", [&](const Vars& v) { return bce_with_logits(v[0], y); },
                   {random_leaf({5, 2}, 52, 3.0)});
  // Some predictions sit below the clamp (no gradient), the rest above it.
  expect_gradients("msle", [&](const Vars& v) { return msle(v[0], y); },
                   {uniform_leaf({5, 2}, 53, -0.8, 2.0)});
  expect_gradients("mse", [&](const Vars& v) { return mse(v[0], y); }, {random_leaf({5, 2}, 54)});
  const Tensor<double> classes = Tensor<double>::from({4}, {2.0, 0.0, 4.0, 2.0});
  expect_gradients("cross_entropy", [&](const Vars& v) { return cross_entropy(v[0], classes); },
                   {random_leaf({4, 5}, 55, 3.0)});
}

namespace {
// Checks a layer's gradients with respect to its input and all its parameters.
void expect_layer_gradients(const std::string& what, nn::Module<double>& layer, const Shape& input) {
  Vars in{random_leaf(input, 60)};
  for (auto& p : layer.parameters()) in.push_back(p);
  expect_gradients(what, [&layer](const Vars& v) { return layer.forward(v[0]); }, in);
}
}  // namespace

TEST_CASE("gradcheck every layer through its module") {
  Rng rng(70);
  nn::Dense<double> dense(5, 3);
  nn::Conv2D<double> conv(nn::Conv2DOptions(2, 3, 3).stride(2).padding(1));
  nn::Conv2DTranspose<double> convt(
      nn::Conv2DTransposeOptions(2, 3, 5).stride(2).padding(2).output_padding(1));
  nn::BatchNorm<double> bn(3);
  nn::LeakyReLU<double> lrelu(0.2);
  nn::ReLU<double> relu_layer;
  nn::Tanh<double> tanh_layer;
  nn::Sigmoid<double> sigmoid_layer;
  nn::Dropout<double> drop(0.4);
  nn::Flatten<double> flat;
  nn::Reshape<double> reshape_layer({3, 2});
  for (nn::Module<double>* m : std::initializer_list<nn::Module<double>*>{&dense, &conv, &convt})
    m->initialize(rng);
  bn.weight().value() = Tensor<double>::rand({3}, rng, 0.5, 1.5);

  expect_layer_gradients("Dense", dense, {4, 5});
  expect_layer_gradients("Conv2D", conv, {2, 2, 5, 6});
  expect_layer_gradients("Conv2DTranspose", convt, {2, 2, 3, 3});
  expect_layer_gradients("BatchNorm", bn, {4, 3, 2, 2});
  expect_layer_gradients("LeakyReLU", lrelu, {3, 4});
  expect_layer_gradients("ReLU", relu_layer, {3, 4});
  expect_layer_gradients("Tanh", tanh_layer, {3, 4});
  expect_layer_gradients("Sigmoid", sigmoid_layer, {3, 4});
  expect_layer_gradients("Flatten", flat, {2, 3, 2});
  expect_layer_gradients("Reshape", reshape_layer, {2, 6});
  // Dropout draws a new mask per call, so fix it by reseeding on every evaluation.
  Vars in{random_leaf({3, 4}, 61)};
  expect_gradients("Dropout", [&drop](const Vars& v) {
    drop.rng().seed(5);
    return drop.forward(v[0]);
  }, in);
}

TEST_CASE("gradcheck a whole small GAN generator and discriminator") {
  Rng rng(80);
  nn::Sequential<double> g;
  g.add(nn::Dense<double>(nn::DenseOptions(3, 8).bias(false)))
      .add(nn::BatchNorm<double>(8))
      .add(nn::LeakyReLU<double>(0.2))
      .add(nn::Reshape<double>({2, 2, 2}))
      .add(nn::Conv2DTranspose<double>(
          nn::Conv2DTransposeOptions(2, 1, 5).stride(2).padding(2).output_padding(1).bias(false)))
      .add(nn::Tanh<double>());
  nn::Sequential<double> d;
  d.add(nn::Conv2D<double>(nn::Conv2DOptions(1, 2, 3).stride(2).padding(1)))
      .add(nn::LeakyReLU<double>(0.2))
      .add(nn::Flatten<double>())
      .add(nn::Dense<double>(8, 1))
      .add(nn::Sigmoid<double>());
  g.initialize(rng);
  d.initialize(rng);
  Vars in{random_leaf({3, 3}, 81)};
  for (auto& p : g.parameters()) in.push_back(p);
  for (auto& p : d.parameters()) in.push_back(p);
  const Tensor<double> real_label = Tensor<double>::full({3, 1}, 1.0);
  expect_gradients("D(G(z)) with BCE", [&](const Vars& v) { return bce(d(g(v[0])), real_label); }, in);
}

TEST_CASE("gradcheck the conditioning ops: embedding, concat, narrow, broadcast_spatial, sum_per_sample") {
  // Class 2 is read twice and class 1 never: its rows get two gradients, row 1 none.
  const Tensor<double> labels = Tensor<double>::from({4}, {2, 0, 2, 3});
  const Vars table{random_leaf({4, 3}, 90)};
  expect_gradients("embedding", [&](const Vars& v) { return embedding(v[0], labels); }, table);
  const Vars features{random_leaf({3, 4}, 91), random_leaf({3, 2}, 92)};
  expect_gradients("concat features", [](const Vars& v) { return concat(v[0], v[1]); }, features);
  const Vars maps{random_leaf({2, 3, 2, 3}, 93), random_leaf({2, 1, 2, 3}, 94)};
  expect_gradients("concat channels", [](const Vars& v) { return concat(v[0], v[1]); }, maps);
  expect_gradients("narrow features", [](const Vars& v) { return narrow(v[0], 1, 2); }, Vars{features[0]});
  expect_gradients("narrow channels", [](const Vars& v) { return narrow(v[0], 2, 1); }, Vars{maps[0]});
  const Vars vectors{random_leaf({2, 3}, 95)};
  expect_gradients("broadcast_spatial", [](const Vars& v) { return broadcast_spatial(v[0], 3, 2); }, vectors);
  const Vars batch{random_leaf({3, 2, 2}, 96)};
  expect_gradients("sum_per_sample", [](const Vars& v) { return sum_per_sample(v[0]); }, batch);
}

TEST_CASE("gradcheck the two-input modules: LabelConcat on vectors and on maps, ProjectionDiscriminator, with AC-GAN's classifier") {
  Rng rng(97);
  const Tensor<double> labels = Tensor<double>::from({3}, {1, 0, 1});
  auto g_net = std::make_shared<nn::Sequential<double>>();
  g_net->add(nn::Dense<double>(4 + 2, 3)).add(nn::Tanh<double>());
  nn::LabelConcat<double> g(2, 2, g_net);
  auto d_net = std::make_shared<nn::Sequential<double>>();
  d_net->add(nn::Conv2D<double>(nn::Conv2DOptions(1 + 2, 2, 3).padding(1))).add(nn::Flatten<double>());
  nn::LabelConcat<double> d(2, 2, d_net);
  auto body = std::make_shared<nn::Sequential<double>>();
  body->add(nn::Conv2D<double>(nn::Conv2DOptions(1, 2, 3).stride(2).padding(1))).add(nn::Flatten<double>());
  nn::ProjectionDiscriminator<double> projection(body, 2 * 2 * 2, 2, true);
  nn::ProjectionDiscriminator<double> classifying(body, 2 * 2 * 2, 2, true, true);
  for (nn::Module<double>* m : std::initializer_list<nn::Module<double>*>{&g, &d, &projection, &classifying})
    m->initialize(rng);

  const auto check_module = [&](const char* what, nn::Conditional<double>& m, const Shape& input) {
    Vars in{random_leaf(input, 98)};
    for (auto& p : m.parameters()) in.push_back(p);
    expect_gradients(what, [&](const Vars& v) { return m(v[0], labels); }, in);
  };
  check_module("LabelConcat G(z, y)", g, {3, 4});
  check_module("LabelConcat D(x, y), label channels", d, {3, 1, 3, 3});
  check_module("ProjectionDiscriminator D(x, y)", projection, {3, 1, 4, 4});
  check_module("ProjectionDiscriminator D(x, y) with AC-GAN's classifier", classifying, {3, 1, 4, 4});
}
