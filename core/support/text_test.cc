#include "core/support/text.h"

#include <gtest/gtest.h>

namespace ocifs {
namespace {

TEST(TextTest, SplitLinesAndTrimSpace) {
  using V = std::vector<std::string_view>;
  const std::pair<std::string_view, V> cases[] = {
      {"", V{}},     {"a", V{"a"}}, {"a\n", V{"a"}}, {"a\r\nb\n\nc", V{"a", "b", "", "c"}},
      {"\n", V{""}},
  };
  for (const auto& [text, lines] : cases) EXPECT_EQ(SplitLines(text), lines) << text;
  EXPECT_EQ(TrimSpace(" \t x y \r\n"), "x y");
  EXPECT_EQ(TrimSpace("   "), "");
}

TEST(TextTest, DotenvValue) {
  struct Case {
    std::string text;
    std::optional<std::string> want;
  } cases[] = {
      {"FLASK_APP=microblog.py\n", "microblog.py"},
      {"# FLASK_APP=no\nexport FLASK_APP = 'app:create_app(\"dev\")'\n", "app:create_app(\"dev\")"},
      {"FLASK_APP=\"a b\" # comment\r\n", "a b"},
      {"FLASK_APP=first\nFLASK_APP=second", "second"},
      {"FLASK_APP=x # the app\n", "x"},
      {"FLASK_APPS=x\nNOT_FLASK_APP=y\n", std::nullopt},
      {"FLASK_ENV=development\n", std::nullopt},
      {"", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(DotenvValue(c.text, "FLASK_APP"), c.want) << c.text;
}

TEST(Base64, RoundTrips) {
  for (std::string s : {"", "a", "ab", "abc", "abcd", "user:pässword"}) {
    auto back = Base64Decode(Base64Encode(s));
    ASSERT_TRUE(back.has_value()) << s;
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(Base64Encode("alice:s3cret"), "YWxpY2U6czNjcmV0");
  EXPECT_FALSE(Base64Decode("abc").has_value());
  EXPECT_FALSE(Base64Decode("ab!=").has_value());
}

}  // namespace
}  // namespace ocifs
