// tinygan::dist under MPI: run with mpirun -np 2 (tests/dist/CMakeLists.txt).
// Every rank runs every case in the same order, since the cases communicate.
#include <chrono>
#include <cmath>
#include <thread>

#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "../small_gan.hpp"
#include "tinygan/dist/communicator.hpp"
#include "tinygan/dist/modules.hpp"

namespace {

using namespace tinygan;
tinygan::dist::Communicator* world = nullptr;

// Rows [first, first + count) of a [N, ...] tensor.
Tensor<float> rows(const Tensor<float>& t, Index first, Index count) {
  Shape s = t.shape();
  s[0] = count;
  Tensor<float> out(s);
  std::copy_n(t.data() + first * t.shape().per_sample(), out.numel(), out.data());
  return out;
}

// Largest difference between the same-named tensors of two modules, parameters and buffers.
double max_difference(const nn::Module<float>& a, const nn::Module<float>& b) {
  double worst = 0;
  for (auto [ours, theirs] : {std::pair{a.named_parameters(), b.named_parameters()},
                              std::pair{a.named_buffers(), b.named_buffers()}}) {
    REQUIRE(ours.size() == theirs.size());
    for (std::size_t i = 0; i < ours.size(); ++i)
      for (Index k = 0; k < ours[i].second.numel(); ++k)
        worst = std::max(worst, static_cast<double>(std::abs(ours[i].second.value()[k] - theirs[i].second.value()[k])));
  }
  return worst;
}

// The small GAN of tests/small_gan.hpp, with a Dropout in D, and G's first
// Dense without bias: a
// bias before BatchNorm has a gradient of exactly zero, so what it gets is
// rounding noise, which Adam (dividing by its root mean square) turns into
// full-size steps of any sign. Such a weight could match nothing.
gan::Trainer small_gan(const gan::Recipe& recipe, std::uint64_t seed) {
  Rng rng(seed);
  auto g = std::make_shared<nn::Sequential<float>>();
  g->add(nn::Dense<float>(nn::DenseOptions(6, 16).bias(false))).add(nn::BatchNorm<float>(16));
  g->add(nn::LeakyReLU<float>(0.2)).add(nn::Dense<float>(16, 9)).add(nn::Tanh<float>());
  g->initialize(rng);
  auto d = std::make_shared<nn::Sequential<float>>();
  d->add(nn::Dense<float>(9, 8)).add(nn::LeakyReLU<float>(0.2)).add(nn::Dropout<float>(0.3));
  d->add(nn::Dense<float>(8, 1)).add(nn::Sigmoid<float>());
  d->initialize(rng);
  return gan::Trainer(g, d, recipe);
}

// Trains that GAN for `steps` iterations on a joint batch of 2b, on this rank
// alone, and data-parallel with b per rank; returns the largest difference
// between the two in any weight or running statistic.
double joint_versus_distributed(bool sync_bn, int steps = 5) {
  const Index b = 4, joint = b * world->size();
  Rng data_rng(7);
  std::vector<testing::SmallBatches> batches;
  for (int s = 0; s < steps; ++s) {
    testing::SmallBatches one(data_rng);
    one.real = Tensor<float>::rand({joint, 9}, data_rng, -1, 1);
    one.noise = Tensor<float>::randn({joint, 6}, data_rng);
    one.g_noise = Tensor<float>::randn({joint, 6}, data_rng);
    batches.push_back(std::move(one));
  }
  gan::Recipe recipe;
  recipe.lr_g = recipe.lr_d = 1e-2;  // large steps: a wrong gradient shows at once
  gan::Trainer alone = small_gan(recipe, 3);
  gan::Trainer together = small_gan(recipe, 3 + static_cast<std::uint64_t>(world->rank()));
  dist::broadcast_module(*world, together.generator());  // rank 0's seed for all
  dist::broadcast_module(*world, together.discriminator());
  if (sync_bn) dist::synchronize_batch_norm(*world, together.generator());
  together.distribute(*world);
  const Index first = world->rank() * b;
  for (const auto& s : batches) {
    const gan::StepStats expected = alone.step(s.real, s.noise, s.g_noise);
    const gan::StepStats got =
        together.step(rows(s.real, first, b), rows(s.noise, first, b), rows(s.g_noise, first, b));
    if (sync_bn) CHECK(got.d_loss == doctest::Approx(expected.d_loss).epsilon(1e-5));
  }
  return std::max(max_difference(alone.generator(), together.generator()),
                  max_difference(alone.discriminator(), together.discriminator()));
}

}  // namespace

TEST_CASE("sum and broadcast reach every rank") {
  float values[3] = {1.0f, static_cast<float>(world->rank()), 0.5f};
  world->sum(values, 3, "the test sum");
  const int n = world->size();
  CHECK(values[0] == n);
  CHECK(values[1] == n * (n - 1) / 2);
  double root_value[2] = {world->is_root() ? 42.0 : -1.0, static_cast<double>(world->rank())};
  world->broadcast(root_value, 2, "the test broadcast");
  CHECK(root_value[0] == 42.0);
  CHECK(root_value[1] == 0.0);
}

TEST_CASE("the gradient average: every tensor and scalar, in several buckets, frozen parameters left out") {
  Rng rng(1);
  testing::Model g = testing::generator(rng);
  auto named = g->named_parameters();
  for (auto& [name, p] : named) p.grad().fill(static_cast<float>(world->rank() + 1));
  // The first layer frozen: its gradient must come back untouched.
  named[0].second.set_requires_grad(false);
  auto buffers = g->named_buffers();
  for (auto& [name, b] : buffers) b.value().fill(static_cast<float>(10 * world->rank()));
  dist::GradientAverager<float> average(*world, *g, 64 * sizeof(float));  // 64 floats: several buckets
  CHECK(average.buckets() > 2);
  double loss = world->rank() == 0 ? 1.0 : 3.0;
  average.average({&loss});
  const float mean_grad = static_cast<float>(world->size() + 1) / 2;
  CHECK(named[0].second.grad()[0] == static_cast<float>(world->rank() + 1));
  for (std::size_t i = 1; i < named.size(); ++i)
    for (float v : named[i].second.grad()) REQUIRE(v == doctest::Approx(mean_grad));
  for (auto& [name, b] : buffers) CHECK(b.value()[0] == doctest::Approx(5.0 * (world->size() - 1)));
  if (world->size() == 2) CHECK(loss == doctest::Approx(2.0));
}

TEST_CASE("the gradient average: a parameter no rank gave a gradient keeps none, one some ranks did is averaged") {
  Rng rng(1);
  testing::Model g = testing::generator(rng);
  auto named = g->named_parameters();
  for (auto& [name, p] : named) p.zero_grad();
  named[1].second.grad().fill(1.0f);                      // every rank
  if (world->is_root()) named[2].second.grad().fill(4.0f);  // rank 0 only
  dist::GradientAverager<float> average(*world, *g, 64 * sizeof(float));  // a bucket per tensor
  REQUIRE(average.buckets() >= 4);
  average.average();
  CHECK(named[1].second.has_grad());
  CHECK(named[1].second.grad()[0] == doctest::Approx(1.0));
  CHECK(named[2].second.has_grad());
  CHECK(named[2].second.grad()[0] == doctest::Approx(4.0 / world->size()));
  CHECK_FALSE(named[0].second.has_grad());  // no rank: the optimizer skips it, as in one process
  CHECK_FALSE(named[3].second.has_grad());
}

TEST_CASE("synchronized BatchNorm on shards equals BatchNorm on the joint batch, forward and backward") {
  const Index b = 3, joint = b * world->size();
  Rng rng(5);
  const Tensor<float> x = Tensor<float>::randn({joint, 4, 2, 2}, rng, 1.0, 2.0);
  const Tensor<float> upstream = Tensor<float>::randn({joint, 4, 2, 2}, rng);
  nn::BatchNorm<float> whole(4), part(4);
  dist::broadcast_module(*world, part);
  part.set_cross_replica_sum([](double* v, Index n) { world->sum(v, n, "the test BatchNorm"); });

  Var<float> x_whole(x, true), x_part(rows(x, world->rank() * b, b), true);
  Var<float> y_whole = whole(x_whole), y_part = part(x_part);
  backward(sum(mul(y_whole, Var<float>(upstream))));
  backward(sum(mul(y_part, Var<float>(rows(upstream, world->rank() * b, b)))));
  const Tensor<float> y_expected = rows(y_whole.value(), world->rank() * b, b);
  const Tensor<float> gx_expected = rows(x_whole.grad(), world->rank() * b, b);
  for (Index i = 0; i < y_part.numel(); ++i) {
    REQUIRE(y_part.value()[i] == doctest::Approx(y_expected[i]).epsilon(1e-5));
    REQUIRE(x_part.grad()[i] == doctest::Approx(gx_expected[i]).epsilon(1e-4));
  }
  // Running statistics follow the joint batch (unbiased variance over all of it).
  for (Index c = 0; c < 4; ++c) {
    CHECK(part.running_mean()[c] == doctest::Approx(whole.running_mean()[c]).epsilon(1e-5));
    CHECK(part.running_var()[c] == doctest::Approx(whole.running_var()[c]).epsilon(1e-5));
  }
}

TEST_CASE("sharded dropout keeps this rank's slice of the joint batch's mask") {
  const Index b = 5, joint = b * world->size();  // rank 1's slice starts at an odd index of the joint mask
  Rng rng(9);
  const Tensor<float> x = Tensor<float>::rand({joint, 3}, rng, 1, 2);
  nn::Dropout<float> whole(0.5), part(0.5);
  whole.rng().seed(11);
  part.rng().seed(world->rank() == 0 ? 11 : 12);  // shard_dropout gives every rank rank 0's stream
  CHECK(dist::shard_dropout(*world, part) == 1);
  const Tensor<float> expected = rows(whole(Var<float>(x)).value(), world->rank() * b, b);
  const Tensor<float> got = part(Var<float>(rows(x, world->rank() * b, b))).value();
  Index dropped = 0;
  for (Index i = 0; i < got.numel(); ++i) {
    REQUIRE(got[i] == expected[i]);
    dropped += got[i] == 0;
  }
  CHECK(dropped > 0);
  CHECK(dropped < got.numel());
}

TEST_CASE("ranks with batch b train as one process with the joint batch") {
  // Float sums over the ranks come in another order than one process's: the
  // weights agree to float rounding, not bit for bit (docs/distributed.md).
  constexpr double kTolerance = 1e-5;
  SUBCASE("with synchronized BatchNorm") { CHECK(joint_versus_distributed(true) < kTolerance); }
  if (world->size() > 1) {
    // The check can fail: per-rank BatchNorm statistics are another model.
    SUBCASE("unsynchronized BatchNorm differs") { CHECK(joint_versus_distributed(false) > 100 * kTolerance); }
  }
}

TEST_CASE("a rank that does not answer ends the wait with an error naming the collective") {
  const double before = world->timeout_seconds();
  world->set_timeout(0.3);
  float value = 1.0f;
  std::string message;
  if (world->rank() == 1) std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  try {
    world->sum(&value, 1, "the late sum");
  } catch (const dist::PeerLost& e) {
    message = e.what();
  }
  if (world->rank() == 0 && world->size() > 1) CHECK(!message.empty());
  if (!message.empty()) {
    CHECK(message.find("no answer from the other ranks for 0.3 s in the late sum") != std::string::npos);
    world->set_timeout(30);
    world->wait("the late sum, again");  // the late rank does answer: the same sum completes
  }
  CHECK(value == static_cast<float>(world->size()));
  world->set_timeout(before);
}

int main(int argc, char** argv) {
  tinygan::dist::Communicator comm(60);
  world = &comm;
  doctest::Context context(argc, argv);
  const int failed = context.run();
  int failures[1] = {failed ? 1 : 0};
  float any[1] = {static_cast<float>(failures[0])};
  comm.sum(any, 1, "the test result");
  return any[0] > 0 ? 1 : 0;
}
