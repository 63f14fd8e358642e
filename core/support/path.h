// Small helpers for the '/'-separated relative paths that ocifs handles (tree paths, layer names,
// ignore patterns). Pure functions on strings; they never touch the file system.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ocifs {

// The non-empty components of `path`: "a//b/" -> {"a", "b"}. Views into `path`.
std::vector<std::string_view> SplitPath(std::string_view path);

// "a" + "b" -> "a/b"; an empty side gives the other.
std::string JoinPath(std::string_view a, std::string_view b);

}  // namespace ocifs
