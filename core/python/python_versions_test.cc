#include "core/python/python_versions.h"

#include <gtest/gtest.h>

namespace ocifs {
namespace {

TEST(PythonVersionsTest, EveryReleaseFrom39To315WithItsBaseTag) {
  std::vector<std::string> minors;
  for (const auto& p : KnownPythons()) {
    minors.emplace_back(p.minor);
    EXPECT_EQ(p.base_tag, std::string(p.minor) + "-slim");
  }
  EXPECT_EQ(minors,
            (std::vector<std::string>{"3.9", "3.10", "3.11", "3.12", "3.13", "3.14", "3.15"}));
  EXPECT_EQ(NewestPython().minor, "3.15");
  EXPECT_EQ(FindPython("3.14")->released, "2025-10");
  EXPECT_EQ(FindPython("3.15")->released, "2026-10");
  EXPECT_EQ(FindPython("3.8"), nullptr);
}

TEST(PythonVersionsTest, PinFiles) {
  struct Case {
    std::string text, minor;  // minor empty: an error
  };
  const Case cases[] = {
      {"3.12\n", "3.12"},
      {"3.12.4\n", "3.12"},
      {"# pinned by pyenv\n\n3.14.0\n", "3.14"},
      {"cpython-3.13.1-linux-x86_64-gnu\n", "3.13"},
      {"python-3.11.4", "3.11"},  // runtime.txt
      {"3.15.0rc1\n", "3.15"},
      {"3.10\n3.9\n", "3.10"},  // the first one
      {"pypy3.10\n", ""},
      {"system\n", ""},
      {"\n# only a comment\n", ""},
  };
  for (const auto& c : cases) {
    auto got = PythonMinorFromPin(c.text, ".python-version");
    if (c.minor.empty()) {
      ASSERT_FALSE(got.ok()) << c.text;
      EXPECT_NE(got.status().message().find(".python-version"), std::string::npos);
    } else {
      ASSERT_TRUE(got.ok()) << c.text << ": " << got.status().message();
      EXPECT_EQ(*got, c.minor) << c.text;
    }
  }
}

TEST(PythonVersionsTest, PoetryConstraints) {
  struct Case {
    std::string poetry, pep440;  // pep440 "!": an error
  };
  const Case cases[] = {
      {"^3.10", ">=3.10,<4.0"},       {"^3.11.2", ">=3.11.2,<4.0"},
      {"~3.10", ">=3.10,<3.11"},      {"~3", ">=3,<4"},
      {">=3.9,<3.13", ">=3.9,<3.13"}, {">=3.9 <3.13", ">=3.9,<3.13"},
      {"3.12.*", "==3.12.*"},         {"3.12", "==3.12"},
      {"~=3.10", "~=3.10"},           {"*", ""},
      {"^2.7 || ^3.6", "!"},
  };
  for (const auto& c : cases) {
    auto got = PoetryPythonSpecifier(c.poetry);
    if (c.pep440 == "!") {
      EXPECT_FALSE(got.ok()) << c.poetry;
    } else {
      ASSERT_TRUE(got.ok()) << c.poetry << ": " << got.status().message();
      EXPECT_EQ(*got, c.pep440) << c.poetry;
    }
  }
}

}  // namespace
}  // namespace ocifs
