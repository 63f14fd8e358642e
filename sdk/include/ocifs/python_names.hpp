// Python distribution names as the packaging specifications define them, header-only: the host
// and plugins (which see only the SDK) need the same rules, so they are written once, here.
//
//   NormalizeName   PEP 503's normalized name ("Typing_Extensions" -> "typing-extensions");
//   ParseDistDir    the name and version an installed distribution's metadata directory gives
//                   ("Django-3.2.19.dist-info", "foo-1.0-py3.11.egg-info").
#pragma once

#include <cctype>
#include <optional>
#include <string>
#include <string_view>

namespace ocifs::sdk::python {

// PEP 503: lower case, every run of '-', '_' and '.' one '-'.
inline std::string NormalizeName(std::string_view name) {
  std::string out;
  bool sep = false;
  for (char c : name) {
    if (c == '-' || c == '_' || c == '.') {
      sep = true;
      continue;
    }
    if (sep && !out.empty()) out += '-';
    sep = false;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

struct DistDir {
  std::string name;     // as written (wheels write the name's '-' as '_'); not normalized
  std::string version;  // empty when the directory name has none
};

// A `*.dist-info` or `*.egg-info` name (a directory, or an egg-info file) split at its first '-'
// ("the version never holds a '-'"; an egg-info's "-py3.11" tag is dropped):
// "Name-1.2.3.dist-info" -> {"Name", "1.2.3"}; "foo-1.0-py3.11.egg-info" -> {"foo", "1.0"};
// "foo.egg-info" -> {"foo", ""}. Nullopt for any other name.
inline std::optional<DistDir> ParseDistDir(std::string_view dir) {
  for (std::string_view suffix : {std::string_view(".dist-info"), std::string_view(".egg-info")}) {
    if (dir.size() <= suffix.size() || dir.substr(dir.size() - suffix.size()) != suffix) continue;
    const std::string_view stem = dir.substr(0, dir.size() - suffix.size());
    const size_t dash = stem.find('-');
    if (dash == std::string_view::npos) return DistDir{std::string(stem), ""};
    const std::string_view version = stem.substr(dash + 1);
    return DistDir{std::string(stem.substr(0, dash)),
                   std::string(version.substr(0, version.find('-')))};
  }
  return std::nullopt;
}

}  // namespace ocifs::sdk::python
