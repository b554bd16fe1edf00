/// \file
/// Sample quality while a GAN trains: at the end of every epoch the sampling
/// generator runs on one fixed set of inputs, its outputs are scored with the
/// classifier (gan/metrics.hpp: FID, Inception score, confident share, classes
/// covered), a row goes to metrics.csv, the FID curve to fid_plot.png, and the
/// generator with the lowest FID so far to generator_best.safetensors.
#pragma once

#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "tinygan/core/atomic_file.hpp"
#include "tinygan/gan/metrics.hpp"
#include "tinygan/io/checkpoint.hpp"
#include "tinygan/io/plot.hpp"
#include "tinygan/io/state_dict.hpp"
#include "tinygan/nn/predict.hpp"

namespace tinygan::gan {

/// How the generator's outputs become classifier inputs ([-1, 1], light on dark).
struct SampleRange {
  bool unit = false;    // outputs in [0, 1] rather than [-1, 1]
  bool invert = false;  // dark-on-white outputs (the inverted model): scored as 1 - x
};

class QualityTracker {
 public:
  struct Row {
    std::int64_t epoch = 0, iteration = 0;
    double seconds = 0;
    metrics::Score score;
  };

  /// classifier: takes images of shape `input` [C, H, W] (ClassifierInfo::input,
  /// from models::load_classifier); the generator's outputs are reshaped to it.
  /// inputs: the generator's fixed inputs, [N, ...], run in batches of `batch`.
  /// labels: for a conditional generator, the class asked of each input [N];
  /// its scores then carry the share of samples classified as asked.
  QualityTracker(std::shared_ptr<nn::Sequential<float>> classifier, const Shape& input, Tensor<double> reference,
                 Tensor<float> inputs, SampleRange range, Index batch = 500, Tensor<float> labels = {})
      : classifier_(std::move(classifier)),
        input_(input),
        reference_(std::move(reference)),
        inputs_(std::move(inputs)),
        labels_(std::move(labels)),
        range_(range),
        batch_(batch) {
    check(classifier_ != nullptr, "QualityTracker: expected a classifier, found none");
    check(input_.rank() == 3 && input_.numel() >= 1,
          "QualityTracker: expected the classifier's input shape [C, H, W], found ", input_);
    check(inputs_.rank() >= 2 && inputs_.dim(0) >= 2, "QualityTracker: expected at least two inputs, found ",
          inputs_.shape());
  }

  /// The shape one sample is scored as: the classifier's input [C, H, W].
  const Shape& input_shape() const { return input_; }

  /// Scores the generator (in eval mode for the call) and records the row.
  /// Its outputs must hold C * H * W values per sample (any layout: [N, C, H, W],
  /// [N, H, W] or flat [N, C * H * W]).
  const Row& evaluate(nn::Module<float>& generator, std::int64_t epoch, std::int64_t iteration, double seconds) {
    Tensor<float> samples = nn::predict(generator, inputs_, batch_, asked());
    check(samples.rank() >= 1 && samples.shape().per_sample() == input_.numel(), "QualityTracker: the classifier takes ",
          input_[0], " x ", input_[1], " x ", input_[2], " images (", input_.numel(),
          " values each); the generator's samples have shape ", samples.shape());
    samples.reshape(Shape{samples.dim(0), input_[0], input_[1], input_[2]});
    for (float& v : samples) {
      const float x = range_.unit ? 2 * v - 1 : v;
      v = range_.invert ? -x : x;  // 1 - v in [0, 1] is -x in [-1, 1]
    }
    rows_.push_back(
        {epoch, iteration, seconds, metrics::score_samples(*classifier_, input_, samples, reference_, asked())});
    return rows_.back();
  }

  bool last_is_best() const {
    for (std::size_t i = 0; i + 1 < rows_.size(); ++i)
      if (rows_[i].score.fid <= rows_.back().score.fid) return false;
    return !rows_.empty();
  }
  const std::vector<Row>& rows() const { return rows_; }

  void write_csv(const std::string& path) const {
    std::string text =
        "epoch,iteration,seconds,fid,inception_score,confident_share,classes_covered,smallest_class_share,samples";
    text += asked() ? ",class_accuracy\n" : "\n";
    char line[256];
    for (const Row& r : rows_) {
      std::snprintf(line, sizeof line, "%lld,%lld,%.3f,%.6g,%.6g,%.4g,%d,%.4g,%lld", static_cast<long long>(r.epoch),
                    static_cast<long long>(r.iteration), r.seconds, r.score.fid, r.score.inception_score,
                    r.score.confident_share, r.score.classes_covered, r.score.smallest_class_share,
                    static_cast<long long>(r.score.count));
      text += line;
      if (asked()) {
        std::snprintf(line, sizeof line, ",%.4f", r.score.class_accuracy);
        text += line;
      }
      text += "\n";
    }
    write_file_atomically(path, text);
  }

  void write_plot(const std::string& path, const std::string& title) const {
    std::vector<double> x, y;
    for (const Row& r : rows_) {
      x.push_back(static_cast<double>(r.iteration));
      y.push_back(r.score.fid);
    }
    io::save_line_plot(path, title, "iteration", "FID (lower is better)",
                       {io::Series{"FID", x, y, {44, 160, 44}}});
  }

  /// A checkpoint carries the rows (not the histograms) so that a resumed run keeps its curve.
  void save(io::Checkpoint<float>& c) const {
    const auto column = [&](auto field) {
      Tensor<float> t(Shape{static_cast<Index>(rows_.size())});
      for (std::size_t i = 0; i < rows_.size(); ++i) t[static_cast<Index>(i)] = static_cast<float>(field(rows_[i]));
      return t;
    };
    c.put_tensor("quality.epoch", column([](const Row& r) { return static_cast<double>(r.epoch); }));
    c.put_tensor("quality.iteration", column([](const Row& r) { return static_cast<double>(r.iteration); }));
    c.put_tensor("quality.seconds", column([](const Row& r) { return r.seconds; }));
    c.put_tensor("quality.fid", column([](const Row& r) { return r.score.fid; }));
    c.put_tensor("quality.inception_score", column([](const Row& r) { return r.score.inception_score; }));
    c.put_tensor("quality.confident_share", column([](const Row& r) { return r.score.confident_share; }));
    c.put_tensor("quality.classes_covered", column([](const Row& r) { return static_cast<double>(r.score.classes_covered); }));
    c.put_tensor("quality.smallest_class_share", column([](const Row& r) { return r.score.smallest_class_share; }));
    c.put_tensor("quality.samples", column([](const Row& r) { return static_cast<double>(r.score.count); }));
    if (asked()) c.put_tensor("quality.class_accuracy", column([](const Row& r) { return r.score.class_accuracy; }));
  }
  void load(const io::Checkpoint<float>& c) {
    rows_.clear();
    if (!c.has_tensor("quality.fid")) return;  // a run that scored nothing
    const Tensor<float>& fid = c.tensor("quality.fid");
    for (const char* column : {"quality.epoch", "quality.iteration", "quality.seconds", "quality.inception_score",
                               "quality.confident_share", "quality.classes_covered", "quality.samples",
                               "quality.smallest_class_share", "quality.class_accuracy"})
      check(!c.has_tensor(column) || c.tensor(column).numel() == fid.numel(), c.source(), ": ", column, " has ",
            c.has_tensor(column) ? c.tensor(column).numel() : 0, " rows, quality.fid has ", fid.numel());
    for (Index i = 0; i < fid.numel(); ++i) {
      Row r;
      r.epoch = static_cast<std::int64_t>(c.tensor("quality.epoch")[i]);
      r.iteration = static_cast<std::int64_t>(c.tensor("quality.iteration")[i]);
      r.seconds = c.tensor("quality.seconds")[i];
      r.score.fid = fid[i];
      r.score.inception_score = c.tensor("quality.inception_score")[i];
      r.score.confident_share = c.tensor("quality.confident_share")[i];
      r.score.classes_covered = static_cast<int>(c.tensor("quality.classes_covered")[i]);
      r.score.count = static_cast<Index>(c.tensor("quality.samples")[i]);
      if (c.has_tensor("quality.smallest_class_share"))  // absent in checkpoints before 0.1's last change
        r.score.smallest_class_share = c.tensor("quality.smallest_class_share")[i];
      if (c.has_tensor("quality.class_accuracy")) r.score.class_accuracy = c.tensor("quality.class_accuracy")[i];
      rows_.push_back(r);
    }
  }

 private:
  std::shared_ptr<nn::Sequential<float>> classifier_;
  Shape input_;
  Tensor<double> reference_;
  const Tensor<float>* asked() const { return labels_.numel() ? &labels_ : nullptr; }

  Tensor<float> inputs_, labels_;
  SampleRange range_;
  Index batch_;
  std::vector<Row> rows_;
};

}  // namespace tinygan::gan
