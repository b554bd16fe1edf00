// A small benchmark harness: repeated timings summarized by their median and
// spread, heap allocations counted by the replaced operator new of
// count_allocations.cpp, peak RSS, and one JSON object per line for
// bench/compare_torch.py. (Google Benchmark picks its own repetition counts
// and cannot count allocations or put PyTorch in the same table; this does
// exactly what the comparison needs in a page of code.)
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace tinygan::bench {

// Calls to the global operator new since the program started (count_allocations.cpp).
std::uint64_t allocation_count();

struct Timing {
  double median_ms = 0, low_ms = 0, high_ms = 0;  // median, 10th and 90th percentiles
  int samples = 0;
  double allocations_per_call = 0;  // operator new calls per timed call
};

// Runs `call` `warmup` times untimed, then `repeats` times timed one by one.
inline Timing measure(const std::function<void()>& call, int warmup, int repeats) {
  for (int i = 0; i < warmup; ++i) call();
  std::vector<double> ms(static_cast<std::size_t>(repeats));
  const std::uint64_t allocations_before = allocation_count();
  for (double& t : ms) {
    const auto start = std::chrono::steady_clock::now();
    call();
    t = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  }
  const std::uint64_t allocations = allocation_count() - allocations_before;
  std::sort(ms.begin(), ms.end());
  const auto at = [&](double q) { return ms[static_cast<std::size_t>(q * static_cast<double>(ms.size() - 1) + 0.5)]; };
  return {at(0.5), at(0.1), at(0.9), repeats, static_cast<double>(allocations) / repeats};
}

inline double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux reports KiB
}

// "a,b,c" -> {"a", "b", "c"}, for the benchmarks' list flags.
inline std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) items.push_back(item);
  return items;
}

// A count from 1 to 100000, or nothing when text is not one.
inline std::optional<int> parse_count(const std::string& text) {
  char* end = nullptr;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end || v < 1 || v > 100000) return std::nullopt;
  return static_cast<int>(v);
}

// A benchmark's command line: a bad one gets one line naming the problem,
// the usage, and exit code 2.
class CommandLine {
 public:
  CommandLine(const char* program, const char* options) : program_(program), options_(options) {}
  [[noreturn]] void fail(const std::string& message) const {
    std::fprintf(stderr, "%s: %s\nUsage: %s %s\n", program_, message.c_str(), program_, options_);
    std::exit(2);
  }
  // A flag's count from 1 to 100000.
  int count(const std::string& flag, const std::string& text) const {
    if (const auto v = parse_count(text)) return *v;
    fail(flag + " expects a count from 1 to 100000, found '" + text + "'");
  }

 private:
  const char* program_;
  const char* options_;
};

// A JSON object on one line, built field by field.
class JsonLine {
 public:
  JsonLine& field(const std::string& key, const std::string& value) {
    return raw(key, "\"" + value + "\"");
  }
  JsonLine& field(const std::string& key, double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.6g", value);
    return raw(key, text);
  }
  JsonLine& field(const std::string& key, int value) { return raw(key, std::to_string(value)); }
  void print() const {
    std::printf("{%s}\n", text_.c_str());
    std::fflush(stdout);
  }

 private:
  JsonLine& raw(const std::string& key, const std::string& value) {
    text_ += (text_.empty() ? "\"" : ", \"") + key + "\": " + value;
    return *this;
  }
  std::string text_;
};

}  // namespace tinygan::bench
