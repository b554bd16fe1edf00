/// \file
/// Line plots as PNG, drawn in C++ so that training curves need no Python:
/// white background, a framed plot area with 1-2-5 ticks and light grid lines,
/// tick labels, axis labels, a title and a legend row under the title.
///
/// Long, noisy series (more points than the picture is pixels wide, such as a
/// GAN's per-iteration losses) are drawn twice: the raw values as a light,
/// thin line, and over them a centred moving average (window: 2% of the
/// points, at least 5) as a 2-pixel line in the series' colour; the legend
/// names the window. Shorter series are drawn as they are, 2 pixels thick.
///
/// Points where x or y is not finite (or beyond +-1e300) are skipped and their
/// neighbours joined, in the order given. An empty or all-NaN series, or no
/// series at all, still gives a valid plot (with a "no data" note).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "tinygan/io/canvas.hpp"
#include "tinygan/io/png.hpp"

namespace tinygan::io {

struct Series {
  std::string label;
  std::vector<double> x;  // may be left empty: the points are then numbered 0, 1, 2, ...
  std::vector<double> y;
  std::array<std::uint8_t, 3> color{31, 119, 180};
};

namespace detail {
constexpr int kTickLength = 5;
constexpr Color kInk{40, 40, 40}, kFrame{90, 90, 90}, kGrid{228, 228, 228}, kMuted{150, 150, 150};

inline bool plottable(double v) { return std::isfinite(v) && std::abs(v) <= 1e300; }

/// One axis: the shown range and the tick values inside it, 1, 2 or 5 times a power of ten apart.
struct Axis {
  double lo = 0, hi = 1, step = 0.2;
  std::vector<double> ticks;
  std::vector<std::string> labels;
};

inline Axis make_axis(double lo, double hi, int target_ticks) {
  // A single value (or values equal to 9 digits): centre it in a small range.
  if (!(hi - lo > 1e-9 * std::max(std::abs(lo), std::abs(hi)))) {
    const double d = lo == 0 ? 1.0 : std::abs(lo) * 0.1;
    lo -= d, hi += d;
  }
  const double margin = 0.04 * (hi - lo);  // a little air between the curves and the frame
  Axis a{lo - margin, hi + margin, 0, {}, {}};
  const double raw = (a.hi - a.lo) / std::max(target_ticks, 2);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / magnitude;
  a.step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * magnitude;  // the nearest nice step
  const int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(a.step) + 1e-9)));
  const bool scientific = std::max(std::abs(a.lo), std::abs(a.hi)) >= 1e7 || a.step < 1e-5;
  const double first = std::ceil(a.lo / a.step);
  for (int k = 0; k < 100 && (first + k) * a.step <= a.hi; ++k) {
    double v = (first + k) * a.step;
    if (std::abs(v) < a.step * 1e-6) v = 0;  // no "-0"
    char text[32];
    if (scientific)
      std::snprintf(text, sizeof text, "%.3g", v);
    else
      std::snprintf(text, sizeof text, "%.*f", decimals, v);
    a.ticks.push_back(v);
    a.labels.emplace_back(text);
  }
  return a;
}

/// Centred moving average over the finite points (in order); the window
/// shrinks at both ends.
inline std::vector<double> moving_average(const std::vector<double>& v, std::size_t window) {
  std::vector<double> prefix(v.size() + 1, 0.0), out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) prefix[i + 1] = prefix[i] + v[i];
  const std::size_t half = window / 2;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::size_t a = i >= half ? i - half : 0, b = std::min(v.size(), i + half + 1);
    out[i] = (prefix[b] - prefix[a]) / static_cast<double>(b - a);
  }
  return out;
}

inline Color lighter(Color c, double amount) {
  Color out;
  for (std::size_t i = 0; i < 3; ++i)
    out[i] = static_cast<std::uint8_t>(std::lround(c[i] + (255 - c[i]) * amount));
  return out;
}

/// A series' finite points, and what the legend says about it.
struct Prepared {
  std::vector<double> x, y, smooth;  // smooth: empty unless drawn smoothed
  std::size_t window = 0;
  std::string legend;
  Color color{};
};
}  // namespace detail

/// Draws the plot into a canvas (save_line_plot writes it as PNG).
inline Canvas render_line_plot(const std::string& title, const std::string& x_label,
                               const std::string& y_label, const std::vector<Series>& series,
                               int width = 900, int height = 520) {
  using namespace detail;
  check(width >= 240 && height >= 180 && width <= Canvas::kMaxSide && height <= Canvas::kMaxSide,
        "line plot '", title, "': expected a size between 240x180 and ", Canvas::kMaxSide, "x",
        Canvas::kMaxSide, ", found ", width, "x", height);

  // Finite points and data ranges.
  std::vector<Prepared> prepared;
  constexpr double kInf = std::numeric_limits<double>::infinity();
  double xmin = kInf, xmax = -kInf, ymin = kInf, ymax = -kInf;
  std::size_t most_points = 0;
  for (const auto& s : series) {
    check(s.x.empty() || s.x.size() == s.y.size(), "line plot '", title, "': series '", s.label,
          "' has ", s.x.size(), " x values but ", s.y.size(), " y values");
    Prepared p;
    p.color = s.color;
    for (std::size_t i = 0; i < s.y.size(); ++i) {
      const double x = s.x.empty() ? static_cast<double>(i) : s.x[i], y = s.y[i];
      if (!plottable(x) || !plottable(y)) continue;
      p.x.push_back(x), p.y.push_back(y);
      xmin = std::min(xmin, x), xmax = std::max(xmax, x);
      ymin = std::min(ymin, y), ymax = std::max(ymax, y);
    }
    most_points = std::max(most_points, p.x.size());
    p.legend = s.label.empty() ? "(unnamed)" : s.label;
    if (p.x.empty()) p.legend += " (no data)";
    prepared.push_back(std::move(p));
  }
  const bool no_data = most_points == 0;
  if (no_data) xmin = 0, xmax = 1, ymin = 0, ymax = 1;

  Canvas canvas(width, height);
  // The font drawn 2x reads well from 640x400 up; smaller plots use it 1:1.
  // The title stays large while it fits.
  const int scale = width >= 640 && height >= 400 ? 2 : 1;
  const int title_scale = Canvas::text_width(title, 2) <= width - 20 ? 2 : 1;
  const int label_h = Canvas::text_height(scale);

  // Ticks first (their labels decide the left margin); their count follows the plot's size.
  const Axis ax = make_axis(xmin, xmax, std::max(3, (width - 160) / 110));
  const Axis ay = make_axis(ymin, ymax, std::max(3, (height - 160) / 60));
  int y_tick_w = 0;
  for (const auto& l : ay.labels) y_tick_w = std::max(y_tick_w, Canvas::text_width(l, scale));

  // Legend entries, wrapped into centred rows under the title.
  constexpr int kSwatch = 22, kEntryGap = 24;
  std::vector<std::vector<std::size_t>> legend_rows;
  std::vector<int> row_widths, entry_widths;
  for (std::size_t i = 0; i < prepared.size(); ++i) {
    auto& p = prepared[i];
    if (p.x.size() > static_cast<std::size_t>(width)) {
      p.window = std::max<std::size_t>(5, p.x.size() / 50) | 1;  // odd, so it is centred
      p.smooth = moving_average(p.y, p.window);
      p.legend += " (mean of " + std::to_string(p.window) + ")";
    }
    const int w = kSwatch + 6 + Canvas::text_width(p.legend, scale);
    entry_widths.push_back(w);
    if (legend_rows.empty() || row_widths.back() + kEntryGap + w > width - 40) {
      legend_rows.emplace_back();
      row_widths.push_back(w);
    } else {
      row_widths.back() += kEntryGap + w;
    }
    legend_rows.back().push_back(i);
  }
  // A legend never takes more than a quarter of the height; the rest is summed up as "+N more".
  const auto max_rows = static_cast<std::size_t>(std::max(1, height / 4 / (label_h + 10)));
  std::size_t legend_more = 0;
  for (std::size_t r = max_rows; r < legend_rows.size(); ++r) legend_more += legend_rows[r].size();
  legend_rows.resize(std::min(legend_rows.size(), max_rows));
  const auto more_width = [&] {
    return kEntryGap + Canvas::text_width("+" + std::to_string(legend_more) + " more", scale);
  };
  if (legend_more > 0) {  // make room for the note on the last row
    while (legend_rows.back().size() > 1 && row_widths[max_rows - 1] + more_width() > width - 40) {
      row_widths[max_rows - 1] -= kEntryGap + entry_widths[legend_rows.back().back()];
      legend_rows.back().pop_back();
      ++legend_more;
    }
    row_widths[max_rows - 1] += more_width();
  }

  // Layout, from the outside in.
  int top = 12;
  const int title_y = top;
  if (!title.empty()) top += Canvas::text_height(title_scale) + 12;
  const int legend_y = top;
  top += static_cast<int>(legend_rows.size()) * (label_h + 10);
  const int plot_top = top + 8;
  const int plot_left = 12 + (y_label.empty() ? 0 : label_h + 16) + y_tick_w + 6 + kTickLength;
  // Room on the right for half of the last x tick label, which is centred on its tick.
  const int last_x_label = ax.labels.empty() ? 0 : Canvas::text_width(ax.labels.back(), scale);
  const int plot_right = width - std::max(24, last_x_label / 2 + 8);
  const int plot_bottom =
      height - 14 - (x_label.empty() ? 0 : label_h + 10) - label_h - 6 - kTickLength;
  check(plot_right - plot_left >= 40 && plot_bottom - plot_top >= 40, "line plot '", title,
        "': ", width, "x", height, " leaves no room for the plot area");

  // Data to pixel coordinates: the axis ranges span the plot area's first to last pixel.
  const auto px = [&](double x) {
    return plot_left + (x - ax.lo) / (ax.hi - ax.lo) * (plot_right - 1 - plot_left);
  };
  const auto py = [&](double y) {
    return plot_bottom - 1 - (y - ay.lo) / (ay.hi - ay.lo) * (plot_bottom - 1 - plot_top);
  };

  // Grid lines, tick marks and tick labels.
  for (std::size_t i = 0; i < ax.ticks.size(); ++i) {
    const int x = static_cast<int>(std::lround(px(ax.ticks[i])));
    canvas.fill_rect(x, plot_top, x + 1, plot_bottom, kGrid);
    canvas.fill_rect(x, plot_bottom, x + 1, plot_bottom + kTickLength, kFrame);
    const int w = Canvas::text_width(ax.labels[i], scale);
    const int left = std::max(2, std::min(x - w / 2, width - 2 - w));  // inside the canvas
    canvas.text(left, plot_bottom + kTickLength + 6, ax.labels[i], kInk, scale);
  }
  for (std::size_t i = 0; i < ay.ticks.size(); ++i) {
    const int y = static_cast<int>(std::lround(py(ay.ticks[i])));
    canvas.fill_rect(plot_left, y, plot_right, y + 1, kGrid);
    canvas.fill_rect(plot_left - kTickLength, y, plot_left, y + 1, kFrame);
    const int w = Canvas::text_width(ay.labels[i], scale);
    canvas.text(plot_left - kTickLength - 6 - w, y - label_h / 2, ay.labels[i], kInk, scale);
  }
  canvas.outline_rect(plot_left - 1, plot_top - 1, plot_right + 1, plot_bottom + 1, kFrame);

  // Curves: raw (light) under smoothed, clipped to the plot area.
  canvas.set_clip(plot_left, plot_top, plot_right, plot_bottom);
  const auto polyline = [&](const std::vector<double>& xs, const std::vector<double>& ys,
                            Color c, int thickness) {
    if (xs.size() == 1) {  // a lone point: a small square, or it would not show
      const int x = static_cast<int>(std::lround(px(xs[0])));
      const int y = static_cast<int>(std::lround(py(ys[0])));
      canvas.fill_rect(x - 2, y - 2, x + 3, y + 3, c);
    }
    for (std::size_t i = 1; i < xs.size(); ++i)
      canvas.line(px(xs[i - 1]), py(ys[i - 1]), px(xs[i]), py(ys[i]), c, thickness);
  };
  for (const auto& p : prepared)
    if (!p.smooth.empty()) polyline(p.x, p.y, lighter(p.color, 0.65), 1);
  for (const auto& p : prepared) polyline(p.x, p.smooth.empty() ? p.y : p.smooth, p.color, 2);
  canvas.reset_clip();
  if (no_data) {
    const std::string note = "no data";
    canvas.text((plot_left + plot_right - Canvas::text_width(note, 2)) / 2,
                (plot_top + plot_bottom - Canvas::text_height(2)) / 2, note, kMuted, 2);
  }

  // Title, legend, axis labels.
  if (!title.empty())
    canvas.text((width - Canvas::text_width(title, title_scale)) / 2, title_y, title, kInk, title_scale);
  for (std::size_t r = 0; r < legend_rows.size(); ++r) {
    int x = (width - row_widths[r]) / 2;
    const int y = legend_y + static_cast<int>(r) * (label_h + 10);
    for (std::size_t i : legend_rows[r]) {
      const auto& p = prepared[i];
      canvas.fill_rect(x, y + label_h / 2 - 1, x + kSwatch, y + label_h / 2 + 2, p.color);
      canvas.text(x + kSwatch + 6, y, p.legend, kInk, scale);
      x += kSwatch + 6 + Canvas::text_width(p.legend, scale) + kEntryGap;
    }
    if (legend_more > 0 && r + 1 == legend_rows.size())
      canvas.text(x, y, "+" + std::to_string(legend_more) + " more", kMuted, scale);
  }
  if (!x_label.empty())
    canvas.text((plot_left + plot_right - Canvas::text_width(x_label, scale)) / 2,
                height - 12 - label_h, x_label, kInk, scale);
  if (!y_label.empty()) {  // drawn smaller if it is longer than the plot is high
    const int s = Canvas::text_width(y_label, scale) <= plot_bottom - plot_top ? scale : 1;
    canvas.text(12, (plot_top + plot_bottom + Canvas::text_width(y_label, s)) / 2, y_label,
                kInk, s, /*vertical=*/true);
  }
  return canvas;
}

/// Saves a line plot as an RGB PNG, atomically.
inline void save_line_plot(const std::string& path, const std::string& title,
                           const std::string& x_label, const std::string& y_label,
                           const std::vector<Series>& series, int width = 900, int height = 520) {
  const Canvas canvas = [&] {
    try {
      return render_line_plot(title, x_label, y_label, series, width, height);
    } catch (const Error& e) {
      throw Error(path + ": " + e.what());  // name the file the plot was meant for
    }
  }();
  save_png(path, canvas.pixels(), canvas.width(), canvas.height(), 3);
}

}  // namespace tinygan::io
