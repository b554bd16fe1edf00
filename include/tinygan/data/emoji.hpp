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
/// emoji.json (the image -> category map) is read with core/json.hpp rather
/// than by `node -e`, so a tarball brought from another machine is arranged
/// where neither npm nor node is installed (only tar), and the tests need
/// neither.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tinygan/core/error.hpp"
#include "tinygan/core/json.hpp"
#include "tinygan/core/read_file.hpp"
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

/// The "image", "category" and "has_img_twitter" members of each top-level
/// object of emoji.json (nested skin_variations have "image" members too,
/// which are not the entry's). The whole file is parsed strictly, so a cut
/// or spoiled file is refused with the byte where it goes wrong rather than
/// read in part.
inline std::vector<Entry> index_entries(const std::string& text, const std::string& source) {
  const json::Value root = json::parse(text, source);
  check(root.is_array(), source, ": expected an array of emoji entries");
  std::vector<Entry> out;
  for (const json::Value& value : root.array()) {
    const std::size_t index = out.size();
    check(value.is_object(), source, ": entry ", index, " is not an object; expected one per emoji");
    const json::Object& entry = value.object();
    const auto text_of = [&](const char* key) {
      const auto at = entry.find(key);
      return at != entry.end() && at->second.is_string() ? at->second.string() : std::string();
    };
    Entry e{text_of("image"), text_of("category")};
    check(!e.image.empty() && !e.category.empty(), source, ": entry ", index,
          " has no \"image\" or no \"category\" string; expected both");
    if (const auto has = entry.find("has_img_twitter"); has != entry.end()) {
      check(has->second.is_boolean(), source, ": entry ", index, "'s has_img_twitter is not true or false");
      e.has_image = has->second.boolean();
    }
    out.push_back(std::move(e));
  }
  return out;
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
  const std::vector<emoji_detail::Entry> entries =
      emoji_detail::index_entries(read_whole_file(json.string()), json.string());
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
