#include "core/support/ignore.h"

#include <gtest/gtest.h>

namespace ocifs {
namespace {

TEST(IgnoreTest, DockerignoreSemantics) {
  struct Case {
    std::string rules;  // file content
    std::string path;
    bool excluded;
  };
  const Case cases[] = {
      {"foo", "foo", true},
      {"foo", "foo/bar/baz.py", true},  // a matching directory covers what is below
      {"foo", "afoo", false},
      {"foo", "x/foo", false},  // patterns are anchored at the root
      {"/foo", "foo", true},    // a leading slash changes nothing
      {"./foo/", "foo/x", true},
      {"*.md", "README.md", true},
      {"*.md", "docs/x.md", false},  // '*' does not cross '/'
      {"**/*.md", "docs/x.md", true},
      {"**/*.md", "x.md", true},  // '**' matches zero directories too
      {"docs/**", "docs/a/b", true},
      {"a/**/b", "a/b", true},
      {"a/**/b", "a/x/y/b", true},
      {"a/**/b", "a/x/y/c", false},
      {"?.py", "a.py", true},
      {"?.py", "ab.py", false},
      {"[a-c].txt", "b.txt", true},
      {"[a-c].txt", "d.txt", false},
      {"[^a-c].txt", "d.txt", true},
      {"\\*.txt", "*.txt", true},
      {"\\*.txt", "a.txt", false},
      {"*.log\n!keep.log", "keep.log", false},
      {"*.log\n!keep.log", "other.log", true},
      {"!keep.log\n*.log", "keep.log", true},  // the last match wins
      {"docs\n!docs/keep.md", "docs/keep.md", false},
      {"docs\n!docs/keep.md", "docs/other.md", true},
      {"# comment\n\n  spaced.txt  ", "spaced.txt", true},
      {"# comment", "# comment", false},
      {"a/../b", "b", true},  // cleaned like Go's filepath.Clean
      {"", "anything", false},
  };
  for (const auto& c : cases) {
    IgnoreRules rules;
    ASSERT_TRUE(rules.AddFile(c.rules, "`test`").ok()) << c.rules;
    EXPECT_EQ(rules.Excluded(c.path), c.excluded)
        << "rules `" << c.rules << "` path `" << c.path << "`";
  }
}

TEST(IgnoreTest, CanSkipDirectory) {
  struct Case {
    std::string rules;
    std::string dir;
    bool can_skip;
  };
  const Case cases[] = {
      {"docs", "docs", true},
      {"docs\n!docs/keep.md", "docs", false},
      {"docs\n!other/keep.md", "docs", true},
      {"docs\n!**/keep.md", "docs", false},
      {"docs\n!*/keep.md", "docs", false},
  };
  for (const auto& c : cases) {
    IgnoreRules rules;
    ASSERT_TRUE(rules.AddFile(c.rules, "`test`").ok());
    EXPECT_EQ(rules.CanSkipDirectory(c.dir), c.can_skip) << c.rules;
  }
}

TEST(IgnoreTest, BadPatternNamesFileAndLine) {
  IgnoreRules rules;
  Status s = rules.AddFile("ok\n[unclosed\n", "`.dockerignore`");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("`.dockerignore` line 2"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("[unclosed"), std::string::npos) << s.message();
}

// Many stars once made matching exponential (the ignore fuzzer's timeout, kept in
// fuzz/regressions/ignore): each of these answers at once now, and correctly.
TEST(IgnoreTest, ManyStarsMatchInPolynomialTime) {
  std::string deep_pattern, deep_path;
  for (int i = 0; i < 40; ++i) deep_pattern += "**/";
  deep_pattern += "x";
  for (int i = 0; i < 60; ++i) deep_path += "d/";
  struct Case {
    std::string rules, path;
    bool excluded;
  };
  const std::vector<Case> cases = {
      {deep_pattern, deep_path + "x", true},
      {deep_pattern, deep_path + "y", false},
      {std::string(30, '*') + "a" + std::string(30, '*') + "b", std::string(200, 'a'), false},
      {"*a*a*a*a*a*a*a*a*a*a*b", std::string(100, 'a'), false},
      {"*a*a*a*a*a*a*a*a*a*a*b", std::string(100, 'a') + "b", true},
      {"a*b*c", "aXbYc", true},
      {"a*b*c", "aXbYcZ", false},
      {"**/a/**/b/**/c", "x/a/y/b/z/c", true},
      {"**/a/**/b/**/c", "x/a/y/c/z/b", false},
  };
  for (const auto& c : cases) {
    IgnoreRules rules;
    ASSERT_TRUE(rules.AddFile(c.rules, "`test`").ok()) << c.rules;
    EXPECT_EQ(rules.Excluded(c.path), c.excluded) << c.rules << " vs " << c.path.substr(0, 40);
  }
}

}  // namespace
}  // namespace ocifs
