// Which Debian packages to add to a base so that the requested ones can run: apt's choice for
// `apt-get install --no-install-recommends`, without apt, deterministic.
//
//   OCIFS_ASSIGN_OR_RETURN(Request r, ParseRequest("libpq5"));
//   OCIFS_ASSIGN_OR_RETURN(Resolution res, Resolve({r}, index, base, "amd64"));
//   // res.packages: libpq5 and what it needs that the base lacks, dependencies first
//
// The rules, in the order they apply:
// - A requirement already met by the base or by a package chosen before is met: by name, or by a
//   Provides (a versioned requirement only by "Provides: x (= v)").
// - Otherwise the first alternative of the group that can be added is added: the highest version
//   of that name the index holds that satisfies it; else the provider of that name with the
//   highest priority, then the first by name.
// - A package whose name the base (or an earlier choice) already holds is never added a second
//   time at another version: ocifs adds packages beside the base's and replaces none.
// - Conflicts and Breaks between any two packages, the base's included, are errors.
// - Recommends and Suggests are not followed (as --no-install-recommends).
// The result depends only on the requests (in order), the index (in order) and the base.
//
// Functions only; thread-compatible.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/debian/package.h"
#include "core/support/status.h"

namespace ocifs::debian {

// "libpq5", "ffmpeg=7:5.1.*" (a version pattern, see MatchesVersionPattern).
struct Request {
  std::string name;
  std::string version_pattern;  // "" for the highest version

  std::string ToString() const {
    return version_pattern.empty() ? name : name + "=" + version_pattern;
  }
  friend bool operator==(const Request&, const Request&) = default;
};

// `what` names where the text came from in an error ("`pyproject.toml`
// tool.ocifs.system-packages").
Result<Request> ParseRequest(std::string_view text, std::string_view what);

struct Resolution {
  std::vector<Package> packages;     // to add: each after the packages it depends on
  std::vector<std::string> in_base;  // requests the base meets already: "libpq5 15.5-0+deb12u1"
};

// `arch`: the base's dpkg architecture ("amd64", "arm64"); the index's packages of that
// architecture and "all" are candidates. kNotFound for a package nothing provides,
// kInvalidArgument for one that cannot be added; the message names the package and the chain of
// packages that asked for it, up to the request.
Result<Resolution> Resolve(const std::vector<Request>& requests, const std::vector<Package>& index,
                           const std::vector<Package>& base, std::string_view arch);

}  // namespace ocifs::debian
