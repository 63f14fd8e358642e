#include "core/python/pep440.h"

#include <gtest/gtest.h>

namespace ocifs {
namespace {

TEST(Pep440Test, VersionOrdering) {
  // Each version is smaller than the next one (PEP 440's own examples, plus padding rules).
  const char* ordered[] = {"1.0.dev456",    "1.0a1",         "1.0a2.dev456", "1.0a12.dev456",
                           "1.0a12",        "1.0b1.dev456",  "1.0b2",        "1.0b2.post345.dev456",
                           "1.0b2.post345", "1.0rc1.dev456", "1.0rc1",       "1.0",
                           "1.0+abc.5",     "1.0+abc.7",     "1.0+5",        "1.0.post456.dev34",
                           "1.0.post456",   "1.1.dev1",      "3.9",          "3.10",
                           "3.10.1",        "1!0.1"};
  for (size_t i = 0; i + 1 < std::size(ordered); ++i) {
    auto a = Version::Parse(ordered[i]);
    auto b = Version::Parse(ordered[i + 1]);
    ASSERT_TRUE(a.ok() && b.ok()) << ordered[i] << " " << ordered[i + 1];
    EXPECT_LT(Compare(*a, *b), 0) << ordered[i] << " < " << ordered[i + 1];
    EXPECT_GT(Compare(*b, *a), 0) << ordered[i + 1] << " > " << ordered[i];
  }
  EXPECT_EQ(Compare(*Version::Parse("3.10"), *Version::Parse("3.10.0")), 0);
  EXPECT_EQ(Compare(*Version::Parse("1.0RC1"), *Version::Parse("1.0rc1")), 0);
  EXPECT_EQ(Compare(*Version::Parse("1.0-1"), *Version::Parse("1.0.post1")), 0);
}

TEST(Pep440Test, BadVersions) {
  for (const char* bad : {"", "three", "3..1", "3.1+", "3.1+a..b", "3.1 beta gamma", "3.x"}) {
    EXPECT_FALSE(Version::Parse(bad).ok()) << bad;
  }
}

TEST(Pep440Test, SpecifierSets) {
  struct Case {
    std::string spec;
    std::string version;
    bool contains;
  };
  const Case cases[] = {
      {">=3.9,<3.12", "3.11.4", true},
      {">=3.9,<3.12", "3.12.0", false},
      {">=3.9,<3.12", "3.8.18", false},
      {"~=3.10", "3.13.0", true},
      {"~=3.10", "4.0", false},
      {"~=3.10.2", "3.10.9", true},
      {"~=3.10.2", "3.11.0", false},
      {"!=3.10.*", "3.10.7", false},
      {"!=3.10.*", "3.11.0", true},
      {"==3.11.*", "3.11.9", true},
      {"==3.11.*", "3.12.0", false},
      {">3.10", "3.10.1", true},
      {">3.10", "3.10.0", false},
      {">3.10", "3.10.post1", false},  // >V excludes post-releases of V
      {"<3.11", "3.11.0rc1", false},   // <V excludes pre-releases of V
      {"<=3.11", "3.11.0", true},
      {"==3.11", "3.11.0", true},
      {"==3.11", "3.11.1", false},
      {"==3.11.0", "3.11.0+local", true},  // a specifier without local ignores the candidate's
      {"===3.11.4", "3.11.4", true},
      {"===3.11.4", "3.11.04", false},
      {"", "3.11.0", true},
      {" >= 3.9 , < 4 ", "3.13.1", true},
  };
  for (const auto& c : cases) {
    auto spec = SpecifierSet::Parse(c.spec);
    ASSERT_TRUE(spec.ok()) << c.spec << ": " << spec.status().message();
    auto v = Version::Parse(c.version);
    ASSERT_TRUE(v.ok()) << c.version;
    EXPECT_EQ(spec->Contains(*v), c.contains) << "`" << c.spec << "` contains " << c.version;
  }
}

TEST(Pep440Test, BadSpecifiers) {
  for (const char* bad :
       {">=3.9,", "3.9", ">=three", "~=3", ">=3.*", "==3.1.*+local", ">=3.9,,<4"}) {
    auto spec = SpecifierSet::Parse(bad);
    EXPECT_FALSE(spec.ok()) << bad;
    if (!spec.ok()) {
      EXPECT_EQ(spec.status().code(), Code::kInvalidArgument);
    }
  }
}

TEST(Pep440Test, NewestPythonMinor) {
  struct Case {
    std::string spec;
    std::string minor;  // "" = none
  };
  const Case cases[] = {
      {">=3.9,<3.12", "3.11"},
      {"~=3.10", "3.15"},
      {"!=3.15.*", "3.14"},
      {"==3.11.*", "3.11"},
      {">3.10", "3.15"},
      {"<3.10", "3.9"},
      {">=3.9", "3.15"},
      {"<3.11.4", "3.11"},
      {">=3.14", "3.15"},  // released October 2025 and October 2026
      {"~=3.14.0", "3.14"},
      {">=3.16", ""},
      {"<3.9", ""},
      {"", "3.15"},
      {">=3.10,!=3.15.*,!=3.14.*,!=3.13.*,!=3.12.*", "3.11"},
  };
  for (const auto& c : cases) {
    auto spec = SpecifierSet::Parse(c.spec);
    ASSERT_TRUE(spec.ok()) << c.spec;
    auto minor = NewestPythonMinor(*spec);
    if (c.minor.empty()) {
      EXPECT_FALSE(minor.ok()) << c.spec;
    } else {
      ASSERT_TRUE(minor.ok()) << c.spec << ": " << minor.status().message();
      EXPECT_EQ(*minor, c.minor) << c.spec;
    }
  }
}

}  // namespace
}  // namespace ocifs
