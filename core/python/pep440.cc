#include "core/python/pep440.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "core/python/python_versions.h"

namespace ocifs {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A tiny cursor over the (lower-cased) version text.
struct Cursor {
  std::string_view s;
  size_t i = 0;
  bool done() const { return i >= s.size(); }
  bool Eat(std::string_view t) {
    if (s.substr(i).starts_with(t)) {
      i += t.size();
      return true;
    }
    return false;
  }
  bool EatSep() { return Eat(".") || Eat("-") || Eat("_"); }
  // After a pre/post/dev keyword: an optional separator and an optional number ("a1", "a.1",
  // "a" is a0).
  uint64_t KeywordNumber() {
    size_t before = i;
    EatSep();
    auto n = Number();
    if (!n) i = before;
    return n.value_or(0);
  }
  std::optional<uint64_t> Number() {
    size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == start) return std::nullopt;
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data() + start, s.data() + i, v);
    if (ec != std::errc()) return std::nullopt;
    return v;
  }
};

int CmpRelease(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    uint64_t x = i < a.size() ? a[i] : 0, y = i < b.size() ? b[i] : 0;
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

template <typename T>
int Cmp(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

}  // namespace

Result<Version> Version::Parse(std::string_view text) {
  auto bad = [&] { return InvalidArgument(fmt::format("`{}` is not a PEP 440 version", text)); };
  std::string t = Lower(text);
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
  size_t lead = 0;
  while (lead < t.size() && std::isspace(static_cast<unsigned char>(t[lead]))) ++lead;
  Cursor c{std::string_view(t).substr(lead)};
  Version v;
  v.text_ = std::string(text);
  c.Eat("v");
  auto first = c.Number();
  if (!first) return bad();
  if (c.Eat("!")) {
    v.epoch_ = *first;
    first = c.Number();
    if (!first) return bad();
  }
  v.release_.push_back(*first);
  while (c.i + 1 < c.s.size() && c.s[c.i] == '.' &&
         std::isdigit(static_cast<unsigned char>(c.s[c.i + 1]))) {
    ++c.i;
    v.release_.push_back(*c.Number());
  }
  // Pre-release: a, b, rc (and their long spellings), optional separator and number.
  {
    size_t save = c.i;
    c.EatSep();
    static const std::pair<std::string_view, int> kPre[] = {
        {"alpha", 0}, {"beta", 1}, {"preview", 2}, {"pre", 2},
        {"rc", 2},    {"a", 0},    {"b", 1},       {"c", 2}};
    bool found = false;
    for (auto [word, kind] : kPre) {
      if (c.Eat(word)) {
        v.pre_ = std::make_pair(kind, c.KeywordNumber());
        found = true;
        break;
      }
    }
    if (!found) c.i = save;
  }
  // Post-release: ".post1", "-1", "post", "rev", "r".
  {
    size_t save = c.i;
    if (c.Eat("-")) {
      if (auto n = c.Number()) {
        v.post_ = *n;
      } else {
        c.i = save;
      }
    }
    if (!v.post_) {
      c.i = save;
      c.EatSep();
      if (c.Eat("post") || c.Eat("rev") || c.Eat("r")) {
        v.post_ = c.KeywordNumber();
      } else {
        c.i = save;
      }
    }
  }
  // Development release: ".dev1".
  {
    size_t save = c.i;
    c.EatSep();
    if (c.Eat("dev")) {
      v.dev_ = c.KeywordNumber();
    } else {
      c.i = save;
    }
  }
  // Local version: "+ubuntu.1".
  if (c.Eat("+")) {
    std::string cur;
    for (; !c.done(); ++c.i) {
      char ch = c.s[c.i];
      if (ch == '.' || ch == '-' || ch == '_') {
        if (cur.empty()) return bad();
        v.local_.push_back(cur);
        cur.clear();
      } else if (std::isalnum(static_cast<unsigned char>(ch))) {
        cur += ch;
      } else {
        return bad();
      }
    }
    if (cur.empty()) return bad();
    v.local_.push_back(cur);
  }
  if (!c.done()) return bad();
  return v;
}

Version Version::WithoutLocal() const {
  Version v = *this;
  v.local_.clear();
  return v;
}

int Compare(const Version& a, const Version& b) {
  if (int c = Cmp(a.epoch_, b.epoch_)) return c;
  if (int c = CmpRelease(a.release_, b.release_)) return c;
  // Within one release: X.devN < X.aN < X.bN < X.rcN < X < X.postN; a dev of a pre/post sorts
  // just before it. Encode each as a key that compares in that order.
  auto pre_key = [](const Version& v) -> std::pair<int, uint64_t> {
    if (v.pre_) return {v.pre_->first, v.pre_->second};
    if (v.dev_ && !v.post_) return {-1, 0};  // X.devN: before every pre-release
    return {3, 0};                           // no pre-release: after all of them
  };
  if (int c = Cmp(pre_key(a), pre_key(b))) return c;
  auto post_key = [](const Version& v) -> int64_t {
    return v.post_ ? static_cast<int64_t>(*v.post_) : -1;
  };
  if (int c = Cmp(post_key(a), post_key(b))) return c;
  auto dev_key = [](const Version& v) -> std::pair<int, uint64_t> {
    return v.dev_ ? std::make_pair(0, *v.dev_) : std::make_pair(1, uint64_t{0});
  };
  if (int c = Cmp(dev_key(a), dev_key(b))) return c;
  // Local segments: numeric ones compare as numbers and sort after alphanumeric ones.
  size_t n = std::max(a.local_.size(), b.local_.size());
  for (size_t i = 0; i < n; ++i) {
    if (i >= a.local_.size()) return -1;
    if (i >= b.local_.size()) return 1;
    const auto& x = a.local_[i];
    const auto& y = b.local_[i];
    bool xn = std::all_of(x.begin(), x.end(), ::isdigit),
         yn = std::all_of(y.begin(), y.end(), ::isdigit);
    if (xn && yn) {
      if (int c = Cmp(std::stoull(x), std::stoull(y))) return c;
    } else if (xn != yn) {
      return xn ? 1 : -1;
    } else if (int c = Cmp(x, y)) {
      return c;
    }
  }
  return 0;
}

Result<SpecifierSet> SpecifierSet::Parse(std::string_view text) {
  SpecifierSet set;
  set.text_ = std::string(text);
  size_t i = 0;
  while (i <= text.size()) {
    size_t j = text.find(',', i);
    if (j == std::string_view::npos) j = text.size();
    std::string_view item = text.substr(i, j - i);
    i = j + 1;
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front())))
      item.remove_prefix(1);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back())))
      item.remove_suffix(1);
    if (item.empty()) {
      if (text.find_first_not_of(" \t") == std::string_view::npos) break;  // "" = any
      return InvalidArgument(fmt::format("specifier set `{}` has an empty item", text));
    }
    Spec s;
    for (std::string_view op : {"===", "~=", "==", "!=", "<=", ">=", "<", ">"}) {
      if (item.starts_with(op)) {
        s.op = std::string(op);
        break;
      }
    }
    if (s.op.empty()) {
      return InvalidArgument(
          fmt::format("specifier `{}` in `{}` has no operator (==, >=, ~=, ...)", item, text));
    }
    std::string_view ver = item.substr(s.op.size());
    while (!ver.empty() && std::isspace(static_cast<unsigned char>(ver.front())))
      ver.remove_prefix(1);
    s.raw = std::string(ver);
    if (s.op != "===") {
      if (ver.ends_with(".*")) {
        if (s.op != "==" && s.op != "!=") {
          return InvalidArgument(
              fmt::format("specifier `{}`: a `.*` suffix only goes with == and !=", item));
        }
        s.wildcard = true;
        ver.remove_suffix(2);
      }
      auto v = Version::Parse(ver);
      if (!v.ok()) return v.status().WithContext(fmt::format("specifier `{}`", item));
      if (s.op == "~=" && v->release().size() < 2) {
        return InvalidArgument(
            fmt::format("specifier `{}`: ~= needs at least two release numbers", item));
      }
      if (s.wildcard && v->has_local()) {
        return InvalidArgument(
            fmt::format("specifier `{}`: a wildcard version cannot have a local part", item));
      }
      s.version = std::move(v).value();
    }
    set.specs_.push_back(std::move(s));
  }
  return set;
}

bool SpecifierSet::Matches(const Spec& s, const Version& v) {
  if (s.op == "===") return Lower(v.text()) == Lower(s.raw);
  const Version& spec = *s.version;
  auto prefix_equal = [&] {
    // ==X.Y.*: the release numbers of v, padded with zeros, start with X.Y (pre/post ignored).
    const auto& want = spec.release();
    for (size_t i = 0; i < want.size(); ++i) {
      uint64_t have = i < v.release().size() ? v.release()[i] : 0;
      if (have != want[i]) return false;
    }
    return true;
  };
  auto equal = [&] {
    if (s.wildcard) return prefix_equal();
    // A specifier without a local part ignores the candidate's local part.
    return spec.has_local() ? Compare(v, spec) == 0 : Compare(v.WithoutLocal(), spec) == 0;
  };
  if (s.op == "==") return equal();
  if (s.op == "!=") return !equal();
  Version plain = v.WithoutLocal();
  if (s.op == "<=") return Compare(plain, spec) <= 0;
  if (s.op == ">=") return Compare(plain, spec) >= 0;
  if (s.op == "<") {
    if (Compare(plain, spec) >= 0) return false;
    // <V excludes pre-releases of V itself unless V is one.
    if (!spec.is_prerelease() && plain.is_prerelease() &&
        CmpRelease(plain.release(), spec.release()) == 0)
      return false;
    return true;
  }
  if (s.op == ">") {
    if (Compare(plain, spec) <= 0) return false;
    // >V excludes post-releases of V unless V is one.
    if (!spec.is_postrelease() && plain.is_postrelease() &&
        CmpRelease(plain.release(), spec.release()) == 0)
      return false;
    return true;
  }
  if (s.op == "~=") {
    // ~=X.Y.Z means >=X.Y.Z, ==X.Y.*
    if (Compare(plain, spec) < 0) return false;
    const auto& r = spec.release();
    for (size_t i = 0; i + 1 < r.size(); ++i) {
      uint64_t have = i < v.release().size() ? v.release()[i] : 0;
      if (have != r[i]) return false;
    }
    return true;
  }
  return false;
}

bool SpecifierSet::Contains(const Version& v) const {
  return std::all_of(specs_.begin(), specs_.end(), [&](const Spec& s) { return Matches(s, v); });
}

Result<std::string> NewestPythonMinor(const SpecifierSet& spec) {
  const auto known = KnownPythons();
  for (auto it = known.rbegin(); it != known.rend(); ++it) {
    for (int patch = 0; patch < 100; ++patch) {
      auto v = Version::Parse(fmt::format("{}.{}", it->minor, patch));
      if (v.ok() && spec.Contains(*v)) return std::string(it->minor);
    }
  }
  return NotFound(fmt::format("no CPython from {} to {} satisfies `{}`", known.front().minor,
                              known.back().minor, spec.text()));
}

}  // namespace ocifs
