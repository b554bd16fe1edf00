// Second-order finite-difference checks, in double, for every op and layer
// (PyTorch's gradgradcheck): the gradient built as a graph by
// grad(..., create_graph) is differentiated again and compared with central
// differences of that gradient. And grad()'s contract itself.
#include <doctest/doctest.h>

#include "gradcheck.hpp"

using namespace tinygan;
using tinygan::testing::expect_second_order;
using tinygan::testing::random_leaf;
using tinygan::testing::Vars;

namespace {
// Ops linear in each input are exact under any step; a large one keeps the rounding small.
constexpr double kBilinearStep = 1e-2;

Var<double> positive_leaf(const Shape& shape, std::uint64_t seed) {
  Rng rng(seed);
  return Var<double>(Tensor<double>::rand(shape, rng, 0.5, 2.0), true);
}
}  // namespace

TEST_CASE("gradgradcheck elementwise ops and reductions") {
  const Vars in{random_leaf({3, 4}, 1), random_leaf({3, 4}, 2)};
  expect_second_order("add", [](const Vars& v) { return add(v[0], v[1]); }, in);
  expect_second_order("sub", [](const Vars& v) { return sub(v[0], v[1]); }, in);
  expect_second_order("mul", [](const Vars& v) { return mul(v[0], v[1]); }, in);
  expect_second_order("mul(x, x)", [](const Vars& v) { return mul(v[0], v[0]); }, Vars{in[0]});
  expect_second_order("scale", [](const Vars& v) { return scale(mul(v[0], v[1]), -2.5); }, in);
  expect_second_order("sum of squares", [](const Vars& v) { return sum(mul(v[0], v[0])); }, Vars{in[0]});
  expect_second_order("mean of a product", [](const Vars& v) { return mean(mul(v[0], v[1])); }, in);
  expect_second_order("sum_per_sample", [](const Vars& v) { return sum_per_sample(mul(v[0], v[1])); }, in);
  const Vars one{random_leaf({1}, 3), random_leaf({3, 1}, 4)};
  expect_second_order("broadcast_to one value", [](const Vars& v) {
    const Var<double> b = broadcast_to(v[0], Shape{3, 2});
    return mul(b, b);
  }, Vars{one[0]});
  expect_second_order("broadcast_to per sample", [](const Vars& v) {
    const Var<double> b = broadcast_to(v[0], Shape{3, 2, 2});
    return mul(b, b);
  }, Vars{one[1]});
  expect_second_order("inverse_sqrt", [](const Vars& v) { return inverse_sqrt(v[0], 1e-5); },
                      Vars{positive_leaf({2, 3}, 5)});
}

TEST_CASE("gradgradcheck matmul, transpose, linear") {
  const Vars in{random_leaf({3, 4}, 11), random_leaf({4, 5}, 12)};
  expect_second_order("matmul", [](const Vars& v) { return matmul(v[0], v[1]); }, in);
  expect_second_order("matmul(a, a^T) squared", [](const Vars& v) {
    const Var<double> p = matmul(v[0], transpose(v[0]));
    return mul(p, p);
  }, Vars{in[0]});
  const Vars lin{random_leaf({3, 5}, 13), random_leaf({4, 5}, 14), random_leaf({4}, 15)};
  expect_second_order("linear", [](const Vars& v) { return linear(v[0], v[1], v[2]); }, lin);
  expect_second_order("tanh(linear) (second derivatives through x, W and b)",
                      [](const Vars& v) { return tanh(linear(v[0], v[1], v[2])); }, lin);
  expect_second_order("linear no bias", [](const Vars& v) { return linear(v[0], v[1]); }, Vars{lin[0], lin[1]});
}

TEST_CASE("gradgradcheck activations and softmax") {
  const Vars in{random_leaf({4, 5}, 21, 2.0)};
  // Piecewise linear: the second derivative is zero, which the check sees as the
  // gradient's gradient through the slopes (constant away from the kinks).
  expect_second_order("relu", [](const Vars& v) { return relu(mul(v[0], v[0])); }, in);
  expect_second_order("leaky_relu", [](const Vars& v) { return leaky_relu(mul(v[0], v[0]), 0.2); }, in);
  expect_second_order("leaky_relu alone", [](const Vars& v) { return leaky_relu(v[0], 0.2); }, in);
  expect_second_order("tanh", [](const Vars& v) { return tanh(v[0]); }, in);
  expect_second_order("sigmoid", [](const Vars& v) { return sigmoid(v[0]); }, in);
  expect_second_order("softmax", [](const Vars& v) { return softmax(v[0]); }, in);
}

TEST_CASE("gradgradcheck reshape and flatten") {
  const Vars in{random_leaf({2, 3, 2, 2}, 31)};
  expect_second_order("reshape", [](const Vars& v) { return tanh(reshape(v[0], Shape{2, 12})); }, in);
  expect_second_order("flatten", [](const Vars& v) { return tanh(flatten(v[0])); }, in);
}

TEST_CASE("gradgradcheck conv2d, its two gradient ops, and conv_transpose2d, on each kernel path") {
  struct Case { Index in, out, h, w, k, stride, pad; bool bias; };
  const Case conv_cases[] = {
      {2, 3, 7, 6, 3, 1, 1, true},   // per-sample path, non-square, "same"
      {3, 2, 8, 8, 5, 2, 2, true},   // docs/models.md's discriminator convolutions
      {8, 9, 8, 7, 5, 2, 2, true},   // per-tap path; odd width: the input gradient's sizes differ by axis
      {3, 2, 8, 8, 4, 2, 1, false},  // pytorch/examples' DCGAN D (k4 s2 p1)
  };
  for (const Case& c : conv_cases) {
    const Vars in{random_leaf({2, c.in, c.h, c.w}, 40), random_leaf({c.out, c.in, c.k, c.k}, 41),
                  random_leaf({c.out}, 42)};
    const Index s = c.stride, p = c.pad;
    const bool b = c.bias;
    const std::string name = "conv2d " + std::to_string(c.in) + "->" + std::to_string(c.out) + " k" +
                             std::to_string(c.k) + " s" + std::to_string(s);
    // Squared so that the gradient depends on x and W (conv2d alone is linear in each).
    expect_second_order(name, [s, p, b](const Vars& v) {
      const Var<double> y = conv2d(v[0], v[1], b ? v[2] : Var<double>(), s, p);
      return mul(y, y);
    }, b ? in : Vars{in[0], in[1]}, 1e-6, kBilinearStep);
  }
  // The gradient ops on their own, first and second order.
  const Vars grads{random_leaf({2, 3, 4, 4}, 43), random_leaf({3, 2, 3, 3}, 44), random_leaf({2, 2, 7, 8}, 45)};
  const Shape image{2, 2, 7, 8};
  tinygan::testing::expect_gradients("conv2d_input_grad", [&image](const Vars& v) {
    return conv2d_input_grad(v[0], v[1], image, 2, 1);
  }, Vars{grads[0], grads[1]}, 1e-6, kBilinearStep);
  expect_second_order("conv2d_input_grad", [&image](const Vars& v) {
    const Var<double> y = conv2d_input_grad(v[0], v[1], image, 2, 1);
    return mul(y, y);
  }, Vars{grads[0], grads[1]}, 1e-6, kBilinearStep);
  tinygan::testing::expect_gradients("conv2d_weight_grad", [](const Vars& v) {
    return conv2d_weight_grad(v[0], v[1], 3, 3, 2, 1);
  }, Vars{grads[2], grads[0]}, 1e-6, kBilinearStep);
  expect_second_order("conv2d_weight_grad", [](const Vars& v) {
    const Var<double> w = conv2d_weight_grad(v[0], v[1], 3, 3, 2, 1);
    return mul(w, w);
  }, Vars{grads[2], grads[0]}, 1e-6, kBilinearStep);

  struct TCase { Index in, out, h, w, k, stride, pad, out_pad; bool bias; };
  const TCase transposed_cases[] = {
      {3, 2, 4, 4, 5, 2, 2, 1, true},   // per-sample path, output padding 1
      {8, 8, 3, 3, 4, 2, 1, 0, false},  // per-tap path; the DCGAN G's k4 s2 p1
  };
  for (const TCase& c : transposed_cases) {
    const Vars in{random_leaf({2, c.in, c.h, c.w}, 46), random_leaf({c.in, c.out, c.k, c.k}, 47),
                  random_leaf({c.out}, 48)};
    const Index s = c.stride, p = c.pad, op = c.out_pad;
    const bool b = c.bias;
    expect_second_order("conv_transpose2d k" + std::to_string(c.k) + " s" + std::to_string(s),
                        [s, p, op, b](const Vars& v) {
                          const Var<double> y = conv_transpose2d(v[0], v[1], b ? v[2] : Var<double>(), s, p, op);
                          return mul(y, y);
                        },
                        b ? in : Vars{in[0], in[1]}, 1e-6, kBilinearStep);
  }
  // >= 16 channels, k5 s1: Winograd's first-order path; its graph rule is the
  // one checked above, so x alone keeps the check short.
  Rng weight_rng(49);
  const Var<double> weight(Tensor<double>::randn({16, 16, 5, 5}, weight_rng, 0.0, 0.2));
  expect_second_order("conv_transpose2d on the Winograd path", [&weight](const Vars& v) {
    const Var<double> y = conv_transpose2d(v[0], weight, Var<double>(), 1, 2, 0);
    return mul(y, y);
  }, Vars{random_leaf({1, 16, 3, 3}, 50)}, 1e-6, kBilinearStep);
}

TEST_CASE("gradgradcheck batch_norm, train and eval, over features and channels") {
  for (bool training : {true, false}) {
    for (const Shape& shape : {Shape{6, 4}, Shape{3, 2, 3, 2}}) {
      const Index c = shape[1];
      Rng rng(51);
      const Vars in{random_leaf(shape, 52, 2.0), Var<double>(Tensor<double>::rand({c}, rng, 0.5, 1.5), true),
                    random_leaf({c}, 53)};
      Tensor<double> running_mean = Tensor<double>::full({c}, 0.3);
      Tensor<double> running_var = Tensor<double>::full({c}, 1.7);
      BatchNormConfig config;
      config.training = training;
      config.update_running = false;
      // tanh after it, so that the second derivative does not vanish in eval mode
      expect_second_order(std::string("batch_norm ") + (training ? "train " : "eval ") + shape.str(),
                          [&](const Vars& v) {
                            return tanh(batch_norm(v[0], v[1], v[2], &running_mean, &running_var, config));
                          },
                          in);
    }
  }
}

TEST_CASE("gradgradcheck dropout and the losses that have a differentiable rule") {
  expect_second_order("dropout", [](const Vars& v) {
    Rng rng(99);
    return tanh(dropout(v[0], 0.3, rng, true));
  }, Vars{random_leaf({4, 6}, 60)});
  Rng rng(61);
  const Tensor<double> y = Tensor<double>::rand({5, 2}, rng);
  expect_second_order("bce_with_logits", [&](const Vars& v) { return bce_with_logits(v[0], y); },
                      Vars{random_leaf({5, 2}, 62, 3.0)});
  expect_second_order("mse", [&](const Vars& v) { return mse(tanh(v[0]), y); }, Vars{random_leaf({5, 2}, 63)});
  const Tensor<double> classes = Tensor<double>::from({4}, {2.0, 0.0, 4.0, 2.0});
  expect_second_order("cross_entropy", [&](const Vars& v) { return cross_entropy(v[0], classes); },
                      Vars{random_leaf({4, 5}, 64, 3.0)});
}

TEST_CASE("gradgradcheck the conditioning ops") {
  const Tensor<double> labels = Tensor<double>::from({4}, {2, 0, 2, 3});
  expect_second_order("embedding", [&](const Vars& v) {
    const Var<double> e = embedding(v[0], labels);
    return mul(e, e);
  }, Vars{random_leaf({4, 3}, 70)});
  expect_second_order("embedding_scatter", [&](const Vars& v) {
    const Var<double> t = embedding_scatter(v[0], labels, 5);
    return mul(t, t);
  }, Vars{random_leaf({4, 3}, 71)});
  const Vars maps{random_leaf({2, 3, 2, 3}, 72), random_leaf({2, 1, 2, 3}, 73)};
  expect_second_order("concat", [](const Vars& v) { return tanh(concat(v[0], v[1])); }, maps);
  expect_second_order("narrow", [](const Vars& v) { return tanh(narrow(v[0], 1, 2)); }, Vars{maps[0]});
  expect_second_order("widen", [](const Vars& v) { return tanh(widen(v[0], 1, 4)); }, Vars{maps[0]});
  expect_second_order("broadcast_spatial", [](const Vars& v) { return tanh(broadcast_spatial(v[0], 3, 2)); },
                      Vars{random_leaf({2, 3}, 74)});
  expect_second_order("sum_channels", [](const Vars& v) { return tanh(sum_channels(v[0])); }, Vars{maps[0]});
  expect_second_order("broadcast_channels", [](const Vars& v) {
    return tanh(broadcast_channels(v[0], Shape{2, 3, 2, 2}));
  }, Vars{random_leaf({3}, 75)});
}

namespace {
// A layer's second-order check with respect to its input and all its parameters,
// through a tanh so that linear layers' gradients depend on their inputs.
void expect_layer_second_order(const std::string& what, nn::Module<double>& layer, const Shape& input) {
  Vars in{random_leaf(input, 80)};
  for (auto& p : layer.parameters()) in.push_back(p);
  expect_second_order(what, [&layer](const Vars& v) { return tanh(layer.forward(v[0])); }, in);
}
}  // namespace

TEST_CASE("gradgradcheck every layer through its module, and whole discriminators") {
  Rng rng(81);
  nn::Dense<double> dense(5, 3);
  nn::Conv2D<double> conv(nn::Conv2DOptions(2, 3, 3).stride(2).padding(1));
  nn::Conv2DTranspose<double> convt(nn::Conv2DTransposeOptions(2, 3, 5).stride(2).padding(2).output_padding(1));
  nn::BatchNorm<double> bn(3);
  for (nn::Module<double>* m : std::initializer_list<nn::Module<double>*>{&dense, &conv, &convt}) m->initialize(rng);
  bn.weight().value() = Tensor<double>::rand({3}, rng, 0.5, 1.5);
  expect_layer_second_order("Dense", dense, {4, 5});
  expect_layer_second_order("Conv2D", conv, {2, 2, 5, 6});
  expect_layer_second_order("Conv2DTranspose", convt, {2, 2, 3, 3});
  expect_layer_second_order("BatchNorm (train)", bn, {4, 3, 2, 2});

  // A DCGAN-shaped D in train mode (convolutions, BatchNorm, LeakyReLU, a
  // Dense head); the R1 shape of use: |d sum(D(x)) / dx|^2 differentiated
  // with respect to x and every weight.
  nn::Sequential<double> d;
  d.add(nn::Conv2D<double>(nn::Conv2DOptions(1, 2, 3).stride(2).padding(1)))
      .add(nn::LeakyReLU<double>(0.2))
      .add(nn::Conv2D<double>(nn::Conv2DOptions(2, 3, 3).stride(2).padding(1)))
      .add(nn::BatchNorm<double>(3))
      .add(nn::LeakyReLU<double>(0.2))
      .add(nn::Flatten<double>())
      .add(nn::Dense<double>(12, 1));
  d.initialize(rng);
  Vars in{random_leaf({3, 1, 7, 7}, 82)};
  for (auto& p : d.parameters()) in.push_back(p);
  const auto r1 = tinygan::testing::gradcheck([&d](const Vars& v) {
    const Var<double> g = grad(sum(d(v[0])), v[0], GradGraphMode::create_graph);
    return sum(mul(g, g));
  }, in, 1e-6, true);
  INFO("R1 of a convolutional D with BatchNorm, in train mode: worst at " << r1.worst_at);
  CHECK(r1.checked > 0);
  CHECK(r1.worst_error < 1e-6);
}

TEST_CASE("gradgradcheck the two-input modules") {
  Rng rng(90);
  const Tensor<double> labels = Tensor<double>::from({3}, {1, 0, 1});
  auto d_net = std::make_shared<nn::Sequential<double>>();
  d_net->add(nn::Conv2D<double>(nn::Conv2DOptions(1 + 2, 2, 3).padding(1))).add(nn::Flatten<double>());
  nn::LabelConcat<double> label_channels(2, 2, d_net);
  auto body = std::make_shared<nn::Sequential<double>>();
  body->add(nn::Conv2D<double>(nn::Conv2DOptions(1, 2, 3).stride(2).padding(1))).add(nn::Tanh<double>()).add(
      nn::Flatten<double>());
  nn::ProjectionDiscriminator<double> projection(body, 2 * 2 * 2, 2, true, true);
  for (nn::Module<double>* m : std::initializer_list<nn::Module<double>*>{&label_channels, &projection})
    m->initialize(rng);
  const auto check_module = [&](const char* what, nn::Conditional<double>& m, const Shape& input) {
    Vars in{random_leaf(input, 91)};
    for (auto& p : m.parameters()) in.push_back(p);
    expect_second_order(what, [&](const Vars& v) { return tanh(m(v[0], labels)); }, in);
  };
  check_module("LabelConcat D(x, y), label channels", label_channels, {3, 1, 3, 3});
  check_module("ProjectionDiscriminator D(x, y) with AC-GAN's classifier", projection, {3, 1, 4, 4});
}

TEST_CASE("grad: values agree with backward, nothing accumulates, and the graph is kept") {
  Rng rng(100);
  const Var<double> x(Tensor<double>::randn({3, 4}, rng), true);
  const Var<double> w(Tensor<double>::randn({2, 4}, rng), true);
  const auto loss = [&] { return sum(tanh(linear(x, w))); };
  Var<double> out = loss();
  const auto grads = grad(out, {x, w});
  CHECK_FALSE(x.has_grad());  // grad() returns gradients, it does not accumulate them
  CHECK_FALSE(grads[0].requires_grad());  // values mode: no graph behind them
  backward(out);  // the graph is still there
  for (Index i = 0; i < x.numel(); ++i) CHECK(grads[0].value()[i] == doctest::Approx(x.grad()[i]).epsilon(1e-12));
  for (Index i = 0; i < w.numel(); ++i) CHECK(grads[1].value()[i] == doctest::Approx(w.grad()[i]).epsilon(1e-12));

  out = loss();
  const Var<double> gx = grad(out, x, GradGraphMode::create_graph);
  CHECK(gx.requires_grad());
}

TEST_CASE("grad: refusals name the problem") {
  Rng rng(101);
  const Var<double> x(Tensor<double>::randn({3, 2}, rng), true);
  const Var<double> unused(Tensor<double>::randn({3, 2}, rng), true);
  const Var<double> constant(Tensor<double>::randn({3, 2}, rng));
  const Tensor<double> half = Tensor<double>::full({3, 2}, 0.5);
  CHECK_THROWS_WITH(grad(sum(mul(x, x)), unused), doctest::Contains("input 0 was not used"));
  CHECK_THROWS_WITH(grad(sum(mul(x, constant)), constant), doctest::Contains("does not require a gradient"));
  CHECK_THROWS_WITH(grad(mul(x, x), x), doctest::Contains("expected a scalar output"));
  // BCE on probabilities has no differentiable rule: named, not silently wrong.
  CHECK_THROWS_WITH(grad(bce(sigmoid(x), half), x, GradGraphMode::create_graph),
                    doctest::Contains("the op 'bce' has no differentiable backward rule"));
  // The first-order path still runs through it.
  backward(bce(sigmoid(x), half));
  CHECK(x.has_grad());
}
