// PEP 440 versions and version specifier sets, enough to answer "which CPython minor does
// `requires-python` allow?" exactly as pip would compare.
//
//   auto spec = SpecifierSet::Parse(">=3.9,!=3.10.*,<3.13");
//   spec->Contains(*Version::Parse("3.11.4"));   // true
//
// Values; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/support/status.h"

namespace ocifs {

class Version {
 public:
  static Result<Version> Parse(std::string_view text);

  const std::vector<uint64_t>& release() const { return release_; }
  bool is_prerelease() const { return pre_.has_value() || dev_.has_value(); }
  bool is_postrelease() const { return post_.has_value(); }
  bool has_local() const { return !local_.empty(); }
  Version WithoutLocal() const;
  const std::string& text() const { return text_; }

  // PEP 440 ordering (epoch, release padded with zeros, pre/post/dev, local).
  friend int Compare(const Version& a, const Version& b);
  friend bool operator==(const Version& a, const Version& b) { return Compare(a, b) == 0; }
  friend bool operator<(const Version& a, const Version& b) { return Compare(a, b) < 0; }

 private:
  uint64_t epoch_ = 0;
  std::vector<uint64_t> release_;
  std::optional<std::pair<int, uint64_t>> pre_;  // 0=a, 1=b, 2=rc
  std::optional<uint64_t> post_;
  std::optional<uint64_t> dev_;
  std::vector<std::string> local_;
  std::string text_;
};

class SpecifierSet {
 public:
  // A comma-separated list such as ">=3.9,<3.12"; empty means "any version".
  static Result<SpecifierSet> Parse(std::string_view text);

  bool Contains(const Version& v) const;
  const std::string& text() const { return text_; }

 private:
  struct Spec {
    std::string op;   // "~=", "==", "!=", "<=", ">=", "<", ">", "==="
    std::string raw;  // the version text as written
    bool wildcard = false;
    std::optional<Version> version;  // unset only for "==="
  };
  static bool Matches(const Spec& s, const Version& v);
  std::vector<Spec> specs_;
  std::string text_;
};

// The newest CPython minor "3.Y" of KnownPythons() (python_versions.h) that `spec` admits: a minor
// is admitted when any of its releases 3.Y.0 ... 3.Y.99 is. NotFound when none is.
Result<std::string> NewestPythonMinor(const SpecifierSet& spec);

}  // namespace ocifs
