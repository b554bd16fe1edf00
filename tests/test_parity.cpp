// Parity with PyTorch on fixed inputs: every layer's output, input gradient
// and parameter gradients, the losses, BatchNorm's running statistics, and
// optimizer steps, against golden files made by tests/golden/make_golden.py.
#include <doctest/doctest.h>

#include "golden.hpp"

using namespace tinygan;
using tinygan::testing::expect_close;
using tinygan::testing::expect_close_scaled;
using tinygan::testing::golden;

namespace {
using File = io::TensorFile<float>;

Var<float> leaf(const File& f, const std::string& name) { return Var<float>(f.at(name), true); }

// Runs y = op(x, weight, bias) in float, backward with the stored upstream
// gradient, and compares the output and every gradient, each element against
// its condition: the same op run in double on |x|, |W|, |b| and |grad_y|.
template <class Op>
void check_layer(const std::string& name, Op op) {
  const File f = golden(name);
  const bool has_bias = f.tensors.count("bias") == 1;
  Var<float> x = leaf(f, "x"), w = leaf(f, "weight");
  Var<float> b = has_bias ? leaf(f, "bias") : Var<float>();
  const Var<float> y = op(x, w, b);
  backward(sum(mul(y, Var<float>(f.at("grad_y")))));

  const auto absolute = [&](const std::string& key) {
    Tensor<double> t = f.at(key).cast<double>();
    t.array() = t.array().abs();
    return Var<double>(std::move(t), true);
  };
  Var<double> ax = absolute("x"), aw = absolute("weight");
  Var<double> ab = has_bias ? absolute("bias") : Var<double>();
  const Var<double> ay = op(ax, aw, ab);
  backward(sum(mul(ay, Var<double>(absolute("grad_y").value()))));

  expect_close_scaled(y.value(), f.at("y"), ay.value(), name + " output");
  expect_close_scaled(x.grad(), f.at("grad_x"), ax.grad(), name + " input gradient");
  expect_close_scaled(w.grad(), f.at("grad_weight"), aw.grad(), name + " weight gradient");
  if (has_bias) expect_close_scaled(b.grad(), f.at("grad_bias"), ab.grad(), name + " bias gradient");
}

Index meta(const File& f, const std::string& key) { return std::stoll(f.metadata.at(key)); }
}  // namespace

TEST_CASE("parity dense (Linear) against PyTorch") {
  for (const char* name : {"dense", "dense_nobias", "dense_head"})
    check_layer(name, [](auto& x, auto& w, auto& b) { return linear(x, w, b); });
}

TEST_CASE("parity conv2d against PyTorch (docs/models.md's DCGAN D and pytorch/examples' 4x4 layers)") {
  for (const char* name : {"conv2d_d1", "conv2d_d2", "conv2d_small", "conv2d_nobias", "conv2d_k4s2_rgb", "conv2d_k4s2",
                           "conv2d_k4_head"}) {
    const File f = golden(name);
    const Index stride = meta(f, "stride"), padding = meta(f, "padding");
    check_layer(name, [&](auto& x, auto& w, auto& b) { return conv2d(x, w, b, stride, padding); });
  }
}

TEST_CASE("parity conv_transpose2d against PyTorch (docs/models.md's three and pytorch/examples' 4x4 ones, batch 2)") {
  for (const char* name : {"convt_g1", "convt_g2", "convt_g3", "convt_small", "convt_k4_stem", "convt_k4s2", "convt_k4s2_rgb"}) {
    const File f = golden(name);
    const Index stride = meta(f, "stride"), padding = meta(f, "padding");
    const Index output_padding = meta(f, "output_padding");
    check_layer(name, [&](auto& x, auto& w, auto& b) {
      return conv_transpose2d(x, w, b, stride, padding, output_padding);
    });
  }
}

TEST_CASE("parity batchnorm 1-d and 2-d, train and eval, with running statistics") {
  for (const char* name : {"bn1d_train", "bn1d_eval", "bn2d_train", "bn2d_eval"}) {
    const File f = golden(name);
    nn::BatchNorm<float> bn(f.at("weight").numel());
    bn.weight().value() = f.at("weight");
    bn.bias().value() = f.at("bias");
    bn.running_mean() = f.at("running_mean");
    bn.running_var() = f.at("running_var");
    bn.train(f.metadata.at("training") == "true");
    Var<float> x = leaf(f, "x");
    const Var<float> y = bn(x);
    expect_close(y.value(), f.at("y"), std::string(name) + " output");
    expect_close(bn.running_mean(), f.at("running_mean_after"), std::string(name) + " running mean");
    expect_close(bn.running_var(), f.at("running_var_after"), std::string(name) + " running var");
    backward(sum(mul(y, Var<float>(f.at("grad_y")))));
    expect_close(x.grad(), f.at("grad_x"), std::string(name) + " input gradient");
    expect_close(bn.weight().grad(), f.at("grad_weight"), std::string(name) + " weight gradient");
    expect_close(bn.bias().grad(), f.at("grad_bias"), std::string(name) + " bias gradient");
  }
}

TEST_CASE("parity activations: leaky_relu, relu, tanh, sigmoid") {
  const auto check_activation = [](const std::string& name, auto fn) {
    const File f = golden(name);
    Var<float> x = leaf(f, "x");
    const Var<float> y = fn(x);
    expect_close(y.value(), f.at("y"), name + " output");
    backward(sum(mul(y, Var<float>(f.at("grad_y")))));
    expect_close(x.grad(), f.at("grad_x"), name + " input gradient");
  };
  check_activation("leaky_relu", [](auto& x) { return leaky_relu(x, 0.2f); });
  check_activation("relu", [](auto& x) { return relu(x); });
  check_activation("tanh", [](auto& x) { return tanh(x); });
  check_activation("sigmoid", [](auto& x) { return sigmoid(x); });
}

namespace {
template <class Loss>
void check_loss(const std::string& name, Loss loss) {
  const File f = golden(name);
  Var<float> input = leaf(f, "input");
  const Var<float> l = loss(input, f.at("target"));
  expect_close(l.value(), f.at("loss"), name + " value");
  backward(l);
  expect_close(input.grad(), f.at("grad_input"), name + " gradient");
}
}  // namespace

TEST_CASE("parity bce and bce_with_logits") {
  check_loss("bce", [](auto& p, auto& y) { return bce(p, y); });
  check_loss("bce_logits", [](auto& p, auto& y) { return bce_with_logits(p, y); });
}

TEST_CASE("parity msle, mse and cross_entropy") {
  check_loss("msle", [](auto& p, auto& y) { return msle(p, y); });
  check_loss("mse", [](auto& p, auto& y) { return mse(p, y); });
  check_loss("cross_entropy", [](auto& p, auto& y) { return cross_entropy(p, y); });
}

namespace {
// Three steps of an optimizer on Linear(4,8) -> LeakyReLU(0.2) -> Linear(8,1) -> Sigmoid with BCE.
template <class MakeOptimizer>
void check_optimizer(const std::string& name, MakeOptimizer make) {
  const File f = golden(name);
  nn::Sequential<float> net;
  net.add(nn::Dense<float>(4, 8)).add(nn::LeakyReLU<float>(0.2)).add(nn::Dense<float>(8, 1))
      .add(nn::Sigmoid<float>());
  for (auto& [param, var] : net.named_parameters()) var.value() = f.at("init." + param);
  auto optimizer = make(net.parameters(), f.metadata);
  const Var<float> x(f.at("x"));
  Tensor<float> losses(Shape{3});
  for (Index step = 0; step < 3; ++step) {
    optimizer.zero_grad();
    const Var<float> loss = bce(net(x), f.at("target"));
    losses[step] = loss.value()[0];
    backward(loss);
    optimizer.step();
  }
  expect_close(losses, f.at("losses"), name + " losses");
  for (auto& [param, var] : net.named_parameters())
    expect_close(var.value(), f.at("final." + param), name + " " + param + " after 3 steps");
}
double num(const std::map<std::string, std::string>& m, const char* key) { return std::stod(m.at(key)); }
}  // namespace

TEST_CASE("parity adam: three steps, with and without weight decay") {
  for (const char* name : {"adam", "adam_wd"})
    check_optimizer(name, [](std::vector<Var<float>> params, const auto& m) {
      return optim::Adam<float>(std::move(params), optim::AdamOptions(num(m, "lr"))
                                                       .beta1(num(m, "beta1"))
                                                       .beta2(num(m, "beta2"))
                                                       .eps(num(m, "eps"))
                                                       .weight_decay(num(m, "weight_decay")));
    });
}

TEST_CASE("parity sgd with momentum: three steps") {
  check_optimizer("sgd", [](std::vector<Var<float>> params, const auto& m) {
    return optim::SGD<float>(std::move(params),
                             optim::SGDOptions(num(m, "lr")).momentum(num(m, "momentum")));
  });
}

TEST_CASE("parity the conditioning ops: embedding, the label as channels, the projection head") {
  {
    const File f = golden("embedding");
    Var<float> weight = leaf(f, "weight");
    const Var<float> y = embedding(weight, f.at("labels"));
    backward(sum(mul(y, Var<float>(f.at("grad_y")))));
    expect_close(y.value(), f.at("y"), "embedding output");
    expect_close(weight.grad(), f.at("grad_weight"), "embedding weight gradient (rows read twice add up)");
  }
  {
    const File f = golden("label_channels");
    Var<float> x = leaf(f, "x"), weight = leaf(f, "weight");
    const Var<float> y = concat(x, broadcast_spatial(embedding(weight, f.at("labels")), x.shape()[2], x.shape()[3]));
    backward(sum(mul(y, Var<float>(f.at("grad_y")))));
    expect_close(y.value(), f.at("y"), "label channels output");
    expect_close(x.grad(), f.at("grad_x"), "label channels input gradient");
    expect_close(weight.grad(), f.at("grad_weight"), "label channels embedding gradient (sums over the map)");
  }
  {
    const File f = golden("projection");
    Var<float> x = leaf(f, "x"), head_w = leaf(f, "head_weight"), head_b = leaf(f, "head_bias");
    Var<float> embed = leaf(f, "embed_weight");
    const Var<float> y = add(linear(x, head_w, head_b), sum_per_sample(mul(x, embedding(embed, f.at("labels")))));
    backward(sum(mul(y, Var<float>(f.at("grad_y")))));
    expect_close(y.value(), f.at("y"), "projection output");
    expect_close(x.grad(), f.at("grad_x"), "projection feature gradient");
    expect_close(head_w.grad(), f.at("grad_head_weight"), "projection head weight gradient");
    expect_close(head_b.grad(), f.at("grad_head_bias"), "projection head bias gradient");
    expect_close(embed.grad(), f.at("grad_embed_weight"), "projection embedding gradient");
  }
}

TEST_CASE("parity AC-GAN's head: narrow picks the score and the class logits of one output") {
  const File f = golden("ac_gan");
  Var<float> x = leaf(f, "x"), w = leaf(f, "weight"), b = leaf(f, "bias");
  const Var<float> y = linear(x, w, b);
  const Var<float> loss = add(bce_with_logits(narrow(y, 0, 1), Tensor<float>::full({6, 1}, 1.0f)),
                              scale(cross_entropy(narrow(y, 1, 5), f.at("labels")), 0.7f));
  backward(loss);
  expect_close(loss.value(), f.at("loss"), "AC-GAN loss");
  expect_close(x.grad(), f.at("grad_x"), "AC-GAN feature gradient");
  expect_close(w.grad(), f.at("grad_weight"), "AC-GAN head weight gradient");
  expect_close(b.grad(), f.at("grad_bias"), "AC-GAN head bias gradient");
}

TEST_CASE("parity R1 through the DCGAN's D in train mode: torch.autograd.grad(create_graph=True), then backward") {
  const File f = golden("r1_dcgan");
  nn::Sequential<float> d;  // the DCGAN's D without its Dropout layers (their masks differ between libraries)
  d.add(nn::Conv2D<float>(nn::Conv2DOptions(1, 64, 5).stride(2).padding(2)))
      .add(nn::LeakyReLU<float>(0.2f))
      .add(nn::Conv2D<float>(nn::Conv2DOptions(64, 128, 5).stride(2).padding(2)))
      .add(nn::BatchNorm<float>(128))
      .add(nn::LeakyReLU<float>(0.2f))
      .add(nn::Flatten<float>())
      .add(nn::Dense<float>(128 * 7 * 7, 1));
  for (auto& [name, p] : d.named_parameters()) p.value() = f.at(name);
  const Var<float> x = leaf(f, "x");
  const Var<float> logits = d(x);
  const Var<float> g = grad(sum(logits), x, GradGraphMode::create_graph);
  const Var<float> penalty = scale(sum(mul(g, g)), 10.0f / 2 / 4);
  backward(penalty);
  expect_close(logits.value(), f.at("logits"), "D's logits");
  expect_close(g.value(), f.at("input_grad"), "d sum(logits) / dx", 1e-4);
  expect_close(penalty.value(), f.at("penalty"), "the penalty", 1e-4);
  expect_close(x.grad(), f.at("grad_x"), "the penalty's gradient with respect to x", 1e-4);
  // The conv bias before BatchNorm has a gradient of zero but for rounding (the
  // normalization removes it): that one is held to the scale of all the others.
  double largest = 0;
  for (auto& [name, p] : d.named_parameters())
    for (float v : f.at("grad_" + name)) largest = std::max(largest, std::abs(static_cast<double>(v)));
  for (auto& named : d.named_parameters()) {
    const std::string name = named.first;  // a copy, not a binding: INFO captures it (clang 14)
    const Var<float>& p = named.second;
    const Tensor<float> expected = f.at("grad_" + name);
    const double own = static_cast<double>(expected.array().abs().maxCoeff());
    if (own > 1e-6 * largest) {
      expect_close(p.grad(), expected, "the penalty's gradient with respect to " + name, 1e-4);
    } else {
      INFO("the penalty's gradient with respect to " << name << ", zero in exact arithmetic");
      CHECK(static_cast<double>(p.grad().array().abs().maxCoeff()) <= 1e-5 * largest);
    }
  }
}
