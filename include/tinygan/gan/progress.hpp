/// \file
/// The progress line of a training run: epoch and iteration, percentage,
/// rate, ETA and running averages of the losses and D's accuracy. Redrawn in
/// place on a terminal; one line per interval when the output is a file or pipe.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

namespace tinygan::gan {

class Progress {
 public:
  /// every: iterations per printed line when not on a terminal; total 0: no
  /// fixed length (a run that stops when its time is up).
  Progress(std::int64_t total, std::int64_t iterations_per_epoch, std::int64_t every, std::FILE* out = stderr)
      : total_(total), per_epoch_(iterations_per_epoch), every_(every), out_(out),
        tty_(::isatty(::fileno(out)) == 1), start_(Clock::now()), last_draw_(start_) {}

  void start_at(std::int64_t iteration) { first_ = iteration; }
  /// A run that stops after `seconds` more: the ETA is never later than that.
  void set_time_limit(double seconds) { time_limit_ = seconds; }

  /// Called after each iteration (1-based count of finished iterations).
  void update(std::int64_t done, double d_loss, double g_loss, double d_acc) {
    sum_d_ += d_loss;
    sum_g_ += g_loss;
    sum_acc_ += d_acc;
    ++count_;
    const auto now = Clock::now();
    const bool line_due = done % every_ == 0 || done == total_;
    const bool redraw_due = tty_ && (now - last_draw_ > std::chrono::milliseconds(200) || done == total_);
    if (!line_due && !redraw_due) return;
    draw(done, now, line_due);
    last_draw_ = now;
    if (line_due) sum_d_ = sum_g_ = sum_acc_ = 0, count_ = 0;
  }

  /// Ends a redrawn line so that later output starts on a fresh one.
  void finish() {
    if (tty_ && drawn_) std::fputc('\n', out_);
    drawn_ = false;
  }

  /// A line of its own (an epoch's score) between progress lines.
  void note(const std::string& line) {
    finish();
    std::fprintf(out_, "%s\n", line.c_str());
    std::fflush(out_);
  }

  double seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

 private:
  using Clock = std::chrono::steady_clock;

  static std::string clock_text(double seconds) {
    const long s = static_cast<long>(seconds + 0.5);
    char buf[32];
    if (s >= 3600)
      std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
      std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
    return buf;
  }

  void draw(std::int64_t done, Clock::time_point now, bool keep) {
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double rate = elapsed > 0 ? static_cast<double>(done - first_) / elapsed : 0;
    double eta = rate > 0 && total_ > 0 ? static_cast<double>(total_ - done) / rate : 1e18;
    if (time_limit_ > 0) eta = std::min(eta, std::max(time_limit_ - elapsed, 0.0));
    if (eta >= 1e18) eta = 0;
    const double n = count_ > 0 ? static_cast<double>(count_) : 1;
    const std::int64_t epoch = per_epoch_ > 0 ? (done - 1) / per_epoch_ + 1 : 1;
    char where[96];
    if (total_ > 0) {
      const std::int64_t epochs = per_epoch_ > 0 ? (total_ + per_epoch_ - 1) / per_epoch_ : 1;
      std::snprintf(where, sizeof where, "epoch %lld/%lld  iter %lld/%lld (%5.1f%%)", static_cast<long long>(epoch),
                    static_cast<long long>(epochs), static_cast<long long>(done), static_cast<long long>(total_),
                    100.0 * static_cast<double>(done) / static_cast<double>(total_));
    } else {
      std::snprintf(where, sizeof where, "epoch %lld  iter %lld", static_cast<long long>(epoch),
                    static_cast<long long>(done));
    }
    std::fprintf(out_, "%s%s  %.2f it/s  ETA %s  D %.4f  G %.4f  D acc %5.1f%%%s", tty_ ? "\r\033[K" : "", where,
                 rate, clock_text(eta).c_str(), sum_d_ / n, sum_g_ / n, 100 * sum_acc_ / n, tty_ && !keep ? "" : "\n");
    if (tty_ && keep) drawn_ = false;
    else drawn_ = tty_;
    std::fflush(out_);
  }

  std::int64_t total_, per_epoch_, every_;
  std::FILE* out_;
  bool tty_;
  bool drawn_ = false;
  Clock::time_point start_, last_draw_;
  std::int64_t first_ = 0;
  double time_limit_ = 0;  // seconds; 0: none
  double sum_d_ = 0, sum_g_ = 0, sum_acc_ = 0;
  std::int64_t count_ = 0;
};

}  // namespace tinygan::gan
