/// \file
/// The per-iteration record of a run: losses.csv and its plot, and the
/// arrays a checkpoint carries so that a resumed run keeps its whole history.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "tinygan/core/atomic_file.hpp"
#include "tinygan/gan/trainer.hpp"
#include "tinygan/io/checkpoint.hpp"
#include "tinygan/io/plot.hpp"

namespace tinygan::gan {

class History {
 public:
  void add(std::int64_t iteration, std::int64_t epoch, const StepStats& s, double seconds) {
    columns_[0].push_back(static_cast<double>(iteration));
    columns_[1].push_back(static_cast<double>(epoch));
    columns_[2].push_back(s.d_loss);
    columns_[3].push_back(s.g_loss);
    columns_[4].push_back(s.d_acc_real);
    columns_[5].push_back(s.d_acc_fake);
    columns_[6].push_back(seconds);
  }
  std::size_t size() const { return columns_[0].size(); }

  void write_csv(const std::string& path) const {
    std::string text = "iteration,epoch,d_loss,g_loss,d_acc_real,d_acc_fake,seconds\n";
    char line[256];
    for (std::size_t i = 0; i < size(); ++i) {
      std::snprintf(line, sizeof line, "%lld,%lld,%.6g,%.6g,%.4g,%.4g,%.3f\n",
                    static_cast<long long>(columns_[0][i]), static_cast<long long>(columns_[1][i]),
                    columns_[2][i], columns_[3][i], columns_[4][i], columns_[5][i], columns_[6][i]);
      text += line;
    }
    write_file_atomically(path, text);
  }

  void write_plot(const std::string& path, const std::string& title) const {
    io::save_line_plot(path, title, "iteration", "loss",
                       {io::Series{"D loss", columns_[0], columns_[2], {214, 39, 40}},
                        io::Series{"G loss", columns_[0], columns_[3], {31, 119, 180}}});
  }

  /// Stored in a checkpoint as float32 columns (a checkpoint holds one dtype): a resumed
  /// run's earlier rows keep about 7 significant digits; iterations are exact up to 2^24.
  void save(io::Checkpoint<float>& c) const {
    for (std::size_t k = 0; k < kColumns; ++k) {
      Tensor<float> t(Shape{static_cast<Index>(size())});
      for (std::size_t i = 0; i < size(); ++i) t[static_cast<Index>(i)] = static_cast<float>(columns_[k][i]);
      c.put_tensor("history." + std::to_string(k), std::move(t));
    }
  }
  void load(const io::Checkpoint<float>& c) {
    for (std::size_t k = 0; k < kColumns; ++k) {
      const Tensor<float>& t = c.tensor("history." + std::to_string(k));
      check(k == 0 || t.numel() == static_cast<Index>(columns_[0].size()), c.source(), ": history column ", k, " has ",
            t.numel(), " rows, column 0 has ", columns_[0].size());
      columns_[k].assign(t.begin(), t.end());
    }
  }

  /// The last time stamp, so that a resumed run's seconds keep counting.
  double last_seconds() const { return size() ? columns_[6].back() : 0.0; }

 private:
  static constexpr std::size_t kColumns = 7;
  std::vector<double> columns_[kColumns];
};

}  // namespace tinygan::gan
