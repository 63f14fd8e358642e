#include "core/debian/version.h"

#include <gtest/gtest.h>

namespace ocifs::debian {
namespace {

TEST(DebianVersionTest, OrderIsDpkgs) {
  // Each version sorts before the next (dpkg's own rules: '~' first, then the end, then letters,
  // then other characters; digits as numbers; epochs first).
  const char* ordered[] = {
      "0.9",      "1.0~~",          "1.0~~a",  "1.0~", "1.0~rc1",  "1.0",       "1.0-0.1", "1.0-1",
      "1.0-1+b1", "1.0-1+deb12u1",  "1.0-2",   "1.0a", "1.0+dfsg", "1.0.0",     "1.2",     "1.10",
      "2.36-9",   "2.36-9+deb12u4", "2.36-10", "10",   "1:0.1",    "1:0.2~pre", "2:0.0.1"};
  for (size_t i = 0; i + 1 < std::size(ordered); ++i) {
    EXPECT_LT(CompareVersions(ordered[i], ordered[i + 1]), 0)
        << ordered[i] << " < " << ordered[i + 1];
    EXPECT_GT(CompareVersions(ordered[i + 1], ordered[i]), 0)
        << ordered[i + 1] << " > " << ordered[i];
  }
  struct Equal {
    const char* a;
    const char* b;
  };
  for (const Equal& e : {Equal{"0:1.0", "1.0"}, Equal{"1.0-01", "1.0-1"}, Equal{"1.001", "1.1"},
                         Equal{"1.0", "1.0-0"}, Equal{"00:1.0", "1.0"}}) {
    EXPECT_EQ(CompareVersions(e.a, e.b), 0) << e.a << " == " << e.b;
  }
}

TEST(DebianVersionTest, Relations) {
  struct Case {
    const char* version;
    const char* op;
    const char* target;
    bool satisfied;
  };
  const Case cases[] = {
      {"2.36-9+deb12u4", ">=", "2.34", true},
      {"2.31-13", ">=", "2.34", false},
      {"1.17-6", ">>", "1.17", true},
      {"1.17", ">>", "1.17", false},
      {"1.0~rc1", "<<", "1.0", true},
      {"1.0", "<<", "1.0", false},
      {"1.0", "<=", "1.0", true},
      {"1.0-1", "=", "1.0-1", true},
      {"1:1.0-1", "=", "1.0-1", false},
      {"3.0.11-1~deb12u2", ">=", "3.0.0", true},
      {"2.0", "<", "2.0", true},  // obsolete "<" means "<="
      {"2.1", ">", "2.0", true},  // obsolete ">" means ">="
  };
  for (const Case& c : cases) {
    auto op = ParseRelOp(c.op);
    ASSERT_TRUE(op.ok()) << c.op;
    EXPECT_EQ(Satisfies(c.version, *op, c.target), c.satisfied)
        << c.version << " " << c.op << " " << c.target;
  }
  EXPECT_TRUE(Satisfies("anything", RelOp::kNone, ""));
  for (const char* bad : {"", "==", "=>", "<>", "!="}) EXPECT_FALSE(ParseRelOp(bad).ok()) << bad;
  EXPECT_EQ(RelOpName(*ParseRelOp("<")), "<=");
}

TEST(DebianVersionTest, CheckVersion) {
  for (const char* good : {"1.0", "1:2.3-4", "15.18-0+deb12u1", "7:5.1.6-0+deb12u1",
                           "1.0~rc1+dfsg-2", "2.36-9+deb12u4", "1.2.3-4-5", "1:2:3-1", "0"}) {
    EXPECT_TRUE(CheckVersion(good).ok()) << good << ": " << CheckVersion(good).message();
  }
  struct Bad {
    const char* version;
    const char* says;
  };
  for (const Bad& b :
       {Bad{"", "empty"}, Bad{":1.0", "epoch"}, Bad{"a:1.0", "epoch"}, Bad{"1:", "no upstream"},
        Bad{"v1.0", "start with a digit"}, Bad{"1.0-", "revision"}, Bad{"1.0 beta", "holds ' '"},
        Bad{"1.0-a_b", "holds '_'"}}) {
    Status s = CheckVersion(b.version);
    EXPECT_FALSE(s.ok()) << b.version;
    EXPECT_NE(s.message().find(b.says), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("`" + std::string(b.version) + "`"), std::string::npos)
        << s.message();
  }
}

TEST(DebianVersionTest, Patterns) {
  struct Case {
    const char* version;
    const char* pattern;
    bool matches;
  };
  const Case cases[] = {
      {"7:5.1.6-0+deb12u1", "7:5.1.*", true},
      {"7:5.1.6-0+deb12u1", "5.1.*", true},
      {"7:5.1.6-0+deb12u1", "7:6.*", false},
      {"7:5.1.6-0+deb12u1", "6:5.1.*", false},
      {"15.18-0+deb12u1", "15.18-0+deb12u1", true},
      {"15.18-0+deb12u1", "15.18", false},
      {"15.18-0+deb12u1", "15.1?-*", true},
      {"15.18-0+deb12u1", "*", true},
      {"1.0", "1.0*", true},
      {"1.0", "1.0?", false},
      {"2.36-9+deb12u4", "2.36-9+deb12u*", true},
      {"2.36-9", "2.36-9+deb12u*", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(MatchesVersionPattern(c.version, c.pattern), c.matches)
        << c.version << " ~ " << c.pattern;
  }
}

}  // namespace
}  // namespace ocifs::debian
