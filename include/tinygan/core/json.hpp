/// \file
/// A small, strict JSON reader and writer: enough for safetensors headers,
/// config files and the emoji package's index, with errors that say where the
/// text went wrong. In core, below data/, so that every layer may read JSON.
#pragma once

#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "tinygan/core/error.hpp"

namespace tinygan::json {

struct Value;
using Object = std::map<std::string, Value>;
using Array = std::vector<Value>;

struct Value {
  std::variant<std::nullptr_t, bool, double, std::string, std::shared_ptr<Array>,
               std::shared_ptr<Object>>
      data = nullptr;

  bool is_string() const { return std::holds_alternative<std::string>(data); }
  bool is_number() const { return std::holds_alternative<double>(data); }
  bool is_boolean() const { return std::holds_alternative<bool>(data); }
  bool is_array() const { return std::holds_alternative<std::shared_ptr<Array>>(data); }
  bool is_object() const { return std::holds_alternative<std::shared_ptr<Object>>(data); }
  const std::string& string() const { return std::get<std::string>(data); }
  double number() const { return std::get<double>(data); }
  bool boolean() const { return std::get<bool>(data); }
  const Array& array() const { return *std::get<std::shared_ptr<Array>>(data); }
  const Object& object() const { return *std::get<std::shared_ptr<Object>>(data); }
};

class Parser {
 public:
  /// where names the source in error messages ("model.safetensors header").
  Parser(const std::string& text, std::string where) : text_(text), where_(std::move(where)) {}

  Value parse() {
    Value v = value(0);
    skip_space();
    expect(pos_ == text_.size(), "end of text");
    return v;
  }

 private:
  static constexpr int kMaxDepth = 64;  // hostile nesting must not exhaust the stack

  void fail(const std::string& expected) const {
    const std::string found = pos_ < text_.size() ? std::string("'") + text_[pos_] + "'" : "end of text";
    throw Error(where_ + ": invalid JSON at byte " + std::to_string(pos_) + ": expected " +
                expected + ", found " + found);
  }
  void expect(bool ok, const std::string& expected) const {
    if (!ok) fail(expected);
  }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' ||
                                   text_[pos_] == '\r' || text_[pos_] == '\t'))
      ++pos_;
  }
  bool consume(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool consume_word(const char* word) {
    const std::string w(word);
    if (text_.compare(pos_, w.size(), w) != 0) return false;
    pos_ += w.size();
    return true;
  }

  Value value(int depth) {
    expect(depth < kMaxDepth, "nesting shallower than 64 levels");
    skip_space();
    expect(pos_ < text_.size(), "a value");
    const char c = text_[pos_];
    Value v;
    if (c == '{') {
      v.data = object(depth);
    } else if (c == '[') {
      v.data = array(depth);
    } else if (c == '"') {
      v.data = string();
    } else if (consume_word("true")) {
      v.data = true;
    } else if (consume_word("false")) {
      v.data = false;
    } else if (consume_word("null")) {
      v.data = nullptr;
    } else {
      v.data = number();
    }
    return v;
  }

  std::shared_ptr<Object> object(int depth) {
    auto out = std::make_shared<Object>();
    ++pos_;
    if (consume('}')) return out;
    do {
      skip_space();
      expect(pos_ < text_.size() && text_[pos_] == '"', "a quoted key");
      std::string key = string();
      expect(consume(':'), "':' after a key");
      expect(out->count(key) == 0, "no duplicate key '" + key + "'");
      (*out)[key] = value(depth + 1);
    } while (consume(','));
    expect(consume('}'), "',' or '}'");
    return out;
  }

  std::shared_ptr<Array> array(int depth) {
    auto out = std::make_shared<Array>();
    ++pos_;
    if (consume(']')) return out;
    do out->push_back(value(depth + 1));
    while (consume(','));
    expect(consume(']'), "',' or ']'");
    return out;
  }

  std::string string() {
    ++pos_;  // opening quote
    std::string out;
    while (true) {
      expect(pos_ < text_.size(), "a closing '\"'");
      const char c = text_[pos_++];
      if (c == '"') return out;
      expect(static_cast<unsigned char>(c) >= 0x20, "no control character inside a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      expect(pos_ < text_.size(), "an escape");
      const char e = text_[pos_++];
      switch (e) {
        case '"': case '\\': case '/': out += e; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': append_utf8(out, code_point()); break;
        default: fail("a valid escape");
      }
    }
  }

  unsigned hex4() {
    expect(pos_ + 4 <= text_.size(), "four hex digits");
    unsigned code = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = text_[pos_++];
      code <<= 4;
      if (h >= '0' && h <= '9') code |= static_cast<unsigned>(h - '0');
      else if (h >= 'a' && h <= 'f') code |= static_cast<unsigned>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') code |= static_cast<unsigned>(h - 'A' + 10);
      else fail("a hex digit");
    }
    return code;
  }
  // A \uXXXX escape; a UTF-16 surrogate pair joins into one code point.
  unsigned code_point() {
    const unsigned high = hex4();
    if (high < 0xD800 || high > 0xDFFF) return high;
    expect(high <= 0xDBFF, "a high surrogate (D800 to DBFF) first");
    expect(text_.compare(pos_, 2, "\\u") == 0, "a \\u low surrogate after a high one");
    pos_ += 2;
    const unsigned low = hex4();
    expect(low >= 0xDC00 && low <= 0xDFFF, "a low surrogate (DC00 to DFFF)");
    return 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
  }

  static void append_utf8(std::string& out, unsigned code) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }

  double number() {
    const std::size_t start = pos_;
    if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
    while (pos_ < text_.size() && std::string("0123456789.eE+-").find(text_[pos_]) != std::string::npos)
      ++pos_;
    expect(pos_ > start, "a value");
    const std::string token = text_.substr(start, pos_ - start);
    char* end = nullptr;
    const double v = std::strtod(token.c_str(), &end);
    if (end != token.c_str() + token.size() || !std::isfinite(v)) {
      pos_ = start;
      fail("a number");
    }
    return v;
  }

  const std::string& text_;
  std::string where_;
  std::size_t pos_ = 0;
};

inline Value parse(const std::string& text, const std::string& where) {
  return Parser(text, where).parse();
}

/// Quotes a string for JSON output.
inline std::string quote(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

}  // namespace tinygan::json
