// gan/metrics.hpp and gan/classifier.hpp: FID against closed forms, the
// Inception score, histogram, confident share and coverage on hand-made
// probabilities, the classifier's shapes, and (when the committed weights
// are there) the classifier on the fixture's test digits. Never the network,
// never the full MNIST. The classifier's files and other input shapes:
// test_classifier.cpp.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "tinygan/gan.hpp"  // (unity batches: each file includes what it uses)
#include "tinygan/gan/metrics.hpp"
#include "tinygan/nn/summary.hpp"

using namespace tinygan;
using namespace tinygan::testing;

namespace {

const std::string kClassifier = std::string(TINYGAN_FIXTURE_DIR) + "/../../assets/mnist_classifier.safetensors";

// n samples of N(mean, stddev^2 I) in D = mean.size() dimensions.
Tensor<double> gaussian(Index n, const std::vector<double>& mean, double stddev, Rng& rng) {
  const Index d = static_cast<Index>(mean.size());
  Tensor<double> t(Shape{n, d});
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < d; ++j) t(i, j) = mean[static_cast<std::size_t>(j)] + stddev * rng.normal();
  return t;
}

Tensor<double> rows(Index c, std::initializer_list<std::initializer_list<double>> values) {
  return Tensor<double>::from(Shape{static_cast<Index>(values.size()), c}, [&] {
    std::vector<double> flat;
    for (const auto& r : values) flat.insert(flat.end(), r.begin(), r.end());
    return flat;
  }());
}

}  // namespace

TEST_CASE("fid: a set against itself is 0") {
  Rng rng(1);
  const Tensor<double> a = gaussian(500, {0, 1, -2, 3, 0.5, 0, 0, 1}, 1.5, rng);
  CHECK(metrics::frechet_distance(a, a) < 1e-9);
}

TEST_CASE("fid: two Gaussians match the closed form") {
  // N(0, I) against N(mu, 4 I) in D = 4: |mu|^2 + D (1 + 4 - 2 sqrt(1 * 4)) = |mu|^2 + 4.
  Rng rng(2);
  const std::vector<double> mu{1, -1, 0.5, 2};
  const Tensor<double> a = gaussian(40000, {0, 0, 0, 0}, 1, rng);
  const Tensor<double> b = gaussian(40000, mu, 2, rng);
  const double expected = 1 + 1 + 0.25 + 4 + 4;
  CHECK(metrics::frechet_distance(a, b) == doctest::Approx(expected).epsilon(0.02));
  // Shifting the mean alone adds exactly |shift|^2.
  Tensor<double> shifted = a;
  for (Index i = 0; i < a.dim(0); ++i) shifted(i, 2) += 3;
  CHECK(metrics::frechet_distance(a, shifted) == doctest::Approx(9).epsilon(1e-9));
}

TEST_CASE("fid: symmetric in its two sets") {
  Rng rng(3);
  const Tensor<double> a = gaussian(300, {0, 0, 0, 0, 0, 0}, 1, rng);
  const Tensor<double> b = gaussian(200, {1, 0, 2, 0, 0, -1}, 0.5, rng);
  const double ab = metrics::frechet_distance(a, b), ba = metrics::frechet_distance(b, a);
  CHECK(ab > 1);
  CHECK(ab == doctest::Approx(ba).epsilon(1e-9));
}

TEST_CASE("fid: stable for rank-deficient covariances") {
  Rng rng(4);
  // 64 features that are combinations of 3 (fewer samples than features, and dead features set to 0).
  const Index n = 40, d = 64;
  const Tensor<double> basis = gaussian(3, std::vector<double>(d, 0.0), 1, rng);
  const auto low_rank = [&](double offset) {
    Tensor<double> t(Shape{n, d});
    for (Index i = 0; i < n; ++i) {
      const double w[3] = {rng.normal(), rng.normal(), rng.normal()};
      for (Index j = 0; j < d; ++j)
        t(i, j) = j % 5 == 0 ? 0.0 : offset + w[0] * basis(0, j) + w[1] * basis(1, j) + w[2] * basis(2, j);
    }
    return t;
  };
  const Tensor<double> a = low_rank(0), b = low_rank(0.1);
  const double fid = metrics::frechet_distance(a, b);
  CHECK(std::isfinite(fid));
  CHECK(fid >= 0);
  CHECK(metrics::frechet_distance(a, a) < 1e-6);
  // Constant sets: both covariances 0, so FID is the squared distance of the means.
  CHECK(metrics::frechet_distance(Tensor<double>::full({10, 3}, 1), Tensor<double>::full({5, 3}, 3)) ==
        doctest::Approx(12));
}

TEST_CASE("fid: refuses sets it cannot compare") {
  Rng rng(5);
  const Tensor<double> a = gaussian(10, {0, 0, 0}, 1, rng), b = gaussian(10, {0, 0}, 1, rng);
  CHECK(contains(error_of([&] { metrics::frechet_distance(a, b); }), "3 and 2 features"));
  CHECK(contains(error_of([&] { metrics::frechet_distance(gaussian(1, {0, 0, 0}, 1, rng), a); }), "N >= 2"));
  Tensor<double> bad = a;
  bad(4, 1) = std::nan("");
  CHECK(contains(error_of([&] { metrics::frechet_distance(a, bad); }), "feature 1 of row 4"));
}

TEST_CASE("metrics: Inception score of one-hot and of identical rows") {
  // Confident and spread evenly over 10 classes: IS = 10.
  Tensor<double> one_hot(Shape{100, 10});
  for (Index i = 0; i < 100; ++i) one_hot(i, i % 10) = 1;
  CHECK(metrics::inception_score(one_hot) == doctest::Approx(10));
  // Every sample has the same distribution: KL to the marginal is 0, IS = 1.
  const Tensor<double> same = rows(4, {{0.1, 0.2, 0.3, 0.4}, {0.1, 0.2, 0.3, 0.4}, {0.1, 0.2, 0.3, 0.4}});
  CHECK(metrics::inception_score(same) == doctest::Approx(1));
  // Half the samples confidently 0, half confidently 1: IS = 2.
  CHECK(metrics::inception_score(rows(3, {{1, 0, 0}, {0, 1, 0}})) == doctest::Approx(2));
}

TEST_CASE("metrics: histogram, confident share and classes covered on hand-made probabilities") {
  const Tensor<double> p = rows(3, {{0.95, 0.05, 0.0},
                                     {0.1, 0.8, 0.1},
                                     {0.0, 0.02, 0.98},
                                     {0.5, 0.25, 0.25},
                                     {0.9, 0.1, 0.0}});
  const std::vector<double> h = metrics::class_histogram(p);
  REQUIRE(h.size() == 3);
  CHECK(h[0] == doctest::Approx(0.6));
  CHECK(h[1] == doctest::Approx(0.2));
  CHECK(h[2] == doctest::Approx(0.2));
  CHECK(metrics::confident_share(p) == doctest::Approx(0.6));  // 0.95, 0.98 and 0.9 (>= 0.9)
  CHECK(metrics::confident_share(p, 0.5) == doctest::Approx(1.0));
  CHECK(metrics::classes_covered(h) == 3);
  CHECK(metrics::classes_covered(h, 0.5) == 1);
  CHECK(metrics::classes_covered({0.97, 0.01, 0.02, 0.0}) == 2);
}

TEST_CASE("metrics: refuse logits and malformed probabilities") {
  CHECK(contains(error_of([] { metrics::inception_score(rows(2, {{2.0, -1.0}})); }), "expected a value in [0, 1]"));
  CHECK(contains(error_of([] { metrics::class_histogram(rows(2, {{0.3, 0.3}})); }), "sums to 0.6"));
  CHECK(contains(error_of([] { metrics::confident_share(Tensor<double>(Shape{4})); }), "[N, C]"));
  CHECK(contains(error_of([] { metrics::classes_covered({}); }), "at least one class"));
}

TEST_CASE("metrics: the classifier's shapes, size and batching") {
  Rng rng(6);
  auto c = models::mnist_classifier<float>(rng);
  const Shape input{1, 28, 28};
  CHECK(c->trainable_parameter_count() == 112778);
  CHECK(c->total_parameter_count() * 4 < 500 * 1000);  // the committed weights stay small
  const Tensor<float> images = Tensor<float>::rand({5, 1, 28, 28}, rng, -1, 1);
  c->train();
  const models::ClassifierOutputs all = models::features_and_logits(*c, input, images, 5);
  CHECK(c->is_training());  // the modes come back
  CHECK(all.features.shape() == Shape{5, models::kClassifierFeatures});
  CHECK(all.probabilities.shape() == Shape{5, 10});
  for (Index i = 0; i < 5; ++i) {
    double sum = 0;
    for (Index j = 0; j < 10; ++j) sum += all.probabilities(i, j);
    CHECK(sum == doctest::Approx(1));
  }
  // Eval mode treats each image alone, so the batch size changes nothing.
  const models::ClassifierOutputs twos = models::features_and_logits(*c, input, images.reshaped({5, 28, 28}), 2);
  for (Index i = 0; i < all.features.numel(); ++i) CHECK(twos.features[i] == doctest::Approx(all.features[i]));
  for (Index i = 0; i < all.probabilities.numel(); ++i)
    CHECK(twos.probabilities[i] == doctest::Approx(all.probabilities[i]));
  CHECK(contains(error_of([&] { models::features_and_logits(*c, input, Tensor<float>(Shape{2, 1, 14, 14})); }),
                 "expected images [N, 1, 28, 28] or [N, 28, 28], found [2, 1, 14, 14]"));
  CHECK(contains(error_of([&] { models::features_and_logits(*c, input, images.reshaped({5, 784})); }),
                 "found [5, 784]"));
}

TEST_CASE("metrics: the committed classifier recognizes the fixture's test digits") {
  if (!std::filesystem::exists(kClassifier)) {
    MESSAGE("skipped: " << kClassifier << " does not exist (train it with examples/image_classifier)");
    return;
  }
  models::ClassifierInfo info;
  auto c = models::load_classifier(kClassifier, &info);
  CHECK(info == models::ClassifierInfo{Shape{1, 28, 28}, "mnist", 10});
  data::MnistOptions options;
  options.scaling = data::Scaling::minus_one_to_one;
  const data::MnistSet test = data::load_mnist(kFixture, data::Split::test, options);
  REQUIRE(test.size() == 100);
  const models::ClassifierOutputs out = models::features_and_logits(*c, info.input, test.images);
  Index right = 0;
  for (Index i = 0; i < test.size(); ++i)
    right += metrics::detail::argmax_row(out.probabilities, i) == test.labels[static_cast<std::size_t>(i)];
  CHECK(right >= 97);

  // Real digits against real digits: a small FID, every class covered, confident.
  const Tensor<double> reference = metrics::reference_features(*c, info.input, test.images);
  CHECK(reference.shape() == Shape{100, models::kClassifierFeatures});
  const Tensor<float> train = data::load_mnist(kFixture, data::Split::train, options).images;
  const metrics::Score s = metrics::score_samples(*c, info.input, train, reference);
  CHECK(s.count == 300);
  CHECK(std::isfinite(s.fid));
  CHECK(s.classes_covered == 10);
  CHECK(s.confident_share > 0.9);
  CHECK(s.inception_score > 8);
}

TEST_CASE("metrics: score_samples refuses samples of another shape than the classifier's") {
  Rng rng(12);
  auto c = models::mnist_classifier<float>(rng);
  const Tensor<double> reference = Tensor<double>::zeros({4, models::kClassifierFeatures});
  const Shape input{1, 28, 28};
  const std::string wrong =
      error_of([&] { metrics::score_samples(*c, input, Tensor<float>(Shape{4, 3, 28, 28}), reference); });
  CHECK(contains(wrong, "expected images [N, 1, 28, 28] or [N, 28, 28], found [4, 3, 28, 28]"));
  CHECK(contains(error_of([&] { metrics::score_samples(*c, input, Tensor<float>(Shape{4, 32, 32}), reference); }),
                 "found [4, 32, 32]"));
  // A 3 x 16 x 16 classifier takes [N, 3, 16, 16] only.
  auto colour = models::classifier<float>(Shape{3, 16, 16}, 4, rng);
  const Tensor<float> samples = Tensor<float>::rand({6, 3, 16, 16}, rng, -1, 1);
  const Tensor<double> features = metrics::reference_features(*colour, Shape{3, 16, 16}, samples);
  CHECK(features.shape() == Shape{6, models::kClassifierFeatures});
  const metrics::Score s = metrics::score_samples(*colour, Shape{3, 16, 16}, samples, features);
  CHECK(s.fid < 1e-4);  // a set against itself
  CHECK(s.histogram.size() == 4);
  CHECK(contains(error_of([&] { metrics::score_samples(*colour, Shape{3, 16, 16}, samples.reshaped({18, 16, 16}), features); }),
                 "expected images [N, 3, 16, 16], found [18, 16, 16]"));
}

TEST_CASE("metrics: nearest-image distance against a brute-force search") {
  Rng rng(11);
  // 700 samples: more than one block of 512, so the blocking is exercised.
  const Tensor<float> samples = Tensor<float>::rand({700, 1, 4, 4}, rng, 0, 1);
  const Tensor<float> reference = Tensor<float>::rand({37, 16}, rng, 0, 1);
  double expected = 0;
  const metrics::Nearest found = metrics::nearest_references(samples, reference);
  Index same_index = 0;
  for (Index i = 0; i < 700; ++i) {
    double nearest = 1e300;
    Index nearest_row = -1;
    for (Index r = 0; r < 37; ++r) {
      double sum = 0;
      for (Index k = 0; k < 16; ++k) sum += std::pow(static_cast<double>(samples[i * 16 + k]) - reference[r * 16 + k], 2);
      if (sum < nearest) nearest = sum, nearest_row = r;
    }
    expected += std::sqrt(nearest);
    same_index += found.index[static_cast<std::size_t>(i)] == nearest_row;
  }
  CHECK(same_index == 700);
  CHECK(metrics::mean_nearest_distance(samples, reference) == doctest::Approx(expected / 700).epsilon(1e-9));
  // A set against itself is at distance 0 (up to round-off of the expanded square).
  CHECK(metrics::mean_nearest_distance(reference, reference) == doctest::Approx(0).epsilon(1e-6));
  CHECK(contains(error_of([&] { metrics::mean_nearest_distance(samples, Tensor<float>(Shape{3, 15})); }),
                 "differ in image size"));
}

TEST_CASE("metrics: the frame mean reads only the pixels near the edge") {
  Tensor<float> images(Shape{2, 1, 28, 28});
  images.fill(1.0f);
  for (Index n = 0; n < 2; ++n)  // ink everywhere inside the 4-pixel frame
    for (Index y = 4; y < 24; ++y)
      for (Index x = 4; x < 24; ++x) images[(n * 28 + y) * 28 + x] = 0.0f;
  CHECK(metrics::frame_mean(images) == doctest::Approx(1.0));
  images[0] = 0.0f;  // one dark corner pixel out of 2 x (784 - 400) frame pixels
  CHECK(metrics::frame_mean(images) == doctest::Approx(1.0 - 1.0 / 768));
  CHECK(metrics::frame_mean(images, 1) == doctest::Approx(1.0 - 1.0 / (2 * 108)));
  CHECK(contains(error_of([] { metrics::frame_mean(Tensor<float>(Shape{2, 15})); }), "expected square images"));
  // Channels and non-square images: every channel's frame counts.
  Tensor<float> wide(Shape{1, 3, 10, 12});
  wide.fill(0.0f);
  for (Index ch = 0; ch < 3; ++ch) wide[(ch * 10 + 0) * 12 + 0] = 1.0f;  // each channel's top-left pixel
  CHECK(metrics::frame_mean(wide, 1) == doctest::Approx(3.0 / (3 * (10 * 12 - 8 * 10))));
  CHECK(contains(error_of([] { metrics::frame_mean(Tensor<float>(Shape{1, 3, 8, 30})); }), "wider and higher than 2 x 4"));
}
