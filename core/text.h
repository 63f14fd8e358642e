// Small text helpers for the line-oriented files ocifs reads (.gitignore, setup.cfg,
// .python-version, entry_points.txt).
#pragma once

#include <string_view>
#include <vector>

namespace ocifs {

// The lines of `text`, without their '\n' and a '\r' before it; a last line without '\n' counts.
// The views borrow `text`.
std::vector<std::string_view> SplitLines(std::string_view text);

// `s` without leading and trailing spaces, tabs, '\r' and '\n'.
std::string_view TrimSpace(std::string_view s);

}  // namespace ocifs
