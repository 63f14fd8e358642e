// Python distribution metadata as installers leave it in site-packages: the core metadata of
// `*.dist-info/METADATA` and `*.egg-info/PKG-INFO` (RFC 822 style headers), the `requires.txt` of
// egg-info directories, PEP 508 requirements and their environment markers.
//
// Everything here parses text from the project's dependencies, which may be hostile: nothing
// throws on bad input; what cannot be read is left empty (or, for markers, reported as unknown).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ocifs/python_names.hpp"

namespace ocifs::sbom {

// PEP 503: lower case, every run of '-', '_' and '.' one '-' (the SDK's, which the host shares).
using sdk::python::NormalizeName;

// The header fields of a core metadata file, by name as written (case kept), values in order.
// Continuation lines are joined with '\n'. Parsing stops at the first empty line (the body).
using Headers = std::map<std::string, std::vector<std::string>, std::less<>>;
Headers ParseHeaders(std::string_view text);

struct Requirement {
  std::string name;    // as written
  std::string marker;  // after ';', trimmed; empty when none
};
// "starlette<0.26.0,>=0.25.0; python_version >= '3.8'" -> {"starlette", "python_version >= ..."};
// nullopt when the line does not start with a distribution name.
std::optional<Requirement> ParseRequirement(std::string_view line);

// The requirements of an egg-info `requires.txt`: the lines before the first section, and those of
// `[:MARKER]` sections with the marker joined to their own. Sections for extras (`[extra]`,
// `[extra:MARKER]`) are left out: they are not installed unless asked for.
std::vector<Requirement> ParseRequiresTxt(std::string_view text);

// The values PEP 508 markers are evaluated against.
struct MarkerEnvironment {
  std::string python_version;       // "3.11"
  std::string python_full_version;  // "3.11.0"
  std::string platform_machine;     // "x86_64", "aarch64"
  // os_name "posix", sys_platform "linux", platform_system "Linux", implementation_name "cpython",
  // platform_python_implementation "CPython"; `extra` is "" (no extras are installed).
};
// The environment of a Linux image: `python` "3.11", `platform` "linux/amd64".
MarkerEnvironment LinuxEnvironment(std::string_view python, std::string_view platform);

// True or false; nullopt when the marker cannot be parsed or names a variable not known here.
std::optional<bool> EvaluateMarker(std::string_view marker, const MarkerEnvironment& env);

// Compares dotted release versions ("3.8", "3.11.0rc1" compares as 3.11.0): <0, 0, >0.
int CompareReleases(std::string_view a, std::string_view b);

}  // namespace ocifs::sbom
