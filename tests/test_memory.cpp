// The caching pool, pooled callables, the threaded GEMM, and the promise they
// serve: a steady-state training step allocates nothing.
#include <doctest/doctest.h>

#include <cstdint>
#include <memory>

#include "tinygan/gan.hpp"
#include "models/conditional_dcgan.hpp"
#include "models/dcgan.hpp"
#include "models/dense.hpp"

namespace tinygan::bench {
std::uint64_t allocation_count();  // bench/count_allocations.cpp, linked into this binary
}

using namespace tinygan;

TEST_CASE("the pool hands a freed block of the same size out again") {
  memory::Pool pool;
  void* a = pool.acquire(1000);
  CHECK(reinterpret_cast<std::uintptr_t>(a) % memory::kAlignment == 0);
  pool.release(a, 1000);
  CHECK(pool.cached_bytes() == 1024);  // sizes round up to whole 64-byte lines
  CHECK(pool.acquire(1010) == a);      // same rounded size: the same block
  CHECK(pool.cached_bytes() == 0);
  void* b = pool.acquire(4096);
  CHECK(b != a);
  pool.release(a, 1000);
  pool.release(b, 4096);
  pool.release_cached();
  CHECK(pool.cached_bytes() == 0);
}

TEST_CASE("the pool keeps no more than its cache limit") {
  memory::Pool pool;
  pool.set_cache_limit(1024);
  void* a = pool.acquire(1024);
  void* b = pool.acquire(1024);
  pool.release(a, 1024);
  pool.release(b, 1024);  // over the limit: returned to the system
  CHECK(pool.cached_bytes() == 1024);
  pool.release_cached();
}

TEST_CASE("PooledFunction calls, moves and destroys its callable") {
  auto counter = std::make_shared<int>(0);
  {
    PooledFunction<int> f = [counter, pad = std::array<double, 8>{}](int& x) { x += ++*counter + static_cast<int>(pad[0]); };
    CHECK(static_cast<bool>(f));
    CHECK(counter.use_count() == 2);
    int x = 0;
    f(x);
    PooledFunction<int> g = std::move(f);
    CHECK_FALSE(static_cast<bool>(f));
    g(x);
    CHECK(x == 3);
    g = nullptr;
    CHECK(counter.use_count() == 1);  // the capture was destroyed
  }
  CHECK(counter.use_count() == 1);
}

TEST_CASE("gemm split over threads equals one product") {
  Rng rng(5);
  set_num_threads(2);
  // The last is cut along its inner size (a small output over a long sum).
  for (const auto& dims : {std::array<Index, 3>{300, 70, 90}, {40, 300, 700}, {1000, 64, 33}, {64, 5000, 100}}) {
    const Index m = dims[0], k = dims[1], n = dims[2];  // not a structured binding: INFO captures it, which clang 14 refuses
    const Tensor<float> a = Tensor<float>::randn({m, k}, rng), b = Tensor<float>::randn({n, k}, rng);
    Tensor<float> c = Tensor<float>::randn({m, n}, rng), expected = c;
    gemm(c.matrix(), a.matrix(), b.matrix().transpose(), Accumulate::yes);
    expected.matrix().noalias() += a.matrix() * b.matrix().transpose();
    const double error = (c.matrix() - expected.matrix()).norm() / expected.matrix().norm();
    INFO(m, "x", k, "x", n);
    CHECK(error < 1e-6);
    gemm(c.matrix(), a.matrix(), b.matrix().transpose());
    CHECK((c.matrix() - a.matrix() * b.matrix().transpose()).norm() < 1e-4 * c.matrix().norm());
  }
}

TEST_CASE("a steady-state DCGAN training step makes no heap allocation") {
  Rng rng(1);
  gan::Recipe recipe;
  recipe.beta1 = 0.5;
  SUBCASE("docs/models.md's step") {}
  SUBCASE("the G step reusing the D step's fakes") { recipe.reuse_fakes = true; }
  gan::Trainer trainer(mnist::dcgan_generator<float>(rng), mnist::dcgan_discriminator<float>(rng), recipe);
  const Tensor<float> real = Tensor<float>::rand({8, 1, 28, 28}, rng, -1, 1);
  const Tensor<float> noise = Tensor<float>::randn({8, 100}, rng);
  for (int i = 0; i < 2; ++i) trainer.step(real, noise, noise);  // fills the pool
  const std::uint64_t before = bench::allocation_count();
  trainer.step(real, noise, noise);
  const std::uint64_t allocations = bench::allocation_count() - before;
  CHECK(allocations == 0);
  CHECK(before > 0);  // the counter does count
}

TEST_CASE("a steady-state step with the R1 penalty makes no heap allocation") {
  Rng rng(1);
  gan::Recipe recipe;
  recipe.r1_gamma = 1;
  gan::Trainer trainer(mnist::minimal_generator<float>(rng), mnist::minimal_discriminator<float>(rng), recipe);
  const Tensor<float> real = Tensor<float>::rand({8, 28, 28}, rng, 0, 1);
  const Tensor<float> noise = Tensor<float>::randn({8, 100}, rng);
  for (int i = 0; i < 2; ++i) trainer.step(real, noise, noise);  // fills the pool
  const std::uint64_t before = bench::allocation_count();
  trainer.step(real, noise, noise);
  CHECK(bench::allocation_count() - before == 0);
}

TEST_CASE("a steady-state DCGAN step with R1 through its convolutional D, conditional or not, makes no heap allocation") {
  for (const bool conditional : {false, true}) {
    Rng rng(1);
    gan::Recipe recipe = mnist::dcgan_batchnorm_best_recipe();
    recipe.r1_gamma = 1;
    gan::Trainer trainer = conditional
        ? gan::Trainer(mnist::conditional_dcgan_generator<float>(rng, 10),
                       mnist::conditional_dcgan_discriminator<float>(rng, mnist::LabelInput::projection,
                                                                     gan::DiscriminatorOutput::logits, 10, 1, false),
                       recipe)
        : gan::Trainer(mnist::dcgan_generator<float>(rng), mnist::dcgan_discriminator<float>(
                           rng, gan::DiscriminatorOutput::logits), recipe);
    const Tensor<float> real = Tensor<float>::rand({4, 1, 28, 28}, rng, -1, 1);
    const Tensor<float> noise = Tensor<float>::randn({4, 100}, rng);
    const Tensor<float> labels = Tensor<float>::from({4}, {0, 1, 2, 3});
    const Tensor<float>* l = conditional ? &labels : nullptr;
    for (int i = 0; i < 2; ++i) trainer.step(real, noise, noise, l, l, l);  // fills the pool
    INFO("conditional " << conditional);  // (INFO allocates: before counting)
    const std::uint64_t before = bench::allocation_count();
    trainer.step(real, noise, noise, l, l, l);
    CHECK(bench::allocation_count() - before == 0);
  }
}

TEST_CASE("a steady-state step of --recipe best's spectrally normalized critic, or of WGAN-GP's, makes no heap "
          "allocation") {
  for (const bool wgan_gp : {false, true}) {
    Rng rng(1);
    gan::Recipe recipe = mnist::dcgan_best_recipe();  // the hinge loss, spectral norm, a moving average of G
    if (wgan_gp) {
      recipe.loss = gan::AdversarialLoss::wasserstein;
      recipe.gp_lambda = 10;  // the penalty's second-order pass
      recipe.spectral_norm = false;  // the paper's critic, as --wgan-gp builds it
    }
    gan::Trainer trainer(mnist::dcgan_generator<float>(rng), mnist::dcgan_critic<float>(rng, recipe.spectral_norm),
                         recipe);
    const Tensor<float> real = Tensor<float>::rand({4, 1, 28, 28}, rng, -1, 1);
    const Tensor<float> noise = Tensor<float>::randn({4, 100}, rng);
    for (int i = 0; i < 2; ++i) trainer.step(real, noise, noise);  // fills the pool
    INFO("WGAN-GP " << wgan_gp);  // (INFO allocates: before counting)
    const std::uint64_t before = bench::allocation_count();
    trainer.step(real, noise, noise);
    CHECK(bench::allocation_count() - before == 0);
  }
}

TEST_CASE("a steady-state conditional DCGAN step, with either kind of D or AC-GAN's, makes no heap allocation") {
  for (const int variant : {0, 1, 2}) {  // projection, channels, projection with AC-GAN's classifier
    const auto kind = variant == 1 ? mnist::LabelInput::channels : mnist::LabelInput::projection;
    Rng rng(1);
    gan::Recipe recipe;
    recipe.beta1 = 0.5;
    recipe.ac_gan = variant == 2 ? 1 : 0;
    gan::Trainer trainer(mnist::conditional_dcgan_generator<float>(rng, 10),
                         mnist::conditional_dcgan_discriminator<float>(rng, kind, {}, 10, 1, variant == 2), recipe);
    const Tensor<float> real = Tensor<float>::rand({8, 1, 28, 28}, rng, -1, 1);
    const Tensor<float> noise = Tensor<float>::randn({8, 100}, rng);
    const Tensor<float> labels = Tensor<float>::from({8}, {0, 1, 2, 3, 4, 5, 6, 7}), others = Tensor<float>::from({8}, {9, 8, 7, 6, 5, 4, 3, 2});
    for (int i = 0; i < 2; ++i) trainer.step(real, noise, noise, &labels, &others, &labels);  // fills the pool
    INFO("variant " << variant);  // (INFO allocates: before counting)
    const std::uint64_t before = bench::allocation_count();
    trainer.step(real, noise, noise, &labels, &others, &labels);
    CHECK(bench::allocation_count() - before == 0);
  }
}
