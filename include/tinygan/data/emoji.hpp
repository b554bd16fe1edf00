/// \file
/// The Twemoji colour set: 64x64 PNGs of emoji with transparency (most RGBA,
/// some 4- or 8-bit palette: decode them to 4 channels), one folder per category
/// ("smileys-emotion", "animals-nature", ...), fetched from the npm package
/// emoji-datasource-twitter and arranged as `dir/CLASS/IMAGE.png`
/// with dir/README.txt naming the source and the counts.
///
/// The package's img/twitter/64/ holds 3,786 PNGs: the 1,911 emoji of
/// emoji.json's top level and 1,875 skin-tone variants of them
/// ("skin_variations"). The variants are left out: they are the same drawings
/// recoloured, and would make people-body nearly half the set.
///
/// emoji.json (the image -> category map) is read by a small reader here
/// rather than by `node -e`: io/json.hpp is a higher layer, and with the
/// reader a tarball brought from another machine is arranged where neither
/// npm nor node is installed (only tar), and the tests need neither.
#pragma once

#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tinygan/core/error.hpp"
#include "tinygan/core/shape.hpp"
#include "tinygan/data/npm_package.hpp"
#include "tinygan/data/sha256.hpp"

namespace tinygan::data {

inline constexpr const char* kEmojiPackage = "emoji-datasource-twitter@16.0.0";
inline constexpr const char* kEmojiTarball = "emoji-datasource-twitter-16.0.0.tgz";
inline constexpr std::uintmax_t kEmojiTarballSize = 61683754;
inline constexpr const char* kEmojiTarballSha256 = "f64a530c63bca463bd8317fdc4615ce63a53a0c65018e4ce2d848aaba7a28877";
/// The arranged set: emoji.json's top-level emoji, skin-tone variants left out.
inline constexpr Index kEmojiImages = 1911;
/// Written last into the arranged folder; its "class" lines are what
/// emoji_present checks.
inline constexpr const char* kEmojiManifest = "README.txt";

/// The folder name of an emoji.json category: lower-case ASCII letters and
/// digits, with one '-' for each run of anything else ("Smileys & Emotion" ->
/// "smileys-emotion"). Throws Error when nothing is left.
inline std::string emoji_class_folder(const std::string& category) {
  std::string slug;
  bool gap = false;
  for (const char c : category) {
    const bool letter = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    const bool upper = c >= 'A' && c <= 'Z';
    if (!letter && !upper) {
      gap = true;
      continue;
    }
    if (gap && !slug.empty()) slug += '-';
    slug += upper ? static_cast<char>(c - 'A' + 'a') : c;
    gap = false;
  }
  check(!slug.empty(), "emoji_class_folder: category \"", category,
        "\" has no ASCII letter or digit to name its folder by");
  return slug;
}

namespace emoji_detail {
namespace fs = std::filesystem;

/// What arranging needs of one top-level entry of emoji.json.
struct Entry {
  std::string image;     // file name in img/twitter/64/
  std::string category;  // e.g. "Smileys & Emotion"
  bool has_image = true; // "has_img_twitter"
};

/// Reads the "image", "category" and "has_img_twitter" members of each
/// top-level object of emoji.json and skips every other value (nested
/// skin_variations, whose "image" members are not the entry's, included).
/// Strict about the JSON structure, so a cut or spoiled file is refused with
/// the byte where it goes wrong rather than read in part.
class IndexReader {
 public:
  IndexReader(std::string_view text, std::string source) : text_(text), source_(std::move(source)) {}

  std::vector<Entry> entries() {
    std::vector<Entry> out;
    expect('[');
    if (!consume(']')) {
      do out.push_back(entry(out.size()));
      while (consume(','));
      expect(']');
    }
    skip_space();
    if (pos_ != text_.size()) fail("the end of the file after the array");
    return out;
  }

 private:
  static constexpr int kMaxDepth = 64;  // deeper than emoji.json ever nests; bounds the recursion

  Entry entry(std::size_t index) {
    Entry e;
    expect('{');
    if (!consume('}')) {
      do {
        const std::string key = string();
        expect(':');
        if (key == "image")
          e.image = string();
        else if (key == "category")
          e.category = string();
        else if (key == "has_img_twitter")
          e.has_image = boolean();
        else
          skip_value(1);
      } while (consume(','));
      expect('}');
    }
    check(!e.image.empty() && !e.category.empty(), source_, ": entry ", index,
          " has no \"image\" or no \"category\" string; expected both");
    return e;
  }

  void skip_space() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\r' || text_[pos_] == '\t'))
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
  void expect(char c) {
    if (!consume(c)) fail(std::string("'") + c + "'");
  }
  [[noreturn]] void fail(const std::string& expected) const {
    const std::string found = pos_ < text_.size() ? "'" + std::string(1, text_[pos_]) + "'" : "the end of the file";
    throw Error(source_ + ": at byte " + std::to_string(pos_) + ": expected " + expected + ", found " + found);
  }

  std::string string() {
    skip_space();
    if (pos_ >= text_.size() || text_[pos_] != '"') fail("a string");
    ++pos_;
    std::string out;
    for (;;) {
      if (pos_ >= text_.size()) fail("the closing '\"' of a string");
      const char c = text_[pos_++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      const char escaped = pos_ < text_.size() ? text_[pos_++] : '\0';
      switch (escaped) {
        case '"': case '\\': case '/': out += escaped; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': append_utf8(out, code_point()); break;
        default: --pos_; fail("an escape such as \\n or \\u0041 after '\\'");
      }
    }
  }
  unsigned hex4() {
    unsigned value = 0;
    for (int i = 0; i < 4; ++i, ++pos_) {
      const char c = pos_ < text_.size() ? text_[pos_] : '\0';
      const int digit = c >= '0' && c <= '9' ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (digit < 0) fail("four hex digits after \\u");
      value = value * 16 + static_cast<unsigned>(digit);
    }
    return value;
  }
  // A \uXXXX escape, joining a UTF-16 surrogate pair into one code point.
  std::uint32_t code_point() {
    const unsigned high = hex4();
    if (high < 0xD800 || high > 0xDBFF) return high;
    if (text_.substr(pos_, 2) != "\\u") fail("a \\u low surrogate after a high one");
    pos_ += 2;
    const unsigned low = hex4();
    if (low < 0xDC00 || low > 0xDFFF) fail("a low surrogate (DC00 to DFFF)");
    return 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
  }
  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  bool boolean() {
    skip_space();
    if (text_.substr(pos_, 4) == "true") return pos_ += 4, true;
    if (text_.substr(pos_, 5) == "false") return pos_ += 5, false;
    fail("true or false");
  }
  void skip_value(int depth) {
    if (depth > kMaxDepth) fail("at most " + std::to_string(kMaxDepth) + " levels of nesting");
    skip_space();
    const char c = pos_ < text_.size() ? text_[pos_] : '\0';
    if (c == '"') {
      string();
    } else if (c == '{') {
      ++pos_;
      if (consume('}')) return;
      do {
        string();
        expect(':');
        skip_value(depth + 1);
      } while (consume(','));
      expect('}');
    } else if (c == '[') {
      ++pos_;
      if (consume(']')) return;
      do skip_value(depth + 1);
      while (consume(','));
      expect(']');
    } else {  // a number, true, false or null: skipped, not checked
      const std::size_t start = pos_;
      while (pos_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) ||
                                     text_[pos_] == '+' || text_[pos_] == '-' || text_[pos_] == '.'))
        ++pos_;
      if (pos_ == start) fail("a value");
    }
  }

  std::string_view text_;
  std::string source_;
  std::size_t pos_ = 0;
};

inline std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  check(static_cast<bool>(in), p.string(), ": cannot open it for reading");
  return std::string{std::istreambuf_iterator<char>(in), {}};
}

/// A file name from emoji.json is joined to folders, so it must be a plain
/// PNG name: no separator, not hidden, not "..".
inline bool plain_png_name(const std::string& name) {
  return name.size() > 4 && name.front() != '.' && name.find('/') == std::string::npos &&
         name.find('\\') == std::string::npos && name.compare(name.size() - 4, 4, ".png") == 0;
}

inline Index count_pngs(const fs::path& folder) {
  std::error_code ec;
  Index n = 0;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec) && it->path().extension() == ".png") ++n;
  return n;
}

/// The "class <folder> <count>" lines of dir/README.txt, and its "package" line.
struct Manifest {
  std::string package;
  std::map<std::string, Index> classes;
};

inline Manifest read_manifest(const fs::path& dir) {
  Manifest m;
  std::ifstream in(dir / kEmojiManifest);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string word, name;
    Index count = -1;
    fields >> word;
    if (word == "package") fields >> m.package;
    if (word == "class" && fields >> name >> count && count >= 0) m.classes[name] = count;
  }
  return m;
}

/// The first thing wrong with the arranged set in dir, or "" when it is whole:
/// README.txt is there and every class folder it lists holds as many PNGs as
/// it says. With expected_total > 0, the package and total must be the pinned
/// ones too.
inline std::string problem(const fs::path& dir, Index expected_total) {
  std::error_code ec;
  if (!fs::is_regular_file(dir / kEmojiManifest, ec))
    return std::string(kEmojiManifest) + " is missing (it is written last, once the set is arranged)";
  const Manifest m = read_manifest(dir);
  if (m.classes.empty()) return std::string(kEmojiManifest) + " lists no \"class <folder> <count>\" lines";
  Index total = 0;
  for (const auto& entry : m.classes) {
    const Index found = count_pngs(dir / entry.first);
    if (found != entry.second)
      return entry.first + "/ holds " + std::to_string(found) + " PNGs, " + kEmojiManifest + " says " +
             std::to_string(entry.second);
    total += found;
  }
  if (expected_total > 0 && m.package != kEmojiPackage)
    return std::string(kEmojiManifest) + " names the package \"" + m.package + "\", expected " + kEmojiPackage;
  if (expected_total > 0 && total != expected_total)
    return "the set holds " + std::to_string(total) + " PNGs, expected " + std::to_string(expected_total);
  return "";
}

inline std::string how_to(const fs::path& dir) {
  return std::string("To provide the emoji set by hand, on a machine with npm run\n    npm pack ") + kEmojiPackage +
         "\nand put " + kEmojiTarball + " (" + std::to_string(kEmojiTarballSize) + " bytes, SHA-256 " +
         kEmojiTarballSha256 + ") into " + dir.parent_path().string() +
         "; ensure_emoji then checks it and arranges package/img/twitter/64/*.png into " + dir.string() +
         "/<category>/ by package/emoji.json (this needs tar, not npm).";
}

/// The first thing wrong with a tarball, or "" when its size and SHA-256 are the pinned ones.
inline std::string tarball_problem(const fs::path& tarball) {
  std::error_code ec;
  const auto size = fs::file_size(tarball, ec);
  if (ec) return tarball.string() + " cannot be read (" + ec.message() + ")";
  if (size != kEmojiTarballSize)
    return tarball.string() + " has " + std::to_string(size) + " bytes, expected " +
           std::to_string(kEmojiTarballSize);
  const std::string sum = sha256_file_hex(tarball.string());
  if (sum != kEmojiTarballSha256)
    return tarball.string() + " has SHA-256 " + sum + ", expected " + kEmojiTarballSha256;
  return "";
}
}  // namespace emoji_detail

/// Arranges an unpacked package (package_dir holding emoji.json and
/// img/twitter/64/) into `target/CLASS/IMAGE.png`, one PNG per
/// top-level emoji.json entry with a Twitter image, then writes
/// target/README.txt. Moves the PNGs out of package_dir (a rename, so
/// target must be on the same file system). target must not exist; it is
/// half-made if this throws, so build it where a single rename publishes it.
/// Returns the count per class folder.
inline std::map<std::string, Index> arrange_emoji(const std::filesystem::path& package_dir,
                                                  const std::filesystem::path& target) {
  namespace fs = std::filesystem;
  const fs::path json = package_dir / "emoji.json";
  const fs::path images = package_dir / "img" / "twitter" / "64";
  const std::string text = emoji_detail::read_text(json);
  const std::vector<emoji_detail::Entry> entries = emoji_detail::IndexReader(text, json.string()).entries();
  std::error_code ec;
  check(!fs::exists(target, ec), "arrange_emoji: ", target.string(), " already exists; expected a new folder");

  std::map<std::string, Index> counts;
  std::map<std::string, std::string> category_of_folder;  // two categories must not share a folder
  std::set<std::string> seen;
  for (const auto& e : entries) {
    if (!e.has_image) continue;
    check(emoji_detail::plain_png_name(e.image), json.string(), ": image \"", e.image,
          "\" is not a plain file name ending in .png");
    check(seen.insert(e.image).second, json.string(), ": image ", e.image, " is listed twice");
    const std::string folder = emoji_class_folder(e.category);
    const auto [known, fresh] = category_of_folder.emplace(folder, e.category);
    check(fresh || known->second == e.category, json.string(), ": categories \"", known->second, "\" and \"",
          e.category, "\" would share the folder ", folder);
    const fs::path from = images / e.image;
    check(fs::is_regular_file(from, ec), json.string(), " lists ", e.image, " (", e.category, ") but ",
          from.string(), " is missing");
    fs::create_directories(target / folder, ec);
    check(!ec, "arrange_emoji: cannot create ", (target / folder).string(), " (", ec.message(), ")");
    const fs::path to = target / folder / e.image;
    fs::rename(from, to, ec);
    check(!ec, "arrange_emoji: cannot move ", from.string(), " to ", to.string(), " (", ec.message(), ")");
    check(npm::sync_file(to), "arrange_emoji: cannot flush ", to.string(), " to disk");
    ++counts[folder];
  }
  check(!counts.empty(), json.string(), ": no entry has a Twitter image; expected at least one");

  Index total = 0;
  for (const auto& c : counts) total += c.second;
  const fs::path manifest = target / kEmojiManifest;
  {
    std::ofstream out(manifest);
    out << "Twemoji 64x64 PNGs, one per emoji (skin-tone variants left out), one folder per\n"
        << "category of package/emoji.json, arranged by tinygan::data::ensure_emoji from the npm\n"
        << "package " << kEmojiPackage << " (" << kEmojiTarball << ", SHA-256 " << kEmojiTarballSha256 << ").\n"
        << "Twemoji graphics by Twitter, Inc and other contributors, CC BY 4.0:\n"
        << "https://creativecommons.org/licenses/by/4.0/\n\n"
        << "package " << kEmojiPackage << "\n"
        << "images " << total << "\n";
    for (const auto& c : counts) out << "class " << c.first << " " << c.second << "\n";
    check(static_cast<bool>(out.flush()), "arrange_emoji: cannot write ", manifest.string());
  }
  check(npm::sync_file(manifest), "arrange_emoji: cannot flush ", manifest.string(), " to disk");
  return counts;
}

/// Whether dir holds an arranged set: README.txt and every class folder it
/// lists with as many PNGs as it says (the full set or a smaller one arranged
/// the same way). A folder still being filled or cut short is not present.
inline bool emoji_present(const std::string& dir) { return emoji_detail::problem(dir, 0).empty(); }

/// Makes sure dir holds the arranged emoji set (kEmojiImages PNGs). When it
/// does not: uses emoji-datasource-twitter-16.0.0.tgz from beside dir if it
/// is there (no network, so even with allow_fetch false), else with
/// allow_fetch fetches it with `npm pack` into a temporary folder beside dir;
/// checks its size and SHA-256, unpacks emoji.json and img/twitter/64/,
/// arranges them there and moves the finished folder to dir with one rename,
/// so dir is never half-arranged. An existing dir that holds anything but the
/// set is left alone and reported. Throws Error saying what failed and how to
/// provide the set by hand.
inline void ensure_emoji(const std::string& dir, bool allow_fetch = true) {
  namespace fs = std::filesystem;
  const fs::path path = npm::target_folder(dir);
  const std::string wrong = emoji_detail::problem(path, kEmojiImages);
  if (wrong.empty()) return;

  std::error_code ec;
  const fs::path local = path.parent_path() / kEmojiTarball;
  const bool have_local = fs::is_regular_file(local, ec);
  if (!allow_fetch && !have_local)
    throw Error(dir + ": the emoji set is not there: " + wrong + " (fetching is off).\n" + emoji_detail::how_to(path));
  const auto fail = [&](const std::string& why) {
    throw Error(dir + ": cannot fetch the emoji set: " + why + ".\n" + emoji_detail::how_to(path));
  };
  if (fs::exists(path, ec) && !fs::is_empty(path, ec))
    fail(path.string() + " exists but holds something other than the arranged set (" + wrong +
         "); move it away, so that the set can be put there");
  if (!have_local && !npm::on_path("npm")) fail("npm is not installed (not found on PATH)");
  try {
    const npm::TempDir tmp(path.parent_path(), ".emoji-fetch-");
    fs::path tarball = local;
    if (have_local) {
      std::cerr << "Arranging the emoji set from " << local.string() << " into " << path.string() << " ..."
                << std::endl;
    } else {
      std::cerr << "Fetching the emoji set (" << kEmojiPackage << ", 62 MB) with npm into " << path.string()
                << " ..." << std::endl;
      npm::pack(kEmojiPackage, tmp.path());
      tarball = tmp.path() / kEmojiTarball;
    }
    const std::string spoiled = emoji_detail::tarball_problem(tarball);
    if (!spoiled.empty()) fail(spoiled);
    npm::unpack(tarball, {"package/emoji.json", "package/img/twitter/64"}, tmp.path());

    const fs::path arranged = tmp.path() / "arranged";
    Index total = 0;
    for (const auto& c : arrange_emoji(tmp.path() / "package", arranged)) total += c.second;
    if (total != kEmojiImages)
      fail("the package holds " + std::to_string(total) + " emoji images, expected " + std::to_string(kEmojiImages));
    fs::rename(arranged, path, ec);  // replaces dir only if it is an empty folder
    if (ec && !emoji_present(path.string()))  // present: another process arranged it first
      fail("cannot move the arranged folder to " + path.string() + " (" + ec.message() + ")");
  } catch (const npm::Failure& failure) {
    fail(failure.what());
  }
  const std::string still = emoji_detail::problem(path, kEmojiImages);
  check(still.empty(), dir, ": after fetching, ", still, ".\n", emoji_detail::how_to(path));
}

}  // namespace tinygan::data
