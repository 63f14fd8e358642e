// The relationship fields of a binary package (Depends, Pre-Depends, Provides, Conflicts,
// Breaks): a comma-separated list of groups, each a '|'-separated list of alternatives
// "name[:arch] [(op version)]".
//
//   "libc6 (>= 2.34), python3:any | python3-minimal"
//     -> {{libc6 >= 2.34}, {python3 (arch any), python3-minimal}}
//
// Values; thread-compatible.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/debian/version.h"
#include "core/support/status.h"

namespace ocifs::debian {

struct Relation {
  std::string name;
  std::string arch;  // "" (the package's own), "any", "native", or an architecture name
  RelOp op = RelOp::kNone;
  std::string version;  // empty when op is kNone

  std::string ToString() const;  // "libc6 (>= 2.34)", as a message shows it
  friend bool operator==(const Relation&, const Relation&) = default;
};

using Alternatives = std::vector<Relation>;

// A whole field. Architecture restrictions ("[amd64]") and build profiles ("<!nocheck>"), which
// only source packages use, are refused; so are bad names, operators and versions. `what` names
// the field in the error ("Depends of `libpq5`").
Result<std::vector<Alternatives>> ParseRelations(std::string_view field, std::string_view what);

// A package name as policy allows: lower-case letters, digits, '+', '-', '.'; two characters at
// least, starting with a letter or digit.
bool ValidPackageName(std::string_view name);

}  // namespace ocifs::debian
