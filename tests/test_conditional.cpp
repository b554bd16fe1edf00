// Room for a second input: a toy conditional D(x, y) trained through the
// same training loop as every model, on a labelled source.
#include <doctest/doctest.h>

#include <filesystem>
#include <memory>

#include "small_gan.hpp"
#include "test_util.hpp"
#include "tinygan/gan.hpp"
#include "tinygan/gan/training_loop.hpp"

using namespace tinygan;

namespace {
/// logit = w x + b + bias[y]: a dense critic that also reads the class
/// through a learned bias per class (an embedding of width 1, from zero).
class ToyConditionalD : public nn::Conditional<float> {
 public:
  ToyConditionalD(Index features, Index classes, Rng& rng)
      : dense_(std::make_shared<nn::Dense<float>>(features, 1)),
        class_bias_(std::make_shared<nn::Embedding<float>>(classes, 1)) {
    dense_->initialize(rng);
    class_bias_->weight().value().fill(0);
    register_module("dense", dense_);
    register_module("class_bias", class_bias_);
  }
  using nn::Conditional<float>::forward;
  Var<float> forward(const Var<float>& x, const Tensor<float>& labels) override {
    return add((*dense_)(x), (*class_bias_)(Var<float>(labels)));
  }
  std::string type_name() const override { return "ToyConditionalD"; }
  float class_bias(Index y) { return class_bias_->weight().value()[y]; }

 private:
  std::shared_ptr<nn::Dense<float>> dense_;
  std::shared_ptr<nn::Embedding<float>> class_bias_;
};
}  // namespace

TEST_CASE("a conditional D(x, y) gets each batch's labels through the training loop and learns from them") {
  // 40 "images" of 9 pixels, three of four in class 0. Reals come with their
  // classes, fakes with classes drawn uniformly, so D's bias rises for the
  // class it sees more often among reals (0) and falls for the other (1).
  Rng rng(11);
  const Tensor<float> images = Tensor<float>::rand({40, 9}, rng, -1, 1);
  std::vector<std::int32_t> labels(40, 0);
  for (std::size_t i = 0; i < labels.size(); i += 4) labels[i] = 1;
  auto d = std::make_shared<ToyConditionalD>(9, 2, rng);
  gan::Recipe recipe;
  recipe.d_logits = true;
  recipe.lr_d = 1e-2;  // large steps: the class biases move well clear of noise in 30 iterations
  gan::Trainer trainer(testing::generator(rng), d, recipe);
  Rng noise(12);
  gan::ImageSource source(images, noise, {.latent = 6, .real_batch = 8, .fake_batch = 8, .g_batch = 8}, &labels, 2);
  gan::LoopOptions options;
  options.out_dir = (std::filesystem::temp_directory_path() / "tinygan_test_conditional").string();
  options.iterations = 30;
  options.sample_every = 1000;
  options.log_every = 1000;
  gan::TrainingLoop loop(trainer, source, options);
  CHECK(loop.run() == 0);
  CHECK(trainer.iteration() == 30);
  INFO("class biases " << d->class_bias(0) << ", " << d->class_bias(1));
  CHECK(d->class_bias(0) > 0.05f);
  CHECK(d->class_bias(1) < -0.05f);
  // The same sample gets another score as another class.
  NoGrad no_grad;
  const Tensor<float> x = images.reshaped({40, 9});
  Tensor<float> as0 = Tensor<float>::zeros({40}), as1 = Tensor<float>::full({40}, 1);
  CHECK((*d)(Var<float>(x), as0).value()[0] != (*d)(Var<float>(x), as1).value()[0]);
  // Called without labels, it says what it needs.
  CHECK_THROWS_WITH_AS((*d)(Var<float>(x)), doctest::Contains("takes labels beside its input"), Error);
  std::filesystem::remove_all(options.out_dir);
}

TEST_CASE("the training loop refuses a conditional G on a source without labels") {
  Rng rng(14);
  auto g = std::make_shared<ToyConditionalD>(6, 2, rng);  // any conditional module stands in for G here
  gan::Trainer trainer(g, testing::discriminator(rng), gan::Recipe{});
  const Tensor<float> images = Tensor<float>::rand({16, 1}, rng, -1, 1);
  gan::ImageSource source(images, rng, {.latent = 6, .real_batch = 4, .fake_batch = 4, .g_batch = 4});
  gan::LoopOptions options;
  options.iterations = 1;
  options.out_dir = (std::filesystem::temp_directory_path() / "tinygan_test_conditional_g").string();
  CHECK_THROWS_WITH_AS(gan::TrainingLoop(trainer, source, options),
                       doctest::Contains("a conditional generator (ToyConditionalD) needs labelled data"), Error);
}

TEST_CASE("a conditional D refuses a batch without labels, naming itself") {
  Rng rng(13);
  auto d = std::make_shared<ToyConditionalD>(9, 2, rng);
  gan::Recipe recipe;
  recipe.d_logits = true;
  gan::Trainer trainer(testing::generator(rng), d, recipe);
  const testing::SmallBatches b(rng);
  CHECK_THROWS_WITH_AS(trainer.d_step(b.real, b.noise), doctest::Contains("ToyConditionalD: a conditional model needs the labels"),
                       Error);
}

TEST_CASE("the conditioning ops refuse what they cannot join, naming what they expected and found") {
  const Var<float> table(Tensor<float>::zeros({3, 2}), true);
  CHECK_THROWS_WITH(embedding(table, Tensor<float>::from({2}, {0, 3})),
                    doctest::Contains("expected class indices 0 to 2 (whole numbers), found 3 at position 1"));
  CHECK_THROWS_WITH(embedding(table, Tensor<float>::from({2}, {0.5f, 1})), doctest::Contains("found 0.5 at position 0"));
  CHECK_THROWS_WITH(embedding(table, Tensor<float>::from({1}, {-1})), doctest::Contains("found -1"));
  CHECK_THROWS_WITH(embedding(table, Tensor<float>::zeros({2, 1})), doctest::Contains("class indices of shape [N]"));
  const Var<float> a(Tensor<float>::zeros({2, 3, 4, 4})), b(Tensor<float>::zeros({2, 1, 4, 5}));
  CHECK_THROWS_WITH(concat(a, b), doctest::Contains("found [2, 3, 4, 4] and [2, 1, 4, 5]"));
  CHECK_THROWS_WITH(concat(a, Var<float>(Tensor<float>::zeros({3, 1, 4, 4}))), doctest::Contains("alike"));
  CHECK_THROWS_WITH(broadcast_spatial(a, 2, 2), doctest::Contains("expected vectors [N, K], found [2, 3, 4, 4]"));
}

TEST_CASE("two-input modules: outputs, state_dict names, labels out of range, and a summary that shows both inputs") {
  auto g_net = std::make_shared<nn::Sequential<float>>();
  g_net->add(nn::Dense<float>(5 + 3, 4)).add(nn::Tanh<float>());
  nn::LabelConcat<float> g(10, 3, g_net);
  const Tensor<float> labels = Tensor<float>::from({2}, {7, 2});
  CHECK(g(Var<float>(Tensor<float>::zeros({2, 5})), labels).shape() == Shape{2, 4});
  std::vector<std::string> names;
  for (auto& [name, p] : g.named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"embed.weight", "net.0.weight", "net.0.bias"});
  CHECK_THROWS_WITH(g(Var<float>(Tensor<float>::zeros({2, 5})), Tensor<float>::from({2}, {7, 10})),
                    doctest::Contains("expected class indices 0 to 9"));
  CHECK_THROWS_WITH(g(Var<float>(Tensor<float>::zeros({2, 5}))), doctest::Contains("takes labels beside its input"));

  auto body = std::make_shared<nn::Sequential<float>>();
  body->add(nn::Conv2D<float>(nn::Conv2DOptions(1, 2, 3).stride(2).padding(1))).add(nn::Flatten<float>());
  nn::ProjectionDiscriminator<float> d(body, 2 * 4 * 4, 10, false);
  const Var<float> x(Tensor<float>::zeros({2, 1, 8, 8}));
  CHECK(d(x, labels).shape() == Shape{2, 1});
  names.clear();
  for (auto& [name, p] : d.named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"body.0.weight", "body.0.bias", "head.weight", "head.bias", "embed.weight"});
  nn::ProjectionDiscriminator<float> wrong(body, 31, 10, false);
  CHECK_THROWS_WITH(wrong(x, labels), doctest::Contains("expected the body's features [N, 31], found [2, 32]"));

  const std::string table = nn::summary(d, {1, 8, 8}, "D");
  INFO(table);
  CHECK(table.find("input (InputLayer)") != std::string::npos);
  CHECK(table.find("label (InputLayer)") != std::string::npos);
  CHECK(table.find("(None,)") != std::string::npos);
  CHECK(table.find("body.0 (Conv2D)") != std::string::npos);
  CHECK(table.find("embed (Embedding)") != std::string::npos);
  CHECK(table.find("projection (Dot)") != std::string::npos);
  CHECK(table.find("Total params: " + nn::detail::with_commas(d.total_parameter_count())) != std::string::npos);
  const std::string g_table = nn::summary(g, {5});
  INFO(g_table);
  CHECK(g_table.find("concat (Concatenate)") != std::string::npos);
  CHECK(g_table.find("(None, 8)") != std::string::npos);
  CHECK(g_table.find("net.1 (Tanh)") != std::string::npos);
}
