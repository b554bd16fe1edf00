// data/emoji.hpp: class folder names, arranging an unpacked package (a tiny
// fake one written here), what counts as present, and the errors when the set
// cannot be fetched. Never the network: where npm would run, PATH is emptied
// first, or the target is refused before npm is asked.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "test_util.hpp"
#include "tinygan/data/emoji.hpp"
#include "tinygan/data/mnist.hpp"

using namespace tinygan;
using namespace tinygan::testing;
using namespace tinygan::data;

namespace {
namespace emoji_fs = std::filesystem;

// A fresh, empty folder of this process.
std::string emoji_fresh_dir(const std::string& name) {
  const std::string dir = temp_path("emoji_" + name);
  emoji_fs::remove_all(dir);
  emoji_fs::create_directories(dir);
  return dir;
}

// A package as tar unpacks it: emoji.json with three emoji that have images
// (two categories), one with has_img_twitter false, and a skin-tone variant
// whose nested "image" must not be taken for its entry's. The PNG folder holds
// the variant's file too, as the real one does.
std::string emoji_fake_package(const std::string& name) {
  const std::string package = emoji_fresh_dir(name) + "/package";
  emoji_fs::create_directories(package + "/img/twitter/64");
  write_bytes(package + "/emoji.json", R"([
    {"name":"GRINNING FACE","image":"1f600.png","category":"Smileys & Emotion","has_img_twitter":true,
     "short_names":["grinning"],"sort_order":1,"text":null},
    {"name":"WAVING HAND SIGN","category":"People \u0026 Body","sort_order":2,"has_img_twitter":true,
     "skin_variations":{"1F3FB":{"unified":"1F44B-1F3FB","image":"1f44b-1f3fb.png","has_img_twitter":true}},
     "image":"1f44b.png"},
    {"name":"SMILING FACE","image":"263a-fe0f.png","category":"Smileys & Emotion","has_img_twitter":true},
    {"name":"NO TWITTER IMAGE","image":"1fae9.png","category":"Smileys & Emotion","has_img_twitter":false}
  ])");
  for (const char* png : {"1f600.png", "1f44b.png", "263a-fe0f.png", "1f44b-1f3fb.png"})
    write_bytes(package + "/img/twitter/64/" + png, std::string("\x89PNG fake ") + png);
  return package;
}

// Sets an environment variable for one scope and puts the old value back.
struct EmojiEnvGuard {
  std::string name;
  std::optional<std::string> old;
  EmojiEnvGuard(std::string n, const std::string& value) : name(std::move(n)) {
    if (const char* v = std::getenv(name.c_str())) old = v;
    ::setenv(name.c_str(), value.c_str(), 1);
  }
  ~EmojiEnvGuard() {
    if (old)
      ::setenv(name.c_str(), old->c_str(), 1);
    else
      ::unsetenv(name.c_str());
  }
};

bool emoji_no_temp_folder_left(const std::string& parent) {
  for (const auto& entry : emoji_fs::directory_iterator(parent))
    if (entry.path().filename().string().rfind(".emoji-fetch-", 0) == 0) return false;
  return true;
}
}  // namespace

TEST_CASE("emoji class folders are short slugs of the categories") {
  CHECK(emoji_class_folder("Smileys & Emotion") == "smileys-emotion");
  CHECK(emoji_class_folder("Animals & Nature") == "animals-nature");
  CHECK(emoji_class_folder("Component") == "component");
  CHECK(emoji_class_folder("  Food  &  Drink ") == "food-drink");
  CHECK(emoji_class_folder("Emoji 16.0") == "emoji-16-0");
  CHECK(emoji_class_folder("Caf\xc3\xa9s") == "caf-s");  // non-ASCII bytes separate, never leak into a path
  CHECK(contains(error_of([] { emoji_class_folder(" & / "); }), "has no ASCII letter or digit"));
}

TEST_CASE("emoji arranging sorts a package's images into class folders and writes the manifest") {
  const std::string package = emoji_fake_package("arrange");
  const std::string target = emoji_fs::path(package).parent_path().string() + "/arranged";
  CHECK_FALSE(emoji_present(target));

  const auto counts = arrange_emoji(package, target);
  CHECK(counts.size() == 2);
  CHECK(counts.at("smileys-emotion") == 2);
  CHECK(counts.at("people-body") == 1);  // "\u0026" is '&'
  CHECK(emoji_fs::is_regular_file(target + "/smileys-emotion/1f600.png"));
  CHECK(emoji_fs::is_regular_file(target + "/smileys-emotion/263a-fe0f.png"));
  CHECK(read_bytes(target + "/people-body/1f44b.png") == "\x89PNG fake 1f44b.png");
  // The skin-tone variant and the emoji without a Twitter image stay out.
  CHECK_FALSE(emoji_fs::exists(target + "/people-body/1f44b-1f3fb.png"));
  CHECK(emoji_fs::is_regular_file(package + "/img/twitter/64/1f44b-1f3fb.png"));

  const std::string manifest = read_bytes(target + "/README.txt");
  CHECK(contains(manifest, "package emoji-datasource-twitter@16.0.0\n"));
  CHECK(contains(manifest, "images 3\n"));
  CHECK(contains(manifest, "class people-body 1\nclass smileys-emotion 2\n"));
  CHECK(emoji_present(target));
  // A smaller set is present, but ensure_emoji wants the pinned one.
  CHECK(contains(error_of([&] { ensure_emoji(target, false); }), "the set holds 3 PNGs, expected 1911"));

  CHECK(contains(error_of([&] { arrange_emoji(package, target); }), "already exists; expected a new folder"));
  emoji_fs::remove_all(emoji_fs::path(package).parent_path());
}

TEST_CASE("emoji arranging refuses a spoiled index or a missing image") {
  const std::string package = emoji_fake_package("spoiled");
  const std::string json = package + "/emoji.json";
  const std::string target = package + "/../arranged";

  emoji_fs::remove(package + "/img/twitter/64/263a-fe0f.png");
  const std::string missing = error_of([&] { arrange_emoji(package, target); });
  CHECK_MESSAGE(contains(missing, "lists 263a-fe0f.png (Smileys & Emotion) but"), missing);
  CHECK(contains(missing, "is missing"));
  CHECK_FALSE(emoji_present(target));

  const std::string cut_json = R"([{"image":"1f600.png","category":"Smileys & Emotion"},{"image":"1f44b.png")";
  write_bytes(json, cut_json);
  const std::string cut = error_of([&] { arrange_emoji(package, package + "/../cut"); });
  CHECK_MESSAGE(contains(cut, json + ": invalid JSON at byte " + std::to_string(cut_json.size()) +
                                  ": expected ',' or '}', found end of text"),
                cut);
  write_bytes(json, R"([{"image":"1f600.png","category":"Smileys & Emotion","x":[1,{"y":tru}]}])");
  CHECK(contains(error_of([&] { arrange_emoji(package, package + "/../tru"); }), "expected a value, found 't'"));
  write_bytes(json, R"([{"image":"1f600.png","category":"Smileys & Emotion"},"1f44b.png"])");
  CHECK(contains(error_of([&] { arrange_emoji(package, package + "/../string"); }),
                 "entry 1 is not an object; expected one per emoji"));
  write_bytes(json, R"([{"image":"1f600.png","category":"Smileys & Emotion","has_img_twitter":1}])");
  CHECK(contains(error_of([&] { arrange_emoji(package, package + "/../one"); }),
                 "entry 0's has_img_twitter is not true or false"));

  write_bytes(json, R"([{"image":"../../etc/passwd","category":"Objects"}])");
  CHECK(contains(error_of([&] { arrange_emoji(package, package + "/../escape"); }),
                 "is not a plain file name ending in .png"));
  write_bytes(json, R"([{"image":"1f600.png"}])");
  CHECK(contains(error_of([&] { arrange_emoji(package, package + "/../nocat"); }),
                 "entry 0 has no \"image\" or no \"category\""));
  emoji_fs::remove_all(emoji_fs::path(package).parent_path());
}

TEST_CASE("emoji: a partly arranged folder is not present") {
  const std::string package = emoji_fake_package("partial");
  const std::string target = emoji_fs::path(package).parent_path().string() + "/arranged";
  arrange_emoji(package, target);
  REQUIRE(emoji_present(target));

  emoji_fs::remove(target + "/smileys-emotion/1f600.png");
  CHECK_FALSE(emoji_present(target));
  CHECK(contains(error_of([&] { ensure_emoji(target, false); }), "smileys-emotion/ holds 1 PNGs, README.txt says 2"));

  emoji_fs::remove(target + "/README.txt");  // folders being filled: the manifest comes last
  CHECK_FALSE(emoji_present(target));
  CHECK(contains(error_of([&] { ensure_emoji(target, false); }), "README.txt is missing"));
  emoji_fs::remove_all(emoji_fs::path(package).parent_path());
}

TEST_CASE("emoji fetching without npm says what failed and how to do it by hand") {
  const std::string parent = emoji_fresh_dir("nonpm");
  const std::string dir = parent + "/emoji";
  const std::string empty_bin = emoji_fresh_dir("nonpm_bin");
  std::string message;
  {
    const EmojiEnvGuard no_npm("PATH", empty_bin);
    message = error_of([&] { ensure_emoji(dir, true); });
  }
  CHECK(std::getenv("PATH") != nullptr);
  CHECK_MESSAGE(contains(message, dir + ": cannot fetch the emoji set: npm is not installed (not found on PATH)"),
                message);
  CHECK(contains(message, "npm pack emoji-datasource-twitter@16.0.0"));
  CHECK(contains(message, "put emoji-datasource-twitter-16.0.0.tgz (61683754 bytes, SHA-256 f64a530c"));
  CHECK(contains(message, "into " + parent));
  CHECK_FALSE(emoji_fs::exists(dir));
  CHECK(emoji_no_temp_folder_left(parent));

  const std::string off = error_of([&] { ensure_emoji(dir, false); });
  CHECK(contains(off, "(fetching is off)"));
  CHECK(contains(off, "npm pack emoji-datasource-twitter@16.0.0"));
  emoji_fs::remove_all(parent);
  emoji_fs::remove_all(empty_bin);
}

TEST_CASE("emoji fetching leaves other files alone and checks a tarball brought by hand") {
  const std::string parent = emoji_fresh_dir("occupied");
  const std::string dir = parent + "/emoji";
  emoji_fs::create_directories(dir);
  write_bytes(dir + "/mine.txt", "not the emoji set");
  const std::string occupied = error_of([&] { ensure_emoji(dir, true); });
  CHECK_MESSAGE(contains(occupied, "exists but holds something other than the arranged set"), occupied);
  CHECK(read_bytes(dir + "/mine.txt") == "not the emoji set");
  emoji_fs::remove_all(dir);

  // A tarball beside dir is used without the network, so with fetching off too.
  write_bytes(parent + "/" + kEmojiTarball, "too short");
  const std::string spoiled = error_of([&] { ensure_emoji(dir, false); });
  CHECK_MESSAGE(contains(spoiled, kEmojiTarball + std::string(" has 9 bytes, expected 61683754")), spoiled);
  CHECK_FALSE(emoji_fs::exists(dir));
  CHECK(emoji_no_temp_folder_left(parent));
  emoji_fs::remove_all(parent);
}

TEST_CASE("mnist_image_set gives a loaded split as an ImageSet") {
  MnistSet mnist;
  mnist.images = Tensor<float>(Shape{2, 1, 28, 28});
  mnist.labels = {7, 0};
  const ImageSet set = mnist_image_set(mnist);
  CHECK(set.size() == 2);
  CHECK(set.labels == std::vector<std::int32_t>{7, 0});
  REQUIRE(set.classes.size() == 10);
  CHECK(set.classes.front() == "0");
  CHECK(set.classes.back() == "9");
  CHECK(set.labelled());
}
