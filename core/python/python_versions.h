// The CPython releases ocifs knows, as data in one place: each minor version, when it came out,
// and the tag of its default base image (`python:3.Y-slim`). Adding a release is one row.
//
// Also the ways projects say which Python they run (each a pure function, no I/O):
// `.python-version` (pyenv, uv), `runtime.txt` (Heroku-style `python-3.11.4`), and Poetry's
// `python = "^3.10"` constraint, turned into a PEP 440 specifier.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "core/support/status.h"

namespace ocifs {

struct PythonRelease {
  std::string_view minor;     // "3.14"
  std::string_view released;  // "2025-10" (year-month of 3.Y.0)
  std::string_view base_tag;  // "3.14-slim": the default base is python:<base_tag>
};

// Oldest first: 3.9 ... 3.15.
std::span<const PythonRelease> KnownPythons();
const PythonRelease& NewestPython();
// The row of `minor` ("3.12"), or null when ocifs does not know it.
const PythonRelease* FindPython(std::string_view minor);

// The minor version "3.Y" a `.python-version` or `runtime.txt` names (its first line that is not
// a comment: "3.12", "3.12.4", "cpython-3.12.4", "python-3.12.4"); `what` names the file in the
// error when it names none ("pypy3.10" or "system" name no CPython minor).
Result<std::string> PythonMinorFromPin(std::string_view text, std::string_view what);

// Poetry's constraint syntax as a PEP 440 specifier set: "^3.10" -> ">=3.10,<4.0",
// "~3.10" -> ">=3.10,<3.11", "3.10.*" and ">=3.9,<3.13" kept, "||" alternatives refused (no
// PEP 440 equivalent), "*" -> "" (any).
Result<std::string> PoetryPythonSpecifier(std::string_view constraint);

}  // namespace ocifs
