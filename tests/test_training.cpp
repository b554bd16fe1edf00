// Whole training steps: bitwise reproducibility and a frozen discriminator.
#include <doctest/doctest.h>

#include <cstring>

#include "tinygan/gan.hpp"
#include "models/common.hpp"

using namespace tinygan;

namespace {
using Model = mnist::Model<float>;

Model small_generator() {
  using namespace nn;
  auto g = std::make_shared<Sequential<float>>();
  g->add(Dense<float>(DenseOptions(8, 4 * 4 * 4).bias(false)))
      .add(BatchNorm<float>(64))
      .add(LeakyReLU<float>(0.2))
      .add(Reshape<float>({4, 4, 4}))
      .add(Conv2DTranspose<float>(
          Conv2DTransposeOptions(4, 1, 5).stride(2).padding(2).output_padding(1).bias(false)))
      .add(Tanh<float>());
  return g;
}

Model small_discriminator() {
  using namespace nn;
  auto d = std::make_shared<Sequential<float>>();
  d->add(Conv2D<float>(Conv2DOptions(1, 4, 5).stride(2).padding(2)))
      .add(BatchNorm<float>(4))
      .add(LeakyReLU<float>(0.2))
      .add(Dropout<float>(0.3))
      .add(Flatten<float>())
      .add(Dense<float>(64, 1))
      .add(Sigmoid<float>());
  return d;
}

struct Gan {
  Model g = small_generator(), d = small_discriminator(), combined = mnist::combined(g, d);
  optim::Adam<float> opt_g{g->parameters(), optim::AdamOptions(2e-4).beta1(0.5)};
  optim::Adam<float> opt_d{d->parameters(), optim::AdamOptions(2e-4).beta1(0.5)};
  Rng rng;
  explicit Gan(std::uint64_t seed) : rng(seed) {
    nn::init::dcgan_normal(*g, rng);
    nn::init::dcgan_normal(*d, rng);
  }

  Var<float> noise(Index n) { return Var<float>(Tensor<float>::randn({n, 8}, rng)); }

  // docs/models.md's procedure: D on a real and a fake batch, then G through the frozen D.
  void step(const Tensor<float>& real) {
    const Index n = real.dim(0);
    Var<float> fake;
    {
      NoGrad no_grad;
      fake = (*g)(noise(n));
    }
    opt_d.zero_grad();
    backward(add(bce((*d)(Var<float>(real)), Tensor<float>::full({n, 1}, 1.0f)),
                 bce((*d)(fake), Tensor<float>::full({n, 1}, 0.0f))));
    opt_d.step();

    d->set_trainable(false);
    opt_g.zero_grad();
    backward(bce((*combined)(noise(n)), Tensor<float>::full({n, 1}, 1.0f)));
    opt_g.step();
    d->set_trainable(true);
  }
};

Tensor<float> real_batch(Rng& rng) { return Tensor<float>::rand({6, 1, 8, 8}, rng, -1, 1); }

std::vector<Tensor<float>> snapshot(const nn::Module<float>& m) {
  std::vector<Tensor<float>> out;
  for (auto& [name, p] : m.named_parameters()) out.push_back(p.value());
  for (auto& [name, b] : m.named_buffers()) out.push_back(b.value());
  return out;
}

bool bitwise_equal(const std::vector<Tensor<float>>& a, const std::vector<Tensor<float>>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].numel() != b[i].numel() ||
        std::memcmp(a[i].data(), b[i].data(), sizeof(float) * static_cast<std::size_t>(a[i].numel())) != 0)
      return false;
  return true;
}

std::vector<Tensor<float>> train_twenty_steps(std::uint64_t seed) {
  Gan gan(seed);
  Rng data(seed + 1);
  for (int i = 0; i < 20; ++i) gan.step(real_batch(data));
  auto weights = snapshot(*gan.g);
  for (auto& t : snapshot(*gan.d)) weights.push_back(t);
  return weights;
}
}  // namespace

TEST_CASE("two 20-step training runs with the same seed end with bitwise-identical weights") {
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    const auto first = train_twenty_steps(11);
    const auto second = train_twenty_steps(11);
    CHECK(bitwise_equal(first, second));
    CHECK_FALSE(bitwise_equal(first, train_twenty_steps(12)));  // the seed does matter
  }
  set_num_threads(num_threads());
}

TEST_CASE("a G step through the frozen D changes G and nothing of D") {
  Gan gan(3);
  Rng data(4);
  gan.step(real_batch(data));  // D now has gradients, Adam state and moved running stats

  const auto g_before = snapshot(*gan.g);
  const auto d_before = snapshot(*gan.d);  // weights and running statistics
  std::vector<Tensor<float>> adam_before;
  for (auto& s : gan.opt_d.state()) {
    adam_before.push_back(s.m);
    adam_before.push_back(s.v);
  }

  gan.d->set_trainable(false);
  gan.opt_g.zero_grad();
  backward(bce((*gan.combined)(gan.noise(6)), Tensor<float>::full({6, 1}, 1.0f)));
  gan.opt_g.step();
  gan.opt_d.step();  // even a careless step of D's optimizer must not move a frozen D
  gan.d->set_trainable(true);

  CHECK_FALSE(bitwise_equal(snapshot(*gan.g), g_before));
  CHECK(bitwise_equal(snapshot(*gan.d), d_before));
  std::vector<Tensor<float>> adam_after;
  for (auto& s : gan.opt_d.state()) {
    adam_after.push_back(s.m);
    adam_after.push_back(s.v);
    CHECK(s.step == 1);
  }
  CHECK(bitwise_equal(adam_after, adam_before));
}

TEST_CASE("a frozen D still runs as in training: batch statistics and dropout") {
  Gan gan(5);
  Rng data(6);
  gan.d->set_trainable(false);
  const Var<float> x(real_batch(data));
  NoGrad no_grad;
  const Tensor<float> first = (*gan.d)(x).value();
  const Tensor<float> second = (*gan.d)(x).value();
  // Dropout is active, so two passes differ; in eval they would agree.
  CHECK_FALSE(bitwise_equal({first}, {second}));
  gan.d->eval();
  CHECK(bitwise_equal({(*gan.d)(x).value()}, {(*gan.d)(x).value()}));
}
