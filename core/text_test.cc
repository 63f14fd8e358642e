#include "core/text.h"

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

}  // namespace
}  // namespace ocifs
