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
/// through a learned bias per class (one_hot(y) times a [classes, 1] weight).
class ToyConditionalD : public nn::Conditional<float> {
 public:
  ToyConditionalD(Index features, Index classes, Rng& rng) : classes_(classes) {
    dense_ = std::make_shared<nn::Dense<float>>(features, 1);
    dense_->initialize(rng);
    register_module("dense", dense_);
    class_bias_ = register_parameter("class_bias", Tensor<float>::zeros({classes, 1}));
  }
  using nn::Conditional<float>::forward;
  Var<float> forward(const Var<float>& x, const Tensor<float>& labels) override {
    Tensor<float> one_hot = Tensor<float>::zeros({labels.dim(0), classes_});
    for (Index i = 0; i < labels.dim(0); ++i) one_hot[i * classes_ + static_cast<Index>(labels[i])] = 1;
    return add((*dense_)(x), matmul(Var<float>(std::move(one_hot)), class_bias_));
  }
  std::string type_name() const override { return "ToyConditionalD"; }
  float class_bias(Index y) const { return class_bias_.value()[y]; }

 private:
  Index classes_;
  std::shared_ptr<nn::Dense<float>> dense_;
  Var<float> class_bias_;
};
}  // namespace

TEST_CASE("a conditional D(x, y) gets each batch's labels through the training loop and learns from them") {
  // 40 "images" of 9 pixels, three of four in class 0. Reals come with their
  // classes, fakes with classes drawn uniformly, so D's bias rises for the
  // class it sees more often among reals (0) and falls for the other (1).
  Rng rng(11);
  const Tensor<float> images = Tensor<float>::rand({40, 9}, rng, -1, 1);
  std::vector<std::uint8_t> labels(40, 0);
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

TEST_CASE("the training loop refuses a conditional G, whose grids and scores would need labels") {
  Rng rng(14);
  auto g = std::make_shared<ToyConditionalD>(6, 2, rng);  // any conditional module stands in for G here
  gan::Trainer trainer(g, testing::discriminator(rng), gan::Recipe{});
  const Tensor<float> images = Tensor<float>::rand({16, 1}, rng, -1, 1);
  gan::ImageSource source(images, rng, {.latent = 6, .real_batch = 4, .fake_batch = 4, .g_batch = 4});
  gan::LoopOptions options;
  options.iterations = 1;
  options.out_dir = (std::filesystem::temp_directory_path() / "tinygan_test_conditional_g").string();
  CHECK_THROWS_WITH_AS(gan::TrainingLoop(trainer, source, options),
                       doctest::Contains("a conditional generator (ToyConditionalD) needs labels"), Error);
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
