// Licenses as SPDX license expressions: checking an expression against the SPDX License List
// (spdx_ids.inc), and mapping what Python metadata declares (License-Expression, License, the
// "License ::" classifiers) to one where the mapping is unambiguous.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "python_metadata.h"

namespace ocifs::sbom {

// The SPDX License List version of spdx_ids.inc.
inline constexpr const char* kLicenseListVersion = "3.24";

// The identifier as the SPDX License List spells it ("mit" -> "MIT"); nullopt when not on it.
std::optional<std::string_view> SpdxId(std::string_view id);

// A valid SPDX license expression in canonical form (listed ids in their spelling, LicenseRef-
// ids kept, operators upper case, single spaces); nullopt when `expr` is not one.
std::optional<std::string> CanonicalExpression(std::string_view expr);

// Free text as metadata's License field holds it ("MIT License", "Apache 2.0", "BSD-3-Clause",
// "MIT -or- Apache License 2.0"); nullopt unless every part names exactly one license.
std::optional<std::string> ExpressionFromText(std::string_view text);

// The "License :: ..." classifiers; nullopt when there is none, one does not name exactly one
// license ("BSD License"), or they name more than one (dual licensing is AND or OR: unknown).
std::optional<std::string> ExpressionFromClassifiers(const std::vector<std::string>& classifiers);

struct DeclaredLicense {
  std::string expression;  // an SPDX expression; empty: NOASSERTION
  std::string name;        // what the metadata says, when no expression could be made (short)
};
// License-Expression, else License, else the classifiers.
DeclaredLicense LicenseOf(const Headers& metadata);

}  // namespace ocifs::sbom
