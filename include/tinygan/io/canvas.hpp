/// \file
/// Canvas: an RGB image in memory with the few drawing primitives a plot
/// needs: filled rectangles, thick clipped lines, and text in stb_easy_font's
/// bitmap font (which hands out quads; we fill them as pixel rectangles).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "tinygan/core/error.hpp"

// stb_easy_font is all static functions and tables; not every one is called.
#ifndef TINYGAN_STB_EASY_FONT_INCLUDED
#define TINYGAN_STB_EASY_FONT_INCLUDED
#include "tinygan/core/third_party_begin.hpp"
#include <stb/stb_easy_font.h>
#include "tinygan/core/third_party_end.hpp"
#endif

namespace tinygan::io {

using Color = std::array<std::uint8_t, 3>;

class Canvas {
 public:
  /// Larger than any plot or image grid we draw; keeps width * height * 3 far below 2^31.
  static constexpr int kMaxSide = 16384;

  Canvas(int width, int height, Color background = {255, 255, 255})
      : width_(width), height_(height) {
    check(width >= 1 && height >= 1 && width <= kMaxSide && height <= kMaxSide,
          "Canvas: expected a size between 1x1 and ", kMaxSide, "x", kMaxSide, ", found ", width,
          "x", height);
    pixels_.resize(static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * 3);
    for (std::size_t i = 0; i < pixels_.size(); i += 3)
      std::copy(background.begin(), background.end(), pixels_.begin() + static_cast<std::ptrdiff_t>(i));
    reset_clip();
  }

  int width() const { return width_; }
  int height() const { return height_; }
  /// RGB bytes, row by row from the top, as PNG stores them.
  const std::vector<std::uint8_t>& pixels() const { return pixels_; }

  Color at(int x, int y) const {
    check(x >= 0 && y >= 0 && x < width_ && y < height_, "Canvas: pixel (", x, ", ", y,
          ") outside ", width_, "x", height_);
    const std::size_t i = index(x, y);
    return {pixels_[i], pixels_[i + 1], pixels_[i + 2]};
  }

  /// Drawing only touches pixels inside the clip rectangle [x0, x1) x [y0, y1),
  /// so curves cannot spill out of a plot's frame.
  void set_clip(int x0, int y0, int x1, int y1) {
    clip_ = {std::max(0, x0), std::max(0, y0), std::min(width_, x1), std::min(height_, y1)};
  }
  void reset_clip() { clip_ = {0, 0, width_, height_}; }

  void set(int x, int y, Color c) {
    if (x < clip_[0] || y < clip_[1] || x >= clip_[2] || y >= clip_[3]) return;
    const std::size_t i = index(x, y);
    pixels_[i] = c[0];
    pixels_[i + 1] = c[1];
    pixels_[i + 2] = c[2];
  }

  /// Fills [x0, x1) x [y0, y1).
  void fill_rect(int x0, int y0, int x1, int y1, Color c) {
    x0 = std::max(x0, clip_[0]), y0 = std::max(y0, clip_[1]);
    x1 = std::min(x1, clip_[2]), y1 = std::min(y1, clip_[3]);
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x) set(x, y, c);
  }

  /// A one-pixel outline of [x0, x1) x [y0, y1).
  void outline_rect(int x0, int y0, int x1, int y1, Color c) {
    fill_rect(x0, y0, x1, y0 + 1, c);
    fill_rect(x0, y1 - 1, x1, y1, c);
    fill_rect(x0, y0, x0 + 1, y1, c);
    fill_rect(x1 - 1, y0, x1, y1, c);
  }

  /// A straight line of the given thickness between pixel-centre coordinates.
  /// The segment is clipped in floating point first (Liang-Barsky), so wild
  /// coordinates cost nothing, then walked with Bresenham's algorithm.
  void line(double x0, double y0, double x1, double y1, Color c, int thickness = 1) {
    if (!clip_segment(x0, y0, x1, y1, thickness)) return;
    int ax = static_cast<int>(std::lround(x0)), ay = static_cast<int>(std::lround(y0));
    const int bx = static_cast<int>(std::lround(x1)), by = static_cast<int>(std::lround(y1));
    const int dx = std::abs(bx - ax), dy = -std::abs(by - ay);
    const int sx = ax < bx ? 1 : -1, sy = ay < by ? 1 : -1;
    const int lo = -(thickness - 1) / 2, hi = lo + thickness;
    int err = dx + dy;
    while (true) {
      for (int oy = lo; oy < hi; ++oy)
        for (int ox = lo; ox < hi; ++ox) set(ax + ox, ay + oy, c);
      if (ax == bx && ay == by) break;
      const int e2 = 2 * err;
      if (e2 >= dy) err += dy, ax += sx;
      if (e2 <= dx) err += dx, ay += sy;
    }
  }

  /// Text whose top-left corner is (x, y), each font pixel drawn as scale x
  /// scale pixels. Vertical text reads bottom to top (a y-axis label) with
  /// (x, y) its bottom-left corner. Bytes outside printable ASCII become '?',
  /// as the font has glyphs only for those.
  void text(int x, int y, std::string_view s, Color c, int scale = 1, bool vertical = false) {
    std::string printable = sanitize(s);
    std::vector<char> quads(printable.size() * 1024 + 64);
    const int n = stb_easy_font_print(0, 0, printable.data(), nullptr, quads.data(),
                                      static_cast<int>(quads.size()));
    for (int q = 0; q < n; ++q) {
      // Each quad: four vertices of 16 bytes (x, y, z as floats, then a colour);
      // vertices 0 and 2 are opposite corners of an axis-aligned rectangle.
      float v0[2], v2[2];
      std::memcpy(v0, quads.data() + q * 64, sizeof v0);
      std::memcpy(v2, quads.data() + q * 64 + 32, sizeof v2);
      const auto px = [&](float v) { return static_cast<int>(std::lround(v)) * scale; };
      const int u0 = px(v0[0]), u1 = px(v2[0]), w0 = px(v0[1]), w1 = px(v2[1]);  // across, down
      if (vertical)
        fill_rect(x + w0, y - u1 + 1, x + w1, y - u0 + 1, c);
      else
        fill_rect(x + u0, y + w0, x + u1, y + w1, c);
    }
  }

  /// The advance width of s: the font adds one pixel of spacing after each glyph.
  static int text_width(std::string_view s, int scale = 1) {
    if (s.empty()) return 0;
    std::string printable = sanitize(s);
    return (stb_easy_font_width(printable.data()) - 1) * scale;
  }
  /// Height of capitals and digits; descenders (g, p, y) reach two pixels lower.
  static int text_height(int scale = 1) { return 7 * scale; }

 private:
  std::size_t index(int x, int y) const {
    return (static_cast<std::size_t>(y) * static_cast<std::size_t>(width_) + static_cast<std::size_t>(x)) * 3;
  }

  static std::string sanitize(std::string_view s) {
    std::string out(s);
    for (char& ch : out)
      if (ch < 32 || ch > 126) ch = '?';  // also keeps stb's glyph table index in range
    return out;
  }

  bool clip_segment(double& x0, double& y0, double& x1, double& y1, int thickness) const {
    if (!std::isfinite(x0) || !std::isfinite(y0) || !std::isfinite(x1) || !std::isfinite(y1))
      return false;
    // Clip to the clip rectangle grown by the pen, so thick lines reach the edge.
    const double pad = thickness + 1.0;
    const double xmin = clip_[0] - pad, ymin = clip_[1] - pad;
    const double xmax = clip_[2] - 1 + pad, ymax = clip_[3] - 1 + pad;
    double t0 = 0, t1 = 1;
    const double dx = x1 - x0, dy = y1 - y0;
    const double p[4] = {-dx, dx, -dy, dy};
    const double q[4] = {x0 - xmin, xmax - x0, y0 - ymin, ymax - y0};
    for (int i = 0; i < 4; ++i) {
      if (p[i] == 0) {
        if (q[i] < 0) return false;
        continue;
      }
      const double t = q[i] / p[i];
      if (p[i] < 0)
        t0 = std::max(t0, t);
      else
        t1 = std::min(t1, t);
      if (t0 > t1) return false;
    }
    const double nx0 = x0 + t0 * dx, ny0 = y0 + t0 * dy;
    x1 = x0 + t1 * dx, y1 = y0 + t1 * dy;
    x0 = nx0, y0 = ny0;
    return true;
  }

  int width_, height_;
  std::vector<std::uint8_t> pixels_;
  std::array<int, 4> clip_{};
};

}  // namespace tinygan::io
