#include "core/debian/control.h"

#include <gtest/gtest.h>

#include "core/debian/package.h"
#include "core/debian/relation.h"

namespace ocifs::debian {
namespace {

// Two stanzas as bookworm's main/binary-amd64/Packages writes them (fields trimmed).
constexpr std::string_view kPackages = R"(Package: libpq5
Source: postgresql-15
Version: 15.18-0+deb12u1
Installed-Size: 866
Architecture: amd64
Depends: libc6 (>= 2.33), libgssapi-krb5-2 (>= 1.17), libldap-2.5-0 (>= 2.5.4), libssl3 (>= 3.0.0)
Description: PostgreSQL C client library
Multi-Arch: same
Section: libs
Priority: optional
Filename: pool/main/p/postgresql-15/libpq5_15.18-0+deb12u1_amd64.deb
Size: 196908
SHA256: baef57c288d7d8c09c84cd461da35d28f981aa71c60448c1d95b52110cc9faf9

Package: mawk
Version: 1.3.4.20200120-3.1
Architecture: amd64
Pre-Depends: libc6 (>= 2.34)
Provides: awk
Multi-Arch: foreign
Priority: required
Essential: yes
Filename: pool/main/m/mawk/mawk_1.3.4.20200120-3.1_amd64.deb
Size: 119540
SHA256: 4d91a3d5a2dbc0a4f2fb1d0e2b0fb4ab4e2f4c7c9a73a7e2a91c2a1a0f4b3c2d
)";

TEST(ControlTest, ParagraphsFieldsAndContinuations) {
  constexpr std::string_view text =
      "# a comment, as .sources files have\n"
      "Package: tzdata\n"
      "version: 2024a-0+deb12u1\n"
      "Description: time zone and daylight-saving time data\n"
      " This package contains data required for the implementation of\n"
      " .\n"
      " standard local time.\n"
      "\n \t\n"
      "\n"
      "SHA256:\n"
      " 0a1b  123 main/binary-amd64/Packages\n"
      " 2c3d 4567 main/binary-amd64/Packages.xz\n";
  auto paragraphs = ParseControl(text, "`test`");
  ASSERT_TRUE(paragraphs.ok()) << paragraphs.status().message();
  ASSERT_EQ(paragraphs->size(), 2u);
  const Paragraph& tz = (*paragraphs)[0];
  EXPECT_EQ(tz.line(), 2u);
  EXPECT_EQ(tz.Get("VERSION"), "2024a-0+deb12u1");  // names ignore case
  EXPECT_EQ(tz.Get("Missing"), std::nullopt);
  EXPECT_EQ(tz.Get("Description"),
            "time zone and daylight-saving time data\n This package contains data required for the "
            "implementation of\n .\n standard local time.");
  EXPECT_EQ(tz.Text(), std::string(text.substr(text.find("Package:"),
                                               text.find("\n\n") - text.find("Package:") + 1)));
  const Paragraph& release = (*paragraphs)[1];
  EXPECT_EQ(release.line(), 11u);
  EXPECT_EQ(release.Lines("SHA256"),
            (std::vector<std::string_view>{"0a1b  123 main/binary-amd64/Packages",
                                           "2c3d 4567 main/binary-amd64/Packages.xz"}));
  EXPECT_EQ(
      release.Text(),
      "SHA256:\n 0a1b  123 main/binary-amd64/Packages\n 2c3d 4567 main/binary-amd64/Packages.xz\n");
}

TEST(ControlTest, ErrorsNameTheLine) {
  struct Case {
    std::string text;
    std::string says;
  };
  const Case cases[] = {
      {" continued: first\n", "`f` line 1: a continuation line with no field before it"},
      {"Package: a\nnot a field\n", "`f` line 2: `not a field` is not a field"},
      {"Package: a\nVersion: 1\npackage: b\n", "`f` line 3: field `package` appears twice"},
      {"Package: a\n\nBad Name: x\n", "`f` line 3: `Bad Name` is not a field name"},
  };
  for (const Case& c : cases) {
    auto parsed = ParseControl(c.text, "`f`");
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(parsed.status().message(), c.says);
  }
  // The same field name in two paragraphs is fine.
  EXPECT_TRUE(ParseControl("Package: a\n\nPackage: b\n", "`f`").ok());
}

TEST(RelationTest, Fields) {
  struct Case {
    std::string field;
    std::string parsed;  // groups joined by ", ", alternatives by " | ", via ToString
  };
  const Case cases[] = {
      {"libc6 (>= 2.34), python3:any | python3-minimal, awk",
       "libc6 (>= 2.34), python3:any | python3-minimal, awk"},
      {"libgcc-s1(>=3.0),libstdc++6 (>= 11)", "libgcc-s1 (>= 3.0), libstdc++6 (>= 11)"},
      {"debconf (>= 0.5) | debconf-2.0", "debconf (>= 0.5) | debconf-2.0"},
      {"perl:native, dpkg (<< 1.22~)", "perl:native, dpkg (<< 1.22~)"},
      {"libfoo (< 2)", "libfoo (<= 2)"},
      {"  ", ""},
      {"a1 (= 1:2.0-1) ,\n b2,", "a1 (= 1:2.0-1), b2"},
  };
  for (const Case& c : cases) {
    auto groups = ParseRelations(c.field, "Depends of `x`");
    ASSERT_TRUE(groups.ok()) << c.field << ": " << groups.status().message();
    std::string text;
    for (const Alternatives& group : *groups) {
      if (!text.empty()) text += ", ";
      for (size_t i = 0; i < group.size(); ++i) text += (i ? " | " : "") + group[i].ToString();
    }
    EXPECT_EQ(text, c.parsed) << c.field;
  }
  for (const char* bad : {"Libc6", "libc6 (>= )", "libc6 (~= 1)", "libc6 (>= 1", "libc6 [amd64]",
                          "foo <!nocheck>", "a | ", "libc6 2.0", "x:"}) {
    auto groups = ParseRelations(bad, "Depends of `x`");
    ASSERT_FALSE(groups.ok()) << bad;
    EXPECT_TRUE(groups.status().message().starts_with("Depends of `x`: "))
        << groups.status().message();
  }
}

TEST(PackageTest, IndexStanzas) {
  auto packages = ParsePackages(kPackages, "`Packages`");
  ASSERT_TRUE(packages.ok()) << packages.status().message();
  ASSERT_EQ(packages->size(), 2u);
  const Package& pq = (*packages)[0];
  EXPECT_EQ(pq.Id(), "libpq5 15.18-0+deb12u1");
  EXPECT_EQ(pq.arch, "amd64");
  EXPECT_EQ(pq.multi_arch, "same");
  EXPECT_EQ(pq.depends.size(), 4u);
  EXPECT_EQ(pq.filename, "pool/main/p/postgresql-15/libpq5_15.18-0+deb12u1_amd64.deb");
  EXPECT_EQ(pq.size, 196908u);
  const Package& mawk = (*packages)[1];
  ASSERT_EQ(mawk.provides.size(), 1u);
  EXPECT_EQ(mawk.provides[0].name, "awk");
  EXPECT_EQ(mawk.pre_depends.size(), 1u);
  EXPECT_EQ(mawk.priority, "required");

  struct Bad {
    std::string from, to, says;
  };
  const Bad bad[] = {
      {"SHA256: baef", "SHA256: BAEF", "`Packages` line 1: package `libpq5`: SHA256 `BAEF"},
      {"Size: 196908", "Size: 19k",
       "`Packages` line 1: package `libpq5`: Size `19k` is not a number"},
      {"Filename: pool/main/p", "Filename: ../main/p", "leaves the mirror"},
      {"Version: 15.18-0+deb12u1", "Version: x15", "package `libpq5`: version `x15`"},
      {"Package: mawk", "Package: Mawk", "line 15: package `Mawk` is not a valid package name"},
      {"Provides: awk", "Provides: awk | gawk", "Provides: only names"},
      {"Provides: awk", "Provides: awk (>= 1)", "Provides: only names"},
      {"Depends: libc6 (>= 2.33), ", "Depends: libc6 (>= 2.33) [amd64], ",
       "package `libpq5`, Depends: "},
  };
  for (const Bad& b : bad) {
    std::string text(kPackages);
    text.replace(text.find(b.from), b.from.size(), b.to);
    auto parsed = ParsePackages(text, "`Packages`");
    ASSERT_FALSE(parsed.ok()) << b.to;
    EXPECT_NE(parsed.status().message().find(b.says), std::string::npos)
        << parsed.status().message();
  }
  std::string no_sha(kPackages);
  no_sha.erase(no_sha.rfind("SHA256:"));
  EXPECT_EQ(ParsePackages(no_sha, "`Packages`").status().message(),
            "`Packages` line 15: package `mawk`: the paragraph has no SHA256");
}

TEST(PackageTest, StatusKeepsWhatIsUnpacked) {
  constexpr std::string_view status = R"(Package: libc6
Status: install ok installed
Priority: optional
Architecture: amd64
Multi-Arch: same
Version: 2.36-9+deb12u4
Provides: libc6-amd64

Package: libssl3
Status: deinstall ok config-files
Architecture: amd64
Version: 3.0.11-1~deb12u2

Package: gone
Status: purge ok not-installed
Architecture: amd64

Package: tzdata
Status: install ok half-configured
Architecture: all
Version: 2024a-0+deb12u1
)";
  auto base = ParseStatus(status, "`var/lib/dpkg/status`");
  ASSERT_TRUE(base.ok()) << base.status().message();
  ASSERT_EQ(base->size(), 2u);
  EXPECT_EQ((*base)[0].Id(), "libc6 2.36-9+deb12u4");
  EXPECT_EQ((*base)[0].status, "install ok installed");
  EXPECT_EQ((*base)[1].Id(), "tzdata 2024a-0+deb12u1");
  EXPECT_EQ(ParseStatus("Package: x1\nStatus: install ok installed\nArchitecture: all\n", "`s`")
                .status()
                .message(),
            "`s` line 1: package `x1`: the paragraph has no Version");
}

}  // namespace
}  // namespace ocifs::debian
