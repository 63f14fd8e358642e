#include "core/debian/sources.h"

#include <gtest/gtest.h>

namespace ocifs::debian {
namespace {

std::string Show(const std::vector<AptSource>& sources) {
  std::string out;
  for (const AptSource& s : sources) {
    out += s.uri + " " + s.suite;
    for (const std::string& c : s.components) out += " " + c;
    for (const std::string& k : s.signed_by) out += " [" + k + "]";
    if (!s.signed_by_key.empty()) out += " [inline key]";
    out += " @" + s.origin + "\n";
  }
  return out;
}

TEST(SourcesTest, OneLineFormat) {
  // What debootstrap writes, and what a hand-edited list holds.
  constexpr std::string_view text = R"(deb http://deb.debian.org/debian bookworm main
# deb http://deb.debian.org/debian bookworm-backports main
deb-src http://deb.debian.org/debian bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/pgdg.gpg] https://apt.postgresql.org/pub/repos/apt/ bookworm-pgdg main 15

deb	http://security.debian.org/debian-security bookworm-security main contrib  # trailing comment
)";
  auto sources = ParseSourcesList(text, "`/etc/apt/sources.list`");
  ASSERT_TRUE(sources.ok()) << sources.status().message();
  EXPECT_EQ(Show(*sources),
            "http://deb.debian.org/debian bookworm main @`/etc/apt/sources.list` line 1\n"
            "https://apt.postgresql.org/pub/repos/apt bookworm-pgdg main 15 "
            "[/usr/share/keyrings/pgdg.gpg] "
            "@`/etc/apt/sources.list` line 4\n"
            "http://security.debian.org/debian-security bookworm-security main contrib "
            "@`/etc/apt/sources.list` line 6\n");

  struct Bad {
    std::string line, says;
  };
  const Bad bad[] = {
      {"deb http://x/debian", "line 1: a `deb` line names a URI and a suite"},
      {"deb http://x/debian bookworm", "line 1: `bookworm` has no components"},
      {"deb [trusted=yes] http://x/debian bookworm main",
       "line 1: `trusted=yes` turns off the signature check"},
      {"deb [arch=amd64 http://x/debian bookworm main", "line 1: '[' without ']'"},
      {"deb http://x/debian ./", "line 1: `./` is a flat repository"},
      {"deb file:/srv/repo bookworm main", "line 1: `file:/srv/repo`: only http:// and https://"},
      {"rpm http://x/ y z", "line 1: a line starts with `deb` or `deb-src`"},
  };
  for (const Bad& b : bad) {
    auto parsed = ParseSourcesList(b.line, "`/etc/apt/sources.list`");
    ASSERT_FALSE(parsed.ok()) << b.line;
    EXPECT_TRUE(parsed.status().message().starts_with("`/etc/apt/sources.list` line 1: "))
        << parsed.status().message();
    EXPECT_NE(parsed.status().message().find(b.says), std::string::npos)
        << parsed.status().message();
  }
}

TEST(SourcesTest, Deb822) {
  // The python:3.12-slim image's /etc/apt/sources.list.d/debian.sources, and a third party's with
  // its key inline.
  constexpr std::string_view text = R"(Types: deb
# http://snapshot.debian.org/archive/debian/20240110T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
# http://snapshot.debian.org/archive/debian-security/20240110T000000Z
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main

Enabled: no
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main

Types: deb
URIs: https://packages.example.com/apt/
Suites: stable
Components: main
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 mDMEZ1234
 -----END PGP PUBLIC KEY BLOCK-----
)";
  auto sources = ParseDeb822Sources(text, "`debian.sources`");
  ASSERT_TRUE(sources.ok()) << sources.status().message();
  EXPECT_EQ(
      Show(*sources),
      "http://deb.debian.org/debian bookworm main [/usr/share/keyrings/debian-archive-keyring.gpg] "
      "@`debian.sources` line 1\n"
      "http://deb.debian.org/debian bookworm-updates main "
      "[/usr/share/keyrings/debian-archive-keyring.gpg] "
      "@`debian.sources` line 1\n"
      "http://deb.debian.org/debian-security bookworm-security main "
      "[/usr/share/keyrings/debian-archive-keyring.gpg] @`debian.sources` line 8\n"
      "https://packages.example.com/apt stable main [inline key] @`debian.sources` line 26\n");
  EXPECT_EQ(
      (*sources)[3].signed_by_key,
      "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZ1234\n-----END PGP PUBLIC KEY BLOCK-----\n");

  for (auto [bad, says] :
       {std::pair<std::string, std::string>{"Types: deb\nSuites: bookworm\nComponents: main\n",
                                            "`s` line 1: a source needs URIs and Suites"},
        {"Types: deb\nURIs: http://x/\nSuites: a\n", "`s` line 1: a source needs Components"},
        {"Types: deb\nURIs: http://x/\nSuites: a\nComponents: main\nTrusted: yes\n",
         "`s` line 1: `Trusted: yes` turns off"}}) {
    auto parsed = ParseDeb822Sources(bad, "`s`");
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_TRUE(parsed.status().message().starts_with(says)) << parsed.status().message();
  }
}

TEST(SourcesTest, Mirrors) {
  const std::vector<AptSource> base = *ParseSourcesList(
      "deb http://deb.debian.org/debian bookworm main\n"
      "deb http://deb.debian.org/debian bookworm-updates main\n"
      "deb http://deb.debian.org/debian-security bookworm-security main\n"
      "deb http://other.example/debian bookworm main contrib\n",
      "`sources.list`");
  struct Case {
    std::string mirror;
    std::string shown;  // Show() without origins
  };
  const Case cases[] = {
      {"http://127.0.0.1:8080/debian/",
       "http://127.0.0.1:8080/debian bookworm main\nhttp://127.0.0.1:8080/debian bookworm-updates "
       "main\n"
       "http://127.0.0.1:8080/debian bookworm-security main\n"},
      {"https://mirror.example/debian trixie main contrib",
       "https://mirror.example/debian trixie main contrib\n"},
  };
  for (const Case& c : cases) {
    auto sources = MirrorSources(c.mirror, base, "apt-mirror");
    ASSERT_TRUE(sources.ok()) << sources.status().message();
    std::string shown = Show(*sources), plain;
    for (size_t at = 0; at < shown.size();) {
      const size_t end = shown.find('\n', at);
      plain += shown.substr(at, shown.find(" @", at) - at) + "\n";
      at = end + 1;
    }
    EXPECT_EQ(plain, c.shown) << c.mirror;
  }
  EXPECT_EQ(
      MirrorSources("http://m/debian bookworm", base, "apt-mirror").status().message(),
      "apt-mirror `http://m/debian bookworm`: a mirror with a suite names its components too");
  EXPECT_EQ(MirrorSources("ftp://m/debian", base, "apt-mirror").status().message(),
            "apt-mirror `ftp://m/debian`: `ftp://m/debian`: only http:// and https:// archives can "
            "be fetched");
  EXPECT_NE(
      MirrorSources("http://m/debian", {}, "apt-mirror").status().message().find("no apt sources"),
      std::string::npos);
}

TEST(SourcesTest, Release) {
  constexpr std::string_view text = R"(Origin: Debian
Label: Debian
Suite: oldstable
Version: 12.15
Codename: bookworm
Acquire-By-Hash: yes
Architectures: all amd64 arm64
Components: main contrib non-free-firmware non-free
MD5Sum:
 f230d61720e789abf5df55d6026230c6 50060337 main/binary-amd64/Packages
SHA256:
 515e692f2c4121c6fcec444ef100cc18f79a991910615f3a88c8b7becfc94d2f 50060337 main/binary-amd64/Packages
 9e0b5aabb2465b3d2e7a7fe27f9913846277833f7a2826e7767acccff5b588c5  8790396 main/binary-amd64/Packages.xz
)";
  for (const char* suite : {"bookworm", "oldstable"}) {
    auto r = ParseRelease(text, suite, "InRelease");
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_TRUE(r->acquire_by_hash);
    EXPECT_EQ(r->architectures, (std::vector<std::string>{"all", "amd64", "arm64"}));
    ASSERT_EQ(r->files.size(), 2u);
    const ReleaseFile* xz = r->Find("main/binary-amd64/Packages.xz");
    ASSERT_NE(xz, nullptr);
    EXPECT_EQ(xz->size, 8790396u);
    EXPECT_EQ(xz->sha256, "9e0b5aabb2465b3d2e7a7fe27f9913846277833f7a2826e7767acccff5b588c5");
    EXPECT_EQ(r->Find("main/binary-arm64/Packages.xz"), nullptr);
  }
  EXPECT_EQ(ParseRelease(text, "trixie", "InRelease").status().message(),
            "InRelease: it is the Release of `bookworm`, not of `trixie`");
  std::string bad_line(text);
  bad_line.replace(bad_line.find(" 8790396"), 8, " 87x0396");
  EXPECT_NE(ParseRelease(bad_line, "bookworm", "InRelease")
                .status()
                .message()
                .find("is not \"HASH SIZE PATH\""),
            std::string::npos);
  EXPECT_EQ(ParseRelease("Codename: bookworm\n", "bookworm", "InRelease").status().message(),
            "InRelease: it has no SHA256 list of its indexes");
  EXPECT_NE(ParseRelease("Codename: a\n\nCodename: b\n", "a", "InRelease")
                .status()
                .message()
                .find("one paragraph"),
            std::string::npos);
}

}  // namespace
}  // namespace ocifs::debian
