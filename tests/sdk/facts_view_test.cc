// sdk::FactsView (plugin.hpp): the facts object's members as raw text, and string lists walked
// without a parser; checked against nlohmann::json, which reads the same text.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "ocifs/plugin.hpp"

namespace {

using json = nlohmann::json;
using ocifs::sdk::FactsView;

std::vector<std::string> Strings(std::string_view array) {
  std::vector<std::string> out;
  FactsView::ForEachString(array, [&](std::string_view s) { out.emplace_back(s); });
  return out;
}

TEST(FactsViewTest, MembersAreTheirRawText) {
  const std::string text = R"( { "name" : "svc", "n": -1.5e3, "flag":true, "none": null,
      "pyproject": {"tool": {"x": ["]", "}", "\"{"]}}, "list": [ ["a"], {"b": "]"} ],
      "esc\"aped": "v" } )";
  const FactsView view(text);
  const json whole = json::parse(text);
  for (const char* key : {"name", "n", "flag", "none", "pyproject", "list", "esc\"aped"}) {
    auto raw = view.Get(key);
    ASSERT_TRUE(raw) << key;
    EXPECT_EQ(json::parse(*raw), whole[key]) << key;
  }
  EXPECT_FALSE(view.Get("absent"));
  EXPECT_FALSE(FactsView("{}").Get("name"));
}

TEST(FactsViewTest, StringListsAreUnescapedLikeAJsonParserDoes) {
  const std::vector<std::string> names = {"app/main.py", "with \"quotes\"",
                                          "back\\slash", "tab\there",
                                          "new\nline",   "é ü",
                                          "😀 emoji",     std::string("ctl\x01\x1f", 5),
                                          "slash/",      ""};
  // nlohmann writes control characters and (with ensure_ascii) non-ASCII as \u escapes.
  for (bool ascii : {false, true}) {
    const std::string array = json(names).dump(-1, ' ', ascii);
    EXPECT_EQ(Strings(array), names) << array;
  }
  EXPECT_EQ(Strings(R"([ "a\/b" , "\u00e9\ud83d\ude00" ])"),
            (std::vector<std::string>{"a/b", "é😀"}));
  EXPECT_EQ(Strings(" [ ] "), std::vector<std::string>{});
}

TEST(FactsViewTest, WhatIsNotJsonIsAnErrorNamingTheProblem) {
  struct Case {
    std::string text, error;
  } objects[] = {
      {"", "not a JSON object"},
      {"[1]", "not a JSON object"},
      {R"({"a" 1})", "':' is missing after \"a\""},
      {R"({"a":})", "a value is missing"},
      {R"({"a":"x})", "a string does not end"},
      {R"({"a":[1,2)", "an object or array does not end"},
      {R"({"a":1 "b":2})", "',' or '}' is missing"},
      {R"({1:2})", "a member name is missing"},
  };
  for (const auto& c : objects) {
    try {
      FactsView view(c.text);
      ADD_FAILURE() << c.text << " was accepted";
    } catch (const ocifs::sdk::Error& e) {
      EXPECT_EQ(e.code(), OCIFS_ERR_INVALID_ARGUMENT);
      EXPECT_NE(std::string(e.what()).find(c.error), std::string::npos)
          << c.text << ": " << e.what();
    }
  }
  for (std::string bad : {"{}", "[1]", R"(["a" "b"])", R"(["a")", "[\"a"}) {
    EXPECT_THROW(Strings(bad), ocifs::sdk::Error) << bad;
  }
}

}  // namespace
