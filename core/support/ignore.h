// IgnoreRules: which project files stay out of the application layer.
//
// The syntax and meaning are Docker's `.dockerignore` (moby/patternmatcher):
//   * one pattern a line; blank lines and lines starting with `#` are skipped; spaces trimmed;
//   * a pattern is a path relative to the project root (a leading `/` is dropped, the path is
//     cleaned: `a/./b/` is `a/b`); `*` matches any run of non-`/` characters, `?` one non-`/`
//     character, `[a-z]`/`[^a-z]` a class, `\` escapes; `**` matches any number of directories,
//     including none;
//   * a pattern that matches a directory excludes everything below it;
//   * `!pattern` re-includes what an earlier pattern excluded; the last matching pattern wins.
//
// Rules are added in order (defaults, `.dockerignore`, `.ocifsignore`, `--exclude`), so a later
// source can re-include what an earlier one excluded.
//
// Thread safety: immutable after construction; Excluded() may be called concurrently.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/support/status.h"

namespace ocifs {

class IgnoreRules {
 public:
  // Adds the lines of an ignore file. `source` names it in error messages ("`.dockerignore`").
  Status AddFile(std::string_view content, std::string_view source);
  // Adds one pattern (a line of the file syntax, `!` allowed).
  Status Add(std::string_view pattern, std::string_view source);

  // Whether `path` (relative, '/'-separated) is excluded.
  bool Excluded(std::string_view path) const;
  // Whether a walk may skip everything below the excluded directory `dir`: true unless a
  // re-including pattern could match something under it.
  bool CanSkipDirectory(std::string_view dir) const;

  bool empty() const { return rules_.empty(); }
  // Same patterns in the same order (the sources named in messages do not count).
  bool operator==(const IgnoreRules&) const = default;

 private:
  struct Rule {
    std::vector<std::string> segments;  // the cleaned pattern split at '/'
    bool negate = false;
    bool operator==(const Rule&) const = default;
  };
  static bool Matches(const Rule& rule, const std::vector<std::string_view>& path);
  std::vector<Rule> rules_;
};

// Go's filepath.Match for one path segment (no '/' in `name`); false for a malformed pattern.
bool GlobMatchSegment(std::string_view pattern, std::string_view name);

}  // namespace ocifs
