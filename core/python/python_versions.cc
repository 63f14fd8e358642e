#include "core/python/python_versions.h"

#include <array>
#include <cctype>
#include <regex>
#include <string>

#include <fmt/format.h>

#include "core/support/text.h"

namespace ocifs {
namespace {

constexpr std::array<PythonRelease, 7> kPythons = {{
    {"3.9", "2020-10", "3.9-slim"},
    {"3.10", "2021-10", "3.10-slim"},
    {"3.11", "2022-10", "3.11-slim"},
    {"3.12", "2023-10", "3.12-slim"},
    {"3.13", "2024-10", "3.13-slim"},
    {"3.14", "2025-10", "3.14-slim"},
    {"3.15", "2026-10", "3.15-slim"},
}};

}  // namespace

std::span<const PythonRelease> KnownPythons() { return kPythons; }

const PythonRelease& NewestPython() { return kPythons.back(); }

const PythonRelease* FindPython(std::string_view minor) {
  for (const auto& p : kPythons) {
    if (p.minor == minor) return &p;
  }
  return nullptr;
}

Result<std::string> PythonMinorFromPin(std::string_view text, std::string_view what) {
  for (std::string_view raw : SplitLines(text)) {
    std::string_view line = TrimSpace(raw);
    if (line.empty() || line.front() == '#') continue;
    static const std::regex kPin(
        R"((?:cpython-|python-|python)?(3\.\d{1,2})(?:\.\d+)?(?:[a-z]+\d*)?(?:-.*)?)");
    std::match_results<std::string_view::const_iterator> m;
    if (!std::regex_match(line.begin(), line.end(), m, kPin)) {
      return InvalidArgument(fmt::format(
          "{}: `{}` names no CPython version (want e.g. `3.12` or `3.12.4`)", what, line));
    }
    return m[1].str();
  }
  return InvalidArgument(fmt::format("{}: names no Python version", what));
}

Result<std::string> PoetryPythonSpecifier(std::string_view constraint) {
  std::string_view c = TrimSpace(constraint);
  if (c.find("||") != std::string_view::npos || c.find('|') != std::string_view::npos) {
    return InvalidArgument(fmt::format(
        "Poetry python constraint `{}`: alternatives (`||`) have no PEP 440 equivalent; set "
        "requires-python or --python",
        constraint));
  }
  if (c.empty() || c == "*") return std::string();
  std::string out;
  // Clauses separated by commas (or spaces, which Poetry also allows).
  std::string text(c);
  for (char& ch : text) {
    if (ch == ' ') ch = ',';
  }
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string clause(TrimSpace(std::string_view(text).substr(start, end - start)));
    start = end + 1;
    if (clause.empty()) continue;
    std::string spec;
    static const std::regex kCaret(R"(\^(\d+)(?:\.(\d+))?(?:\.(\d+))?)");
    static const std::regex kTilde(R"(~(\d+)(?:\.(\d+))?(?:\.(\d+))?)");
    std::smatch m;
    if (std::regex_match(clause, m, kCaret)) {
      // ^3.10 -> >=3.10,<4.0; ^0.2 -> >=0.2,<0.3 (the first non-zero part is kept).
      const int major = std::stoi(m[1]);
      const std::string low = clause.substr(1);
      spec = major > 0 || !m[2].matched ? fmt::format(">={},<{}.0", low, major + 1)
                                        : fmt::format(">={},<0.{}", low, std::stoi(m[2]) + 1);
    } else if (std::regex_match(clause, m, kTilde) && clause.rfind("~=", 0) != 0) {
      // ~3.10 -> >=3.10,<3.11; ~3 -> >=3,<4.
      const int major = std::stoi(m[1]);
      const std::string low = clause.substr(1);
      spec = m[2].matched ? fmt::format(">={},<{}.{}", low, major, std::stoi(m[2]) + 1)
                          : fmt::format(">={},<{}", low, major + 1);
    } else if (std::isdigit(static_cast<unsigned char>(clause.front()))) {
      spec = "==" + clause;  // "3.10" or "3.10.*"
    } else {
      spec = clause;  // >=, <, !=, ==, ~=: PEP 440 already
    }
    if (!out.empty()) out += ",";
    out += spec;
  }
  return out;
}

}  // namespace ocifs
