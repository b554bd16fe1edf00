// Modules: the five reference models' parameter counts, the summary table,
// names, modes and the trainable flag.
#include <doctest/doctest.h>

#include "tinygan/gan.hpp"
#include "models/dcgan.hpp"
#include "models/dense.hpp"
#include "models/inverted.hpp"

using namespace tinygan;

namespace {
struct Counts { Index trainable, total; };
Counts counts(const nn::Module<float>& m) {
  return {m.trainable_parameter_count(), m.total_parameter_count()};
}
}  // namespace

TEST_CASE("models: the five networks of docs/models.md have exactly the stated parameter counts") {
  Rng rng(1);
  // Numbers from docs/models.md (Keras-style: BatchNorm's running statistics are non-trainable).
  CHECK(counts(*mnist::dcgan_generator<float>(rng)).trainable == 2305472);
  CHECK(counts(*mnist::dcgan_generator<float>(rng)).total == 2330944);
  CHECK(counts(*mnist::dcgan_discriminator<float>(rng)).trainable == 213121);
  CHECK(counts(*mnist::dcgan_discriminator<float>(rng)).total == 213377);
  // --recipe best's critic: no BatchNorm; spectral norm's u and v are buffers, not trained.
  CHECK(counts(*mnist::dcgan_critic<float>(rng, true)).trainable == 212865);
  CHECK(counts(*mnist::dcgan_critic<float>(rng, true)).total == 220955);
  CHECK(counts(*mnist::dense_generator<float>(rng)).total == 1486352);
  CHECK(counts(*mnist::dense_discriminator<float>(rng)).total == 1460225);
  CHECK(counts(*mnist::dense_bn_generator<float>(rng)).trainable == 1489936);
  CHECK(counts(*mnist::dense_bn_generator<float>(rng)).total == 1493520);
  CHECK(counts(*mnist::dense_bn_discriminator<float>(rng)).total == 1460225);
  CHECK(counts(*mnist::minimal_generator<float>(rng)).total == 227344);
  CHECK(counts(*mnist::minimal_discriminator<float>(rng)).total == 201217);
  CHECK(counts(*mnist::inverted_generator<float>(rng)).total == 1153712);
  CHECK(counts(*mnist::inverted_discriminator<float>(rng)).total == 533505);

  auto g = mnist::inverted_generator<float>(rng);
  auto d = mnist::inverted_discriminator<float>(rng);
  auto gan = mnist::combined(g, d);
  d->set_trainable(false);
  CHECK(counts(*gan).total == 1687217);
  CHECK(counts(*gan).trainable == 1153712);
}

TEST_CASE("the reference models map their inputs to the stated shapes") {
  Rng rng(1);
  NoGrad no_grad;
  auto g = mnist::dcgan_generator<float>(rng);
  auto d = mnist::dcgan_discriminator<float>(rng);
  const Var<float> z(Tensor<float>(Shape{2, 100}));
  const Var<float> image = (*g)(z);
  CHECK(image.shape() == Shape{2, 1, 28, 28});
  CHECK((*d)(image).shape() == Shape{2, 1});
  CHECK((*mnist::minimal_generator<float>(rng))(z).shape() == Shape{2, 28, 28});
  const Var<float> flat(Tensor<float>(Shape{2, 784}));
  CHECK((*mnist::inverted_generator<float>(rng))(flat).shape() == Shape{2, 784});
}

TEST_CASE("summary prints a Keras-style table with total, trainable and non-trainable counts") {
  Rng rng(1);
  auto g = mnist::dcgan_generator<float>(rng);
  const std::string table = nn::summary(*g, Shape{100}, "dcgan_generator");
  INFO(table);
  CHECK(table.find("Model: \"dcgan_generator\"") != std::string::npos);
  CHECK(table.find("Layer (type)") != std::string::npos);
  CHECK(table.find("0 (Dense)") != std::string::npos);
  CHECK(table.find("(None, 12544)") != std::string::npos);
  CHECK(table.find("1,254,400") != std::string::npos);
  CHECK(table.find("(None, 256, 7, 7)") != std::string::npos);
  CHECK(table.find("(None, 1, 28, 28)") != std::string::npos);
  CHECK(table.find("Total params: 2,330,944") != std::string::npos);
  CHECK(table.find("Trainable params: 2,305,472") != std::string::npos);
  CHECK(table.find("Non-trainable params: 25,472") != std::string::npos);
  // Summary runs the model but must leave it as it was: mode and statistics.
  CHECK(g->is_training());
  auto& bn = dynamic_cast<nn::BatchNorm<float>&>((*g)[1]);
  CHECK(bn.running_mean().array().abs().maxCoeff() == 0);
}

TEST_CASE("a combined model shows G and D as one row each") {
  Rng rng(1);
  auto g = mnist::minimal_generator<float>(rng);
  auto d = mnist::minimal_discriminator<float>(rng);
  d->set_trainable(false);
  const std::string table = nn::summary(*mnist::combined(g, d), Shape{100});
  INFO(table);
  CHECK(table.find("0 (Sequential)") != std::string::npos);
  CHECK(table.find("1 (Sequential)") != std::string::npos);
  CHECK(table.find("Non-trainable params: 201,217") != std::string::npos);
}

TEST_CASE("parameters and buffers carry PyTorch's state_dict names") {
  Rng rng(1);
  auto d = mnist::dcgan_discriminator<float>(rng);
  std::vector<std::string> names;
  for (auto& [name, p] : d->named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "3.weight", "3.bias", "4.weight",
                                          "4.bias", "8.weight", "8.bias"});
  std::vector<std::string> buffers;
  for (auto& [name, b] : d->named_buffers()) buffers.push_back(name);
  CHECK(buffers == std::vector<std::string>{"4.running_mean", "4.running_var", "4.num_batches_tracked"});
}

TEST_CASE("train, eval and trainable recurse and take effect at once") {
  Rng rng(1);
  auto g = mnist::dense_bn_generator<float>(rng);
  g->eval();
  g->visit([](nn::Module<float>& m) { CHECK_FALSE(m.is_training()); });
  g->train();
  g->visit([](nn::Module<float>& m) { CHECK(m.is_training()); });
  g->set_trainable(false);
  for (auto& p : g->parameters()) CHECK_FALSE(p.requires_grad());
  CHECK(g->trainable_parameter_count() == 0);
  g->set_trainable(true);
  for (auto& p : g->parameters()) CHECK(p.requires_grad());
}

TEST_CASE("initializers: PyTorch's default bound and the DCGAN normal") {
  Rng rng(1);
  nn::Dense<double> dense(400, 10);
  dense.initialize(rng);
  const double bound = 1.0 / std::sqrt(400.0);
  CHECK(dense.weight().value().array().abs().maxCoeff() <= bound);
  CHECK(dense.weight().value().array().abs().maxCoeff() > 0.9 * bound);

  auto g = mnist::dcgan_generator<double>(rng);
  nn::init::dcgan_normal(*g, rng);
  const auto& w = dynamic_cast<nn::Dense<double>&>((*g)[0]).weight().value();
  const double mean = w.array().mean();
  const double stddev = std::sqrt((w.array() - mean).square().mean());
  CHECK(std::abs(mean) < 1e-3);
  CHECK(stddev == doctest::Approx(0.02).epsilon(0.01));
  const auto& gamma = dynamic_cast<nn::BatchNorm<double>&>((*g)[1]).weight().value();
  CHECK(gamma.array().mean() == doctest::Approx(1.0).epsilon(0.01));
}

TEST_CASE("he_normal_hidden: hidden layers N(0, sqrt(2 / fan_in)) with zero biases, the output layer kept") {
  Rng rng(2);
  auto g = mnist::dense_generator<double>(rng);
  const auto layer = [&](std::size_t i) -> nn::Dense<double>& { return dynamic_cast<nn::Dense<double>&>((*g)[i]); };
  const Tensor<double> output_weight = layer(6).weight().value();
  nn::init::he_normal_hidden(*g, rng);
  for (std::size_t i : {0, 2, 4}) {
    const auto& w = layer(i).weight().value();
    const double fan_in = static_cast<double>(w.dim(1));
    const double mean = w.array().mean();
    CHECK(std::abs(mean) < 0.01 * std::sqrt(2 / fan_in));
    CHECK(std::sqrt((w.array() - mean).square().mean()) == doctest::Approx(std::sqrt(2 / fan_in)).epsilon(0.02));
    CHECK(layer(i).bias().value().array().abs().maxCoeff() == 0);
  }
  CHECK(layer(6).weight().value().array().cwiseEqual(output_weight.array()).all());

  // Why: the spread of G's outputs over different z. PyTorch's default init
  // shrinks its variance about sixfold per ReLU layer; He's keeps it.
  const auto spread = [&](nn::Sequential<double>& model) {
    NoGrad no_grad;
    Rng z_rng(3);
    const Tensor<double> out = model(Var<double>(Tensor<double>::randn({256, mnist::kLatent}, z_rng))).value();
    Eigen::Map<const Eigen::Array<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> a(out.data(), 256, 784);
    return std::sqrt((a.rowwise() - a.colwise().mean()).square().mean());
  };
  Rng same(2);
  auto pytorch_default = mnist::dense_generator<double>(same);
  CHECK(spread(*g) > 8 * spread(*pytorch_default));  // about 12x for these three hidden layers
}

TEST_CASE("predict runs a model in eval mode, in batches, without gradient, and restores its mode") {
  Rng rng(3);
  auto g = mnist::dense_bn_generator<float>(rng);  // BatchNorm: eval mode uses the running statistics
  const Tensor<float> z = Tensor<float>::randn({7, 100}, rng);
  g->eval();
  const Tensor<float> whole = (*g)(Var<float>(z)).value();
  g->train();
  const Tensor<float> batched = nn::predict(*g, z, 3);  // batches of 3, 3 and 1
  CHECK(g->is_training());
  CHECK(batched.shape() == whole.shape());
  for (Index i = 0; i < whole.numel(); ++i) CHECK(batched[i] == doctest::Approx(whole[i]).epsilon(1e-6));
  CHECK_THROWS_WITH_AS(nn::predict(*g, z, 0), doctest::Contains("batch size >= 1, found 0"), Error);
  CHECK_THROWS_WITH_AS(nn::predict(*g, Tensor<float>(Shape{2, 99})), doctest::Contains("expected"), Error);
  CHECK(g->is_training());  // restored even when the forward throws
}

TEST_CASE("reestimate_batch_norm: the plain average of the batches' statistics, dropout off, modes restored") {
  Rng rng(5);
  nn::Sequential<double> model;
  model.add(nn::Dropout<double>(0.5)).add(nn::BatchNorm<double>(2));
  auto& norm = dynamic_cast<nn::BatchNorm<double>&>(model[1]);
  std::vector<Tensor<double>> batches;
  for (Index i = 0; i < 3; ++i) batches.push_back(Tensor<double>::randn({4 + i, 2}, rng));
  for (Index i = 0; i < 3; ++i) batches[i].array() += static_cast<double>(i);  // batches that differ in mean

  // Expected: per feature, the mean over batches of each batch's mean and of
  // its unbiased variance (the inputs unmasked: dropout must stay off).
  std::vector<double> mean(2, 0), var(2, 0);
  for (const auto& b : batches) {
    const Index n = b.dim(0);
    for (Index f = 0; f < 2; ++f) {
      double m = 0, v = 0;
      for (Index r = 0; r < n; ++r) m += b[r * 2 + f] / static_cast<double>(n);
      for (Index r = 0; r < n; ++r) v += (b[r * 2 + f] - m) * (b[r * 2 + f] - m) / static_cast<double>(n - 1);
      mean[f] += m / 3;
      var[f] += v / 3;
    }
  }
  model.train();
  model[0].eval();  // a mixed set of modes, to be restored as it was
  std::size_t calls = 0;
  nn::reestimate_batch_norm(model, 3, [&]() -> const Tensor<double>& { return batches[calls++]; });
  CHECK(calls == 3);
  for (Index f = 0; f < 2; ++f) {
    CHECK(norm.running_mean()[f] == doctest::Approx(mean[f]).epsilon(1e-12));
    CHECK(norm.running_var()[f] == doctest::Approx(var[f]).epsilon(1e-12));
  }
  CHECK(model.is_training());
  CHECK_FALSE(model[0].is_training());
  CHECK(norm.is_training());

  // Afterwards the statistics move again with momentum 0.1.
  const double before = norm.running_mean()[0];
  {
    NoGrad no_grad;
    model.eval();
    norm.train();
    model(Var<double>(batches[0]));
  }
  double first_mean = 0;
  for (Index r = 0; r < 4; ++r) first_mean += batches[0][r * 2] / 4;
  CHECK(norm.running_mean()[0] == doctest::Approx(0.9 * before + 0.1 * first_mean).epsilon(1e-12));

  nn::Sequential<double> plain;
  plain.add(nn::Dense<double>(2, 2));
  nn::reestimate_batch_norm(plain, 3, [&]() -> const Tensor<double>& { return batches[calls++]; });
  CHECK(calls == 3);  // no BatchNorm: no input drawn
  CHECK_THROWS_WITH_AS(nn::reestimate_batch_norm(model, 0, [&]() -> const Tensor<double>& { return batches[0]; }),
                       doctest::Contains("at least one batch, found 0"), Error);
  model.set_trainable(false);
  CHECK_THROWS_WITH_AS(nn::reestimate_batch_norm(model, 1, [&]() -> const Tensor<double>& { return batches[0]; }),
                       doctest::Contains("frozen BatchNorm"), Error);
  CHECK(norm.is_training());  // modes restored after the throw
}

TEST_CASE("Dropout drops a share p, scales the rest by 1/(1-p), and draws masks independent of each other") {
  // 300,000 elements: the standard error of a share near 0.3 is below 0.001,
  // so each bound below is several standard errors wide and still tight.
  constexpr double p = 0.3;
  const Tensor<float> ones = Tensor<float>::full({1000, 300}, 1.0f);
  nn::Dropout<float> drop(p);
  drop.rng().seed(7);
  const Tensor<float> a = drop(Var<float>(ones)).value(), b = drop(Var<float>(ones)).value();
  const auto n = static_cast<double>(a.numel());
  double dropped = 0, both = 0, same = 0, scaled = 0;
  for (Index i = 0; i < a.numel(); ++i) {
    dropped += a[i] == 0;
    scaled += a[i] == static_cast<float>(1 / (1 - p));
    same += (a[i] == 0) == (b[i] == 0);
    if (i + 1 < a.numel()) both += a[i] == 0 && a[i + 1] == 0;
  }
  CHECK(dropped / n == doctest::Approx(p).epsilon(0.02));
  CHECK(dropped + scaled == n);
  // Independent masks agree on p^2 + (1-p)^2 of the elements; neighbours are both dropped p^2 of the time.
  CHECK(same / n == doctest::Approx(p * p + (1 - p) * (1 - p)).epsilon(0.02));
  CHECK(both / n == doctest::Approx(p * p).epsilon(0.05));
}
