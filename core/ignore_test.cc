#include "core/ignore.h"

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

}  // namespace
}  // namespace ocifs
