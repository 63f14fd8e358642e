#include "core/support/ignore.h"

#include "core/support/path.h"

#include <fmt/format.h>

namespace ocifs {
namespace {

// The pattern's components after Go's filepath.Clean: no "", "." or "..".
std::vector<std::string> SplitClean(std::string_view p) {
  std::vector<std::string> out;
  for (std::string_view seg : SplitPath(p)) {
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
    } else if (seg != ".") {
      out.emplace_back(seg);
    }
  }
  return out;
}

// Matches one character class starting after '['; advances `p`. Returns {matched, ok}.
std::pair<bool, bool> MatchClass(std::string_view pat, size_t& p, char c) {
  bool negated = false;
  if (p < pat.size() && pat[p] == '^') {
    negated = true;
    ++p;
  }
  bool matched = false;
  size_t count = 0;
  for (;;) {
    if (p >= pat.size()) return {false, false};
    if (pat[p] == ']' && count > 0) {
      ++p;
      break;
    }
    char lo = pat[p];
    if (lo == '\\') {
      if (++p >= pat.size()) return {false, false};
      lo = pat[p];
    }
    ++p;
    char hi = lo;
    if (p + 1 < pat.size() && pat[p] == '-' && pat[p + 1] != ']') {
      hi = pat[p + 1];
      if (hi == '\\') {
        if (p + 2 >= pat.size()) return {false, false};
        hi = pat[p + 2];
        ++p;
      }
      p += 2;
    }
    if (lo <= c && c <= hi) matched = true;
    ++count;
  }
  return {matched != negated, true};
}

// Whether the one token of `pat` at `p` (`?`, a class, an escaped or plain character; not `*`)
// matches `c`; `p` moves past it. `valid` is false for a malformed token.
bool MatchToken(std::string_view pat, size_t& p, char c, bool& valid) {
  char t = pat[p];
  if (t == '?') {
    ++p;
    return true;
  }
  if (t == '[') {
    ++p;
    auto [m, ok] = MatchClass(pat, p, c);
    valid = ok;
    return ok && m;
  }
  if (t == '\\') {
    if (++p >= pat.size()) {
      valid = false;
      return false;
    }
    t = pat[p];
  }
  ++p;
  return t == c;
}

// Glob matching of one segment in O(|pat| * |name|): on a mismatch, only the last `*` seen takes
// one more character (a later star can absorb whatever an earlier one would have), so no input
// makes it exponential (a fuzzer found `***d***`-like patterns that did).
bool GlobAt(std::string_view pat, std::string_view name) {
  constexpr size_t kNone = std::string_view::npos;
  size_t p = 0, n = 0, star_p = kNone, star_n = 0;
  while (n < name.size()) {
    if (p < pat.size() && pat[p] == '*') {
      while (p < pat.size() && pat[p] == '*') ++p;
      star_p = p;
      star_n = n;
      continue;
    }
    if (p < pat.size()) {
      bool valid = true;
      size_t next = p;
      const bool hit = MatchToken(pat, next, name[n], valid);
      if (!valid) return false;
      if (hit) {
        p = next;
        ++n;
        continue;
      }
    }
    if (star_p == kNone) return false;
    p = star_p;
    n = ++star_n;
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

// Matches pattern segments against path segments; `**` spans zero or more. `prefix_ok`: the
// pattern may match a leading part of the path. Linear backtracking, as GlobAt: on a mismatch only
// the last `**` takes one more segment.
bool MatchSegments(const std::vector<std::string>& pat, const std::vector<std::string_view>& path,
                   bool prefix_ok) {
  constexpr size_t kNone = static_cast<size_t>(-1);
  size_t pi = 0, si = 0, star_pi = kNone, star_si = 0;
  for (;;) {
    if (pi == pat.size()) {
      if (si == path.size() || prefix_ok) return true;
    } else if (pat[pi] == "**") {
      star_pi = ++pi;
      star_si = si;
      continue;
    } else if (si < path.size() && GlobMatchSegment(pat[pi], path[si])) {
      ++pi;
      ++si;
      continue;
    }
    if (star_pi == kNone || star_si >= path.size()) return false;
    pi = star_pi;
    si = ++star_si;
  }
}

bool IsValidGlob(std::string_view seg) {
  // Go's filepath.Match reports ErrBadPattern for an unclosed class or a trailing backslash.
  for (size_t p = 0; p < seg.size(); ++p) {
    if (seg[p] == '\\') {
      if (++p >= seg.size()) return false;
    } else if (seg[p] == '[') {
      ++p;
      auto r = MatchClass(seg, p, '\0');
      if (!r.second) return false;
      --p;
    }
  }
  return true;
}

}  // namespace

bool GlobMatchSegment(std::string_view pattern, std::string_view name) {
  return GlobAt(pattern, name);
}

Status IgnoreRules::AddFile(std::string_view content, std::string_view source) {
  size_t line_no = 0;
  size_t i = 0;
  while (i < content.size()) {
    size_t j = content.find('\n', i);
    if (j == std::string_view::npos) j = content.size();
    ++line_no;
    std::string_view line = content.substr(i, j - i);
    i = j + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    Status s = Add(line, fmt::format("{} line {}", source, line_no));
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status IgnoreRules::Add(std::string_view pattern, std::string_view source) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  std::string_view p = trim(pattern);
  if (p.empty() || p.front() == '#') return Status::Ok();
  Rule rule;
  if (p.front() == '!') {
    rule.negate = true;
    p = trim(p.substr(1));
  }
  rule.segments = SplitClean(p);
  for (const auto& seg : rule.segments) {
    if (seg != "**" && !IsValidGlob(seg)) {
      return InvalidArgument(fmt::format("{}: bad pattern `{}`", source, pattern));
    }
  }
  if (rule.segments.empty()) return Status::Ok();  // "/" or "." : Docker ignores these too
  rules_.push_back(std::move(rule));
  return Status::Ok();
}

bool IgnoreRules::Matches(const Rule& rule, const std::vector<std::string_view>& path) {
  // prefix_ok: the pattern may match a parent directory of `path` (it then covers `path`).
  return MatchSegments(rule.segments, path, /*prefix_ok=*/true);
}

bool IgnoreRules::Excluded(std::string_view path) const {
  if (rules_.empty()) return false;
  const std::vector<std::string_view> parts = SplitPath(path);  // once, for every rule
  bool excluded = false;
  for (const Rule& r : rules_) {
    if (r.negate == excluded && Matches(r, parts)) excluded = !r.negate;
  }
  return excluded;
}

bool IgnoreRules::CanSkipDirectory(std::string_view dir) const {
  auto segs = SplitPath(dir);
  for (const Rule& r : rules_) {
    if (!r.negate) continue;
    // Could this negation match something strictly below `dir`? Compare the pattern's leading
    // segments with the directory's; a `**` or running out of directory segments means yes.
    size_t k = 0;
    bool possible = true;
    for (; k < segs.size(); ++k) {
      if (k >= r.segments.size()) {
        break;  // the pattern names `dir` or a parent: it may re-include what lies below
        break;
      }
      if (r.segments[k] == "**") break;
      if (!GlobMatchSegment(r.segments[k], segs[k])) {
        possible = false;
        break;
      }
    }
    if (possible) return false;
  }
  return true;
}

}  // namespace ocifs
