// core/json.hpp: the strict reader behind safetensors headers, config files
// and the emoji package's index.
#include <doctest/doctest.h>

#include <string>

#include "test_util.hpp"
#include "tinygan/core/json.hpp"

using namespace tinygan;
using namespace tinygan::testing;

TEST_CASE("json reads every kind of value, and escapes to UTF-8 with surrogate pairs joined") {
  const json::Value v = json::parse(R"( {"a": [1, -2.5e1, true, false, null], "b": "x\n\"\u00e9\ud83d\ude00", "c": {}} )",
                                    "test");
  const json::Object& o = v.object();
  const json::Array& a = o.at("a").array();
  REQUIRE(a.size() == 5);
  CHECK(a[0].number() == 1);
  CHECK(a[1].number() == -25);
  CHECK(a[2].is_boolean());
  CHECK(a[2].boolean());
  CHECK_FALSE(a[3].boolean());
  CHECK_FALSE(a[4].is_boolean());
  CHECK(o.at("b").string() == "x\n\"\xc3\xa9\xf0\x9f\x98\x80");
  CHECK(o.at("c").object().empty());
  CHECK(json::parse(json::quote("tab\there \"q\" \\ \x01"), "q").string() == "tab\there \"q\" \\ \x01");
}

TEST_CASE("json refuses malformed text, saying where and what it expected") {
  const auto error = [](const std::string& text) { return error_of([&] { json::parse(text, "f.json"); }); };
  CHECK(contains(error("[1, 2"), "f.json: invalid JSON at byte 5: expected ',' or ']', found end of text"));
  CHECK(contains(error("[1,]"), "expected a value, found ']'"));
  CHECK(contains(error(R"({"a": 1, "a": 2})"), "no duplicate key 'a'"));
  CHECK(contains(error(R"("\ude00")"), "a high surrogate (D800 to DBFF) first"));
  CHECK(contains(error(R"("\ud83dx")"), "a \\u low surrogate after a high one"));
  CHECK(contains(error(R"("\ud83d\u0041")"), "a low surrogate (DC00 to DFFF)"));
  CHECK(contains(error("[tru]"), "expected a value, found 't'"));
  CHECK(contains(error("{} x"), "expected end of text, found 'x'"));
  CHECK(contains(error(std::string(100, '[')), "nesting shallower than 64 levels"));
}
