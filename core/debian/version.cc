#include "core/debian/version.h"

#include <cctype>

namespace ocifs::debian {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// dpkg's weight of a non-digit character: the end and digits 0, letters themselves, '~' below
// everything, other characters above every letter.
int Order(std::string_view s, size_t i) {
  if (i >= s.size()) return 0;
  const char c = s[i];
  if (IsDigit(c)) return 0;
  if (IsAlpha(c)) return c;
  if (c == '~') return -1;
  return static_cast<unsigned char>(c) + 256;
}

int VerRevCmp(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    while ((i < a.size() && !IsDigit(a[i])) || (j < b.size() && !IsDigit(b[j]))) {
      const int ac = Order(a, i), bc = Order(b, j);
      if (ac != bc) return ac - bc;
      ++i;
      ++j;
    }
    while (i < a.size() && a[i] == '0') ++i;
    while (j < b.size() && b[j] == '0') ++j;
    int first_diff = 0;
    while (i < a.size() && j < b.size() && IsDigit(a[i]) && IsDigit(b[j])) {
      if (first_diff == 0) first_diff = a[i] - b[j];
      ++i;
      ++j;
    }
    if (i < a.size() && IsDigit(a[i])) return 1;
    if (j < b.size() && IsDigit(b[j])) return -1;
    if (first_diff != 0) return first_diff;
  }
  return 0;
}

struct Parts {
  std::string_view epoch;  // digits, or empty
  std::string_view upstream;
  std::string_view revision;  // empty when there is none
};

Parts Split(std::string_view v) {
  Parts p;
  if (size_t colon = v.find(':'); colon != std::string_view::npos) {
    p.epoch = v.substr(0, colon);
    v.remove_prefix(colon + 1);
  }
  if (size_t dash = v.rfind('-'); dash != std::string_view::npos) {
    p.revision = v.substr(dash + 1);
    v = v.substr(0, dash);
  }
  p.upstream = v;
  return p;
}

// The epoch as a number; leading zeros ignored, absurdly long ones clamp (still ordered).
unsigned long long EpochValue(std::string_view e) {
  unsigned long long n = 0;
  for (char c : e) {
    if (!IsDigit(c)) return 0;
    n = n > 1'000'000'000ULL ? n : n * 10 + static_cast<unsigned>(c - '0');
  }
  return n;
}

bool Glob(std::string_view s, std::string_view p) {
  // Iterative matcher with one backtrack point, enough for '*' and '?'.
  size_t si = 0, pi = 0, star = std::string_view::npos, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == s[si])) {
      ++si;
      ++pi;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

}  // namespace

Status CheckVersion(std::string_view version) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument("version `" + std::string(version) + "`: " + std::string(why));
  };
  if (version.empty()) return bad("is empty");
  const Parts p = Split(version);
  if (version.find(':') != std::string_view::npos) {
    if (p.epoch.empty()) return bad("the epoch before ':' is empty");
    for (char c : p.epoch)
      if (!IsDigit(c)) return bad("the epoch is not a number");
  }
  if (p.upstream.empty()) return bad("has no upstream version");
  if (!IsDigit(p.upstream.front())) return bad("the upstream version does not start with a digit");
  for (char c : p.upstream) {
    if (!IsDigit(c) && !IsAlpha(c) && c != '.' && c != '+' && c != '~' && c != '-' && c != ':')
      return bad(std::string("the upstream version holds '") + c + "'");
  }
  if (version.find('-') != std::string_view::npos && p.revision.empty())
    return bad("the revision after '-' is empty");
  for (char c : p.revision) {
    if (!IsDigit(c) && !IsAlpha(c) && c != '.' && c != '+' && c != '~')
      return bad(std::string("the revision holds '") + c + "'");
  }
  return Status::Ok();
}

int CompareVersions(std::string_view a, std::string_view b) {
  const Parts pa = Split(a), pb = Split(b);
  const unsigned long long ea = EpochValue(pa.epoch), eb = EpochValue(pb.epoch);
  if (ea != eb) return ea < eb ? -1 : 1;
  if (int c = VerRevCmp(pa.upstream, pb.upstream); c != 0) return c;
  return VerRevCmp(pa.revision, pb.revision);
}

bool Satisfies(std::string_view version, RelOp op, std::string_view target) {
  if (op == RelOp::kNone) return true;
  const int c = CompareVersions(version, target);
  switch (op) {
    case RelOp::kLt:
      return c < 0;
    case RelOp::kLe:
      return c <= 0;
    case RelOp::kEq:
      return c == 0;
    case RelOp::kGe:
      return c >= 0;
    case RelOp::kGt:
      return c > 0;
    case RelOp::kNone:
      break;
  }
  return true;
}

Result<RelOp> ParseRelOp(std::string_view text) {
  if (text == "<<") return RelOp::kLt;
  if (text == "<=" || text == "<") return RelOp::kLe;
  if (text == "=") return RelOp::kEq;
  if (text == ">=" || text == ">") return RelOp::kGe;
  if (text == ">>") return RelOp::kGt;
  return InvalidArgument("relation `" + std::string(text) + "`: not one of <<, <=, =, >=, >>");
}

std::string_view RelOpName(RelOp op) {
  switch (op) {
    case RelOp::kLt:
      return "<<";
    case RelOp::kLe:
      return "<=";
    case RelOp::kEq:
      return "=";
    case RelOp::kGe:
      return ">=";
    case RelOp::kGt:
      return ">>";
    case RelOp::kNone:
      break;
  }
  return "";
}

bool MatchesVersionPattern(std::string_view version, std::string_view pattern) {
  if (Glob(version, pattern)) return true;
  const size_t colon = version.find(':');
  return pattern.find(':') == std::string_view::npos && colon != std::string_view::npos &&
         Glob(version.substr(colon + 1), pattern);
}

}  // namespace ocifs::debian
