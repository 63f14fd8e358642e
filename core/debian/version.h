// Debian package versions ([epoch:]upstream[-revision]) compared exactly as dpkg compares them,
// the relations of a Depends field (<<, <=, =, >=, >>) and the version patterns of a request
// ("7:5.1.*").
//
//   CompareVersions("1.0~rc1-1", "1.0-1");          // < 0: '~' sorts before everything
//   Satisfies("2.36-9+deb12u4", RelOp::kGe, "2.34"); // true
//
// Versions are kept as the strings the archive wrote; dpkg and apt do the same. Functions only.
#pragma once

#include <string>
#include <string_view>

#include "core/support/status.h"

namespace ocifs::debian {

// kNone: no version constraint ("libc6" alone).
enum class RelOp { kNone, kLt, kLe, kEq, kGe, kGt };

// OK when `version` is a well-formed Debian version: an optional numeric epoch, an upstream part
// that starts with a digit, an optional revision, and only the characters policy allows.
Status CheckVersion(std::string_view version);

// dpkg's order (lib/dpkg/version.c): epochs numerically, then upstream and revision by
// verrevcmp: digits compare as numbers, letters before other characters, '~' before anything,
// even the end. <0, 0 or >0. Defined for every string; meaningful for checked ones.
int CompareVersions(std::string_view a, std::string_view b);

// Whether `version` satisfies `op target` (kNone: always).
bool Satisfies(std::string_view version, RelOp op, std::string_view target);

// "<<", "<=", "=", ">=", ">>" (and the obsolete "<" and ">", which mean "<=" and ">=").
Result<RelOp> ParseRelOp(std::string_view text);
std::string_view RelOpName(RelOp op);

// Whether `version` matches a request's pattern: the whole version, with '*' for any run of
// characters and '?' for one. A pattern without an epoch also matches the version without its
// epoch ("5.1.*" matches "7:5.1.6-1"), as users write versions from changelogs.
bool MatchesVersionPattern(std::string_view version, std::string_view pattern);

}  // namespace ocifs::debian
