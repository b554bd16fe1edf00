/// \file
/// Sample quality, as the project measures it with its own classifier
/// (gan/classifier.hpp, for images of any shape C x H x W): the Fréchet
/// distance between feature sets (FID), the Inception score, the per-class
/// histogram, the share of confident samples and the number of classes
/// covered. Lower FID is better; with the committed MNIST classifier, 10,000
/// real training digits score 0.1 against the test set. FIDs from different
/// classifiers are on different scales: compare only scores made with one
/// classifier.
#pragma once

#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <limits>
#include <cmath>
#include <string>
#include <vector>

#include "tinygan/gan/classifier.hpp"

namespace tinygan::metrics {

constexpr double kConfident = 0.9;  // a sample is confident when its top class has at least this probability
constexpr double kCovered = 0.02;   // a class is covered when at least this share of samples falls in it

/// The functions that instantiate Eigen's eigen solver or run a model are
/// templates: a translation unit that includes gan.hpp and never scores pays
/// nothing for them at compile time (they cost ~15 s of every -O2 build).
namespace detail {
template <class S>
using Matrix = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;
template <class S>
using RowMatrix = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class S>
using Vector = Eigen::Matrix<S, Eigen::Dynamic, 1>;

template <class S>
struct Moments {
  Vector<S> mean;
  Matrix<S> covariance;  // unbiased (N - 1), as numpy.cov and the reference FID code compute it
};

template <class S>
Moments<S> moments(const Tensor<S>& x, const char* which) {
  check(x.rank() == 2 && x.dim(0) >= 2 && x.dim(1) >= 1, "frechet_distance: expected ", which,
        " features [N, D] with N >= 2, found shape ", x.shape());
  for (Index i = 0; i < x.numel(); ++i)
    check(std::isfinite(x[i]), "frechet_distance: ", which, " feature ", i % x.dim(1), " of row ", i / x.dim(1),
          " is ", x[i], ", expected a finite value");
  const Eigen::Map<const RowMatrix<S>> m(x.data(), x.dim(0), x.dim(1));
  Moments<S> out;
  out.mean = m.colwise().mean().transpose();
  const Matrix<S> centered = m.rowwise() - out.mean.transpose();
  out.covariance = centered.transpose() * centered / static_cast<S>(x.dim(0) - 1);
  return out;
}

/// Eigenvalues of a symmetric matrix, clamped at 0: a covariance is positive
/// semi-definite, and round-off must not turn a zero eigenvalue into a NaN root.
template <class S>
Eigen::SelfAdjointEigenSolver<Matrix<S>> eigen(const Matrix<S>& symmetric, int options) {
  Eigen::SelfAdjointEigenSolver<Matrix<S>> solver(symmetric, options);
  check(solver.info() == Eigen::Success, "frechet_distance: the eigen decomposition of a ", symmetric.rows(), "x",
        symmetric.cols(), " covariance did not converge");
  return solver;
}

/// sqrt(max(v, 0)) per eigenvalue; a scalar lambda, as GCC 12 warns falsely
/// inside the AVX-512 intrinsics of Eigen's vectorized max and sqrt (bug 105593).
template <class S>
Vector<S> clamped_roots(const Vector<S>& values) {
  return values.unaryExpr([](S v) { return std::sqrt(std::max(v, S(0))); });
}
}  // namespace detail

/// FID between two feature sets [N, D] and [M, D]:
///   |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr sqrt(S_a S_b).
/// tr sqrt(S_a S_b) is computed through the symmetric S_a^1/2 S_b S_a^1/2
/// (the same eigenvalues), whose square root an eigen decomposition gives with
/// real, clamped eigenvalues; so rank-deficient covariances (fewer samples
/// than features, dead features) give a finite answer where scipy's sqrtm
/// gives complex noise. Round-off can leave -1e-12 for identical sets: the
/// result is clamped at 0.
template <class S>
S frechet_distance(const Tensor<S>& a, const Tensor<S>& b) {
  const detail::Moments<S> ma = detail::moments(a, "the first set's"), mb = detail::moments(b, "the second set's");
  check(a.dim(1) == b.dim(1), "frechet_distance: expected two feature sets of one width, found ", a.dim(1),
        " and ", b.dim(1), " features");
  const auto ea = detail::eigen(ma.covariance, Eigen::ComputeEigenvectors);
  const detail::Vector<S> roots = detail::clamped_roots<S>(ea.eigenvalues());
  const detail::Matrix<S> root_a = ea.eigenvectors() * roots.asDiagonal() * ea.eigenvectors().transpose();
  detail::Matrix<S> product = root_a * mb.covariance * root_a;
  product = 0.5 * (product + product.transpose());  // symmetric up to round-off; make it exactly so
  const auto ep = detail::eigen(product, Eigen::EigenvaluesOnly);
  const S trace_root = detail::clamped_roots<S>(ep.eigenvalues()).sum();
  const S fid = (ma.mean - mb.mean).squaredNorm() + ma.covariance.trace() + mb.covariance.trace() -
                     2.0 * trace_root;
  return std::max(fid, S(0));
}

namespace detail {
/// Rows of class probabilities: [N, C], each in [0, 1] and summing to 1.
inline void check_probabilities(const Tensor<double>& p, const char* op) {
  check(p.rank() == 2 && p.dim(0) >= 1 && p.dim(1) >= 1, op, ": expected probabilities [N, C], found shape ",
        p.shape());
  const Index c = p.dim(1);
  for (Index i = 0; i < p.dim(0); ++i) {
    double sum = 0;
    for (Index j = 0; j < c; ++j) {
      const double v = p[i * c + j];
      check(v >= 0 && v <= 1, op, ": probability [", i, ", ", j, "] is ", v, ", expected a value in [0, 1]");
      sum += v;
    }
    check(std::abs(sum - 1) <= 1e-6 * static_cast<double>(c), op, ": row ", i, " sums to ", sum,
          ", expected 1 (pass softmax probabilities, not logits)");
  }
}

inline Index argmax_row(const Tensor<double>& p, Index i) {
  const double* row = p.data() + i * p.dim(1);
  return std::max_element(row, row + p.dim(1)) - row;  // the first of equal maxima
}
}  // namespace detail

/// exp(mean over samples of KL(p(y|x) || p(y))), p(y) the mean of the rows:
/// from 1 (every sample has the same class distribution) to C (confident and
/// evenly spread over the C classes). Computed over all samples in one split,
/// not the 10-split mean of the original Inception score.
inline double inception_score(const Tensor<double>& probabilities) {
  detail::check_probabilities(probabilities, "inception_score");
  const Index n = probabilities.dim(0), c = probabilities.dim(1);
  std::vector<double> marginal(static_cast<std::size_t>(c), 0.0);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < c; ++j) marginal[static_cast<std::size_t>(j)] += probabilities[i * c + j];
  for (double& m : marginal) m /= static_cast<double>(n);
  double kl = 0;
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < c; ++j) {
      const double p = probabilities[i * c + j];
      if (p > 0) kl += p * (std::log(p) - std::log(marginal[static_cast<std::size_t>(j)]));  // 0 log 0 = 0
    }
  return std::exp(kl / static_cast<double>(n));
}

/// The share of samples whose most probable class is j, for each class j.
inline std::vector<double> class_histogram(const Tensor<double>& probabilities) {
  detail::check_probabilities(probabilities, "class_histogram");
  const Index n = probabilities.dim(0);
  std::vector<double> shares(static_cast<std::size_t>(probabilities.dim(1)), 0.0);
  for (Index i = 0; i < n; ++i) shares[static_cast<std::size_t>(detail::argmax_row(probabilities, i))] += 1;
  for (double& s : shares) s /= static_cast<double>(n);
  return shares;
}

/// The share of samples whose most probable class has probability >= threshold.
inline double confident_share(const Tensor<double>& probabilities, double threshold = kConfident) {
  detail::check_probabilities(probabilities, "confident_share");
  check(threshold >= 0 && threshold <= 1, "confident_share: expected a threshold in [0, 1], found ", threshold);
  const Index n = probabilities.dim(0);
  Index confident = 0;
  for (Index i = 0; i < n; ++i)
    confident += probabilities[i * probabilities.dim(1) + detail::argmax_row(probabilities, i)] >= threshold;
  return static_cast<double>(confident) / static_cast<double>(n);
}

/// How many classes hold at least min_share of the samples: 10 for a
/// generator that draws every digit, 1 for one collapsed onto a single glyph.
inline int classes_covered(const std::vector<double>& histogram, double min_share = kCovered) {
  check(!histogram.empty(), "classes_covered: expected a histogram of at least one class, found none");
  check(min_share >= 0 && min_share <= 1, "classes_covered: expected a share in [0, 1], found ", min_share);
  return static_cast<int>(std::count_if(histogram.begin(), histogram.end(), [&](double s) { return s >= min_share; }));
}

/// Each sample's nearest reference image and its Euclidean distance, images
/// compared as flat vectors (any shapes [N, ...] of one image size).
/// |a - b|^2 = |a|^2 + |b|^2 - 2 a.b in double, 512 samples per matrix product.
struct Nearest {
  std::vector<Index> index;      // per sample: the nearest reference's row
  std::vector<double> distance;  // per sample: the distance to it
};

template <class T>
Nearest nearest_references(const Tensor<T>& samples, const Tensor<T>& reference) {
  check(samples.rank() >= 2 && reference.rank() >= 2 && samples.dim(0) >= 1 && reference.dim(0) >= 1,
        "nearest_references: expected [N, ...] samples and references, found ", samples.shape(), " and ",
        reference.shape());
  const Index size = samples.numel() / samples.dim(0);
  check(reference.numel() / reference.dim(0) == size, "nearest_references: samples of ", samples.shape(),
        " and references of ", reference.shape(), " differ in image size");
  const Eigen::Map<const detail::RowMatrix<T>> a(samples.data(), samples.dim(0), size), b(reference.data(), reference.dim(0), size);
  const detail::RowMatrix<double> refs = b.template cast<double>();
  const Eigen::VectorXd ref_norms = refs.rowwise().squaredNorm();
  constexpr Index kBlock = 512;
  Nearest out;
  for (Index start = 0; start < a.rows(); start += kBlock) {
    const Index n = std::min(kBlock, a.rows() - start);
    const detail::RowMatrix<double> block = a.middleRows(start, n).template cast<double>();
    const detail::Matrix<double> dots = block * refs.transpose();
    for (Index i = 0; i < n; ++i) {
      Eigen::Index at = 0;
      const double nearest = (ref_norms.transpose().array() - 2 * dots.row(i).array()).minCoeff(&at);
      out.index.push_back(static_cast<Index>(at));
      out.distance.push_back(std::sqrt(std::max(block.row(i).squaredNorm() + nearest, 0.0)));
    }
  }
  return out;
}

/// Mean Euclidean distance from each sample to its nearest reference image.
template <class T>
double mean_nearest_distance(const Tensor<T>& samples, const Tensor<T>& reference) {
  const Nearest nearest = nearest_references(samples, reference);
  double total = 0;
  for (double d : nearest.distance) total += d;
  return total / static_cast<double>(nearest.distance.size());
}

/// The mean pixel of a frame `width` pixels wide around images [N, C, H, W],
/// [N, H, W] or square [N, H * H]: where centred digits have (almost) no ink,
/// so their background.
inline double frame_mean(const Tensor<float>& images, Index width = 4) {
  check(images.rank() >= 2 && images.dim(0) >= 1, "frame_mean: expected images [N, ...], found ", images.shape());
  const Index size = images.numel() / images.dim(0);
  Index height = 0, across = 0;
  if (images.rank() >= 3) {
    height = images.dim(images.rank() - 2), across = images.dim(images.rank() - 1);
  } else {
    height = across = static_cast<Index>(std::lround(std::sqrt(static_cast<double>(size))));
    check(height * across == size, "frame_mean: expected square images [N, H * H] (or [N, C, H, W]), found ",
          images.shape());
  }
  check(2 * width < height && 2 * width < across, "frame_mean: expected images wider and higher than 2 x ", width,
        ", found ", images.shape());
  const Index planes = images.numel() / (height * across);  // images x channels
  double sum = 0;
  Index count = 0;
  for (Index n = 0; n < planes; ++n)
    for (Index y = 0; y < height; ++y)
      for (Index x = 0; x < across; ++x)
        if (y < width || y >= height - width || x < width || x >= across - width) {
          sum += images[(n * height + y) * across + x];
          ++count;
        }
  return sum / static_cast<double>(count);
}

struct Score {
  Index count = 0;                 // samples scored
  double fid = 0;                  // against the reference features
  double inception_score = 0;
  double confident_share = 0;      // with kConfident
  int classes_covered = 0;         // with kCovered
  double smallest_class_share = 0; // the rarest class's share: mode collapse drives it to 0
  std::vector<double> histogram;   // share of samples per class
  double class_accuracy = -1;      // samples asked for a class: the share classified as it; -1: none asked
};

/// Each class's FID: the features of the samples asked for class k against
/// those of the reference images of class k (rows of `features` and
/// `reference`, their classes in `asked` and `reference_classes`). Over a
/// tenth of the samples FID is biased upward: compare these with each other,
/// not with the FID of all samples. A class with fewer than two of either is NaN.
template <class S>
std::vector<double> per_class_fid(const Tensor<S>& features, const std::vector<int>& asked, const Tensor<S>& reference,
                                  const std::vector<int>& reference_classes, int classes) {
  check(static_cast<Index>(asked.size()) == features.dim(0) &&
            static_cast<Index>(reference_classes.size()) == reference.dim(0),
        "per_class_fid: expected a class for every row, found ", asked.size(), " for ", features.dim(0), " samples and ",
        reference_classes.size(), " for ", reference.dim(0), " references");
  const auto rows_of = [](const Tensor<S>& all, const std::vector<int>& of, int k) {
    const Index width = all.dim(1);
    const Index n = std::count(of.begin(), of.end(), k);
    Tensor<S> out(Shape{n, width});
    Index row = 0;
    for (std::size_t i = 0; i < of.size(); ++i)
      if (of[i] == k) std::copy_n(all.data() + static_cast<Index>(i) * width, width, out.data() + width * row++);
    return out;
  };
  std::vector<double> fid;
  for (int k = 0; k < classes; ++k) {
    const Tensor<S> mine = rows_of(features, asked, k), theirs = rows_of(reference, reference_classes, k);
    fid.push_back(mine.dim(0) >= 2 && theirs.dim(0) >= 2 ? static_cast<double>(frechet_distance(mine, theirs))
                                                         : std::numeric_limits<double>::quiet_NaN());
  }
  return fid;
}

/// The classifier's features of real images [N, C, H, W] (or [N, H, W] when
/// C is 1) of its input shape `input` (ClassifierInfo::input), in its input
/// range [-1, 1]: the reference that samples are compared with, e.g. a data
/// set's test split.
template <class T>
Tensor<double> reference_features(nn::Sequential<T>& classifier, const Shape& input, const Tensor<T>& images) {
  return models::features_and_logits(classifier, input, images).features;
}

/// Scores samples of the classifier's input shape `input` [C, H, W]
/// ([N, C, H, W], or [N, H, W] when C is 1) in [-1, 1], the classifier's input
/// range, against reference features (reference_features above). Samples of
/// another shape are refused. With `asked` (a conditional G's samples: the
/// class each was asked for), also the share classified as that class.
template <class T>
Score score_samples(nn::Sequential<T>& classifier, const Shape& input, const Tensor<T>& samples,
                    const Tensor<double>& reference, const Tensor<T>* asked = nullptr) {
  check(!asked || asked->shape() == Shape{samples.dim(0)}, "score_samples: expected the classes asked for [",
        samples.dim(0), "], one per sample, found ", asked ? asked->shape() : Shape{});
  const models::ClassifierOutputs out = models::features_and_logits(classifier, input, samples);
  Score s;
  s.count = samples.dim(0);
  s.fid = frechet_distance(out.features, reference);
  s.inception_score = inception_score(out.probabilities);
  s.confident_share = confident_share(out.probabilities);
  s.histogram = class_histogram(out.probabilities);
  s.classes_covered = classes_covered(s.histogram);
  s.smallest_class_share = *std::min_element(s.histogram.begin(), s.histogram.end());
  if (asked) {
    const Index classes = out.probabilities.dim(1);
    Index right = 0;
    for (Index i = 0; i < s.count; ++i) {
      const double* p = out.probabilities.data() + i * classes;
      right += std::max_element(p, p + classes) - p == static_cast<Index>((*asked)[i]);
    }
    s.class_accuracy = static_cast<double>(right) / static_cast<double>(s.count);
  }
  return s;
}

}  // namespace tinygan::metrics
