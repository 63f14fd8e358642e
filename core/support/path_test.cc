#include "core/support/path.h"

#include <gtest/gtest.h>

namespace ocifs {
namespace {

TEST(PathTest, SplitAndJoin) {
  using V = std::vector<std::string_view>;
  struct Case {
    std::string path;
    V parts;
  };
  const Case cases[] = {
      {"", {}}, {"a", {"a"}}, {"a/b", {"a", "b"}}, {"/a//b/", {"a", "b"}}, {"./a", {".", "a"}}};
  for (const auto& c : cases) EXPECT_EQ(SplitPath(c.path), c.parts) << c.path;
  EXPECT_EQ(JoinPath("", "b"), "b");
  EXPECT_EQ(JoinPath("a", ""), "a");
  EXPECT_EQ(JoinPath("a/b", "c"), "a/b/c");
}

}  // namespace
}  // namespace ocifs
