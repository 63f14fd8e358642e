#include "licenses.h"

#include "text.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <set>
#include <string_view>

namespace ocifs::sbom {
namespace {

constexpr std::string_view kIds[] = {
#include "spdx_ids.inc"
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool LessNoCase(std::string_view a, std::string_view b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) <
           std::tolower(static_cast<unsigned char>(y));
  });
}

// Recursive descent over the tokens of an expression, writing the canonical form.
class ExpressionParser {
 public:
  explicit ExpressionParser(std::string_view text) {
    std::string word;
    for (char c : text) {
      if (c == '(' || c == ')' || std::isspace(static_cast<unsigned char>(c))) {
        if (!word.empty()) tokens_.push_back(std::move(word));
        word.clear();
        if (c == '(' || c == ')') tokens_.emplace_back(1, c);
      } else {
        word += c;
      }
    }
    if (!word.empty()) tokens_.push_back(std::move(word));
  }

  std::optional<std::string> Parse() {
    if (tokens_.empty()) return std::nullopt;
    std::optional<std::string> e = Compound("OR");
    if (!e || pos_ != tokens_.size()) return std::nullopt;
    return e;
  }

 private:
  bool At(std::string_view op) const {
    return pos_ < tokens_.size() && Lower(tokens_[pos_]) == Lower(op);
  }
  // OR binds loosest, then AND.
  std::optional<std::string> Compound(std::string_view op) {
    std::optional<std::string> e = op == "OR" ? Compound("AND") : With();
    while (e && At(op)) {
      ++pos_;
      std::optional<std::string> r = op == "OR" ? Compound("AND") : With();
      if (!r) return std::nullopt;
      *e += " " + std::string(op) + " " + *r;
    }
    return e;
  }
  std::optional<std::string> With() {
    std::optional<std::string> e = Simple();
    if (e && At("WITH")) {
      ++pos_;
      if (pos_ >= tokens_.size()) return std::nullopt;
      std::optional<std::string_view> exception = SpdxId(tokens_[pos_++]);
      if (!exception) return std::nullopt;
      *e += " WITH " + std::string(*exception);
    }
    return e;
  }
  std::optional<std::string> Simple() {
    if (pos_ >= tokens_.size()) return std::nullopt;
    std::string t = tokens_[pos_++];
    if (t == "(") {
      std::optional<std::string> e = Compound("OR");
      if (!e || !At(")")) return std::nullopt;
      ++pos_;
      return "(" + *e + ")";
    }
    if (t.starts_with("LicenseRef-") || t.starts_with("DocumentRef-")) {
      const bool ok = std::all_of(t.begin(), t.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == ':';
      });
      return ok ? std::optional(t) : std::nullopt;
    }
    const bool plus = t.size() > 1 && t.back() == '+';
    if (plus) t.pop_back();
    std::optional<std::string_view> id = SpdxId(t);
    if (!id) return std::nullopt;
    return std::string(*id) + (plus ? "+" : "");
  }

  std::vector<std::string> tokens_;
  size_t pos_ = 0;
};

// Names people write for one license, lower case, without a leading "the " or a trailing
// " license"/" licence". Names that stand for more than one license ("bsd", "gpl", "apache
// software") are deliberately absent.
const std::map<std::string, std::string, std::less<>>& Aliases() {
  static const std::map<std::string, std::string, std::less<>> kAliases = {
      {"mit", "MIT"},
      {"expat", "MIT"},
      {"mit no attribution", "MIT-0"},
      {"apache 2", "Apache-2.0"},
      {"apache 2.0", "Apache-2.0"},
      {"apache-2", "Apache-2.0"},
      {"apache2", "Apache-2.0"},
      {"apache license 2.0", "Apache-2.0"},
      {"apache license, version 2.0", "Apache-2.0"},
      {"apache license version 2.0", "Apache-2.0"},
      {"apache software license 2.0", "Apache-2.0"},
      {"apache software license, version 2.0", "Apache-2.0"},
      {"asl 2.0", "Apache-2.0"},
      {"bsd 3-clause", "BSD-3-Clause"},
      {"bsd 3 clause", "BSD-3-Clause"},
      {"bsd-3", "BSD-3-Clause"},
      {"3-clause bsd", "BSD-3-Clause"},
      {"new bsd", "BSD-3-Clause"},
      {"modified bsd", "BSD-3-Clause"},
      {"revised bsd", "BSD-3-Clause"},
      {"bsd 2-clause", "BSD-2-Clause"},
      {"bsd 2 clause", "BSD-2-Clause"},
      {"bsd-2", "BSD-2-Clause"},
      {"2-clause bsd", "BSD-2-Clause"},
      {"simplified bsd", "BSD-2-Clause"},
      {"freebsd", "BSD-2-Clause"},
      {"isc", "ISC"},
      {"iscl", "ISC"},
      {"mpl 2.0", "MPL-2.0"},
      {"mpl-2", "MPL-2.0"},
      {"mpl2", "MPL-2.0"},
      {"mozilla public license 2.0", "MPL-2.0"},
      {"psf", "PSF-2.0"},
      {"psfl", "PSF-2.0"},
      {"python software foundation", "PSF-2.0"},
      {"gplv2+", "GPL-2.0-or-later"},
      {"gplv3+", "GPL-3.0-or-later"},
      {"lgplv3+", "LGPL-3.0-or-later"},
      {"agplv3+", "AGPL-3.0-or-later"},
      {"unlicense", "Unlicense"},
      {"zlib", "Zlib"},
      {"zlib/libpng", "Zlib"},
      {"cc0", "CC0-1.0"},
      {"cc0 1.0", "CC0-1.0"},
      {"boost software license 1.0", "BSL-1.0"},
  };
  return kAliases;
}

// The classifiers that name exactly one license ("License :: OSI Approved :: " left off).
const std::map<std::string, std::string, std::less<>>& Classifiers() {
  static const std::map<std::string, std::string, std::less<>> kClassifiers = {
      {"Academic Free License (AFL)", ""},
      {"Apache Software License", ""},  // 1.0, 1.1 or 2.0
      {"BSD License", ""},              // 2-, 3- or 4-clause
      {"Boost Software License 1.0 (BSL-1.0)", "BSL-1.0"},
      {"CEA CNRS Inria Logiciel Libre License, version 2.1 (CeCILL-2.1)", "CECILL-2.1"},
      {"Eclipse Public License 1.0 (EPL-1.0)", "EPL-1.0"},
      {"Eclipse Public License 2.0 (EPL-2.0)", "EPL-2.0"},
      {"European Union Public Licence 1.1 (EUPL 1.1)", "EUPL-1.1"},
      {"European Union Public Licence 1.2 (EUPL 1.2)", "EUPL-1.2"},
      {"GNU Affero General Public License v3 or later (AGPLv3+)", "AGPL-3.0-or-later"},
      {"GNU General Public License v2 or later (GPLv2+)", "GPL-2.0-or-later"},
      {"GNU General Public License v3 or later (GPLv3+)", "GPL-3.0-or-later"},
      {"GNU Lesser General Public License v2 or later (LGPLv2+)", "LGPL-2.0-or-later"},
      {"GNU Lesser General Public License v3 or later (LGPLv3+)", "LGPL-3.0-or-later"},
      {"Historical Permission Notice and Disclaimer (HPND)", "HPND"},
      {"ISC License (ISCL)", "ISC"},
      {"MIT License", "MIT"},
      {"MIT No Attribution License (MIT-0)", "MIT-0"},
      {"Mozilla Public License 1.1 (MPL 1.1)", "MPL-1.1"},
      {"Mozilla Public License 2.0 (MPL 2.0)", "MPL-2.0"},
      {"PostgreSQL License", "PostgreSQL"},
      {"The Unlicense (Unlicense)", "Unlicense"},
      {"Universal Permissive License (UPL)", "UPL-1.0"},
      {"zlib/libpng License", "Zlib"},
      {"CC0 1.0 Universal (CC0 1.0) Public Domain Dedication", "CC0-1.0"},
  };
  return kClassifiers;
}

std::optional<std::string> OneLicense(std::string_view text) {
  text = Trim(text);
  if (text.empty() || text.find('\n') != std::string_view::npos) return std::nullopt;
  if (std::optional<std::string_view> id = SpdxId(text)) return std::string(*id);
  std::string s = Lower(text);
  if (s.starts_with("the ")) s.erase(0, 4);
  for (std::string_view suffix : {" license", " licence"}) {
    if (s.ends_with(suffix)) s.resize(s.size() - suffix.size());
  }
  auto it = Aliases().find(s);
  if (it != Aliases().end()) return it->second;
  if (std::optional<std::string_view> id = SpdxId(s)) return std::string(*id);
  return std::nullopt;
}

const std::string* First(const Headers& h, std::string_view key) {
  auto it = h.find(key);
  return it == h.end() || it->second.empty() ? nullptr : &it->second.front();
}

}  // namespace

std::optional<std::string_view> SpdxId(std::string_view id) {
  static const bool sorted = std::is_sorted(std::begin(kIds), std::end(kIds), LessNoCase);
  if (!sorted || id.empty()) return std::nullopt;
  auto it = std::lower_bound(std::begin(kIds), std::end(kIds), id, LessNoCase);
  if (it == std::end(kIds) || LessNoCase(id, *it)) return std::nullopt;
  return *it;
}

std::optional<std::string> CanonicalExpression(std::string_view expr) {
  return ExpressionParser(expr).Parse();
}

std::optional<std::string> ExpressionFromText(std::string_view text) {
  text = Trim(text);
  if (std::optional<std::string> one = OneLicense(text)) return one;
  if (std::optional<std::string> e = CanonicalExpression(text)) return e;
  // "MIT -or- Apache License 2.0", "MIT or Apache-2.0", "MIT and BSD-3-Clause".
  std::string lower = Lower(text);
  for (auto [sep, op] : std::array<std::pair<std::string_view, std::string_view>, 3>{
           {{" -or- ", " OR "}, {" or ", " OR "}, {" and ", " AND "}}}) {
    if (lower.find(sep) == std::string::npos) continue;
    std::string out;
    size_t pos = 0;
    while (true) {
      const size_t next = lower.find(sep, pos);
      std::optional<std::string> part = OneLicense(
          text.substr(pos, next == std::string::npos ? std::string_view::npos : next - pos));
      if (!part) return std::nullopt;
      out += (out.empty() ? "" : std::string(op)) + *part;
      if (next == std::string::npos) return out;
      pos = next + sep.size();
    }
  }
  return std::nullopt;
}

std::optional<std::string> ExpressionFromClassifiers(const std::vector<std::string>& classifiers) {
  std::set<std::string> found;
  bool unknown = false;
  for (const auto& c : classifiers) {
    std::string_view rest = c;
    if (!rest.starts_with("License ::")) continue;
    rest.remove_prefix(10);
    rest = Trim(rest);
    if (rest.starts_with("OSI Approved ::")) rest = Trim(rest.substr(15));
    auto it = Classifiers().find(rest);
    if (it == Classifiers().end() || it->second.empty()) {
      // "License :: OSI Approved" alone says nothing; anything else names a license not mapped.
      unknown = unknown || rest != "OSI Approved";
      continue;
    }
    found.insert(it->second);
  }
  if (unknown || found.size() != 1) return std::nullopt;
  return *found.begin();
}

DeclaredLicense LicenseOf(const Headers& metadata) {
  if (const std::string* e = First(metadata, "License-Expression")) {
    if (std::optional<std::string> c = CanonicalExpression(*e)) return {*c, ""};
  }
  const std::string* text = First(metadata, "License");
  if (text) {
    if (std::optional<std::string> c = ExpressionFromText(*text)) return {*c, ""};
  }
  auto it = metadata.find("Classifier");
  const std::vector<std::string> none;
  const std::vector<std::string>& classifiers = it == metadata.end() ? none : it->second;
  if (std::optional<std::string> c = ExpressionFromClassifiers(classifiers)) return {*c, ""};
  // No expression: keep a short name for what it says ("BSD", "BSD License").
  DeclaredLicense d;
  if (text && !Trim(*text).empty() && Trim(*text).size() <= 80 &&
      text->find('\n') == std::string::npos && Lower(Trim(*text)) != "unknown") {
    d.name = std::string(Trim(*text));
  } else {
    for (const auto& c : classifiers) {
      if (!c.starts_with("License ::") || c.ends_with(":: OSI Approved")) continue;
      d.name = std::string(Trim(c.substr(c.rfind("::") + 2)));
      break;
    }
  }
  return d;
}

}  // namespace ocifs::sbom
