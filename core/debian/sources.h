// Where apt finds packages: the base image's `/etc/apt/sources.list` (one-line format) and
// `/etc/apt/sources.list.d/*.list` and `*.sources` (deb822), and the Release file of a suite.
//
//   OCIFS_ASSIGN_OR_RETURN(auto list, ParseSourcesList(text, "`/etc/apt/sources.list`"));
//   OCIFS_ASSIGN_OR_RETURN(Release r, ParseRelease(verified_text, "InRelease of `bookworm`"));
//   const ReleaseFile* f = r.Find("main/binary-amd64/Packages.xz");
//
// Values; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/support/status.h"

namespace ocifs::debian {

// One suite of one archive: "deb http://deb.debian.org/debian bookworm main" is
// {uri "http://deb.debian.org/debian", suite "bookworm", components {"main"}}.
struct AptSource {
  std::string uri;  // without a trailing '/'
  std::string suite;
  std::vector<std::string> components;
  std::vector<std::string> signed_by;  // keyring paths in the base, or empty
  std::string signed_by_key;           // an inline armored key (deb822 Signed-By), or empty
  std::string origin;                  // "`/etc/apt/sources.list` line 3", for messages

  friend bool operator==(const AptSource&, const AptSource&) = default;
};

// The `deb` lines of a one-line sources.list (`deb-src` lines, comments and blank lines are
// skipped). Options in brackets: `signed-by=` is kept, `arch=` and `lang=` are ignored,
// `trusted=yes` is refused (ocifs verifies every index). Flat repositories ("./" suites) are
// kUnsupported. Errors name `what` and the line.
Result<std::vector<AptSource>> ParseSourcesList(std::string_view text, std::string_view what);

// The sources of a deb822 `.sources` file: one per URI and suite of each paragraph whose Types
// include `deb` and that is not `Enabled: no`.
Result<std::vector<AptSource>> ParseDeb822Sources(std::string_view text, std::string_view what);

// A mirror as the user names it (`apt-mirror`): "URL" alone takes the suites and components of
// `base` (the base's own sources), each with the mirror's URL; "URL SUITE COMPONENT..." is one
// source. The mirror replaces the base's sources.
Result<std::vector<AptSource>> MirrorSources(std::string_view mirror,
                                             const std::vector<AptSource>& base,
                                             std::string_view what);

struct ReleaseFile {
  std::string path;  // relative to dists/SUITE/: "main/binary-amd64/Packages.xz"
  uint64_t size = 0;
  std::string sha256;
};

struct Release {
  std::string suite, codename;
  std::vector<std::string> architectures, components;
  bool acquire_by_hash = false;
  std::vector<ReleaseFile> files;  // the SHA256 list

  const ReleaseFile* Find(std::string_view path) const;
};

// A Release file's text (an InRelease's signed part, once verified). Its Suite or Codename must
// be `suite`, as apt requires, or a mirror could answer with another suite's packages.
Result<Release> ParseRelease(std::string_view text, std::string_view suite, std::string_view what);

}  // namespace ocifs::debian
