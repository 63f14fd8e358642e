#include "python_metadata.h"

#include "text.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace ocifs::sbom {
namespace {

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
}

// ---- markers ----------------------------------------------------------------------------------

struct Token {
  enum Kind { kEnd, kVariable, kString, kOp, kAnd, kOr, kOpen, kClose, kBad } kind;
  std::string text;
};

class MarkerParser {
 public:
  MarkerParser(std::string_view text, const MarkerEnvironment& env) : s_(text), env_(env) {
    Next();
  }

  std::optional<bool> Parse() {
    std::optional<bool> v = Or();
    if (tok_.kind != Token::kEnd) return std::nullopt;
    return v;
  }

 private:
  // One side of a comparison: a literal, or a variable's value.
  struct Side {
    std::optional<std::string> value;  // nullopt: a variable not known here
    bool is_version = false;           // compared as versions (PEP 440 releases)
  };

  void Next() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    if (pos_ >= s_.size()) {
      tok_ = {Token::kEnd, ""};
      return;
    }
    const char c = s_[pos_];
    if (c == '(' || c == ')') {
      ++pos_;
      tok_ = {c == '(' ? Token::kOpen : Token::kClose, std::string(1, c)};
    } else if (c == '"' || c == '\'') {
      const size_t end = s_.find(c, pos_ + 1);
      if (end == std::string_view::npos) {
        tok_ = {Token::kBad, ""};
        pos_ = s_.size();
        return;
      }
      tok_ = {Token::kString, std::string(s_.substr(pos_ + 1, end - pos_ - 1))};
      pos_ = end + 1;
    } else if (std::string_view("<>=!~").find(c) != std::string_view::npos) {
      size_t end = pos_;
      while (end < s_.size() && std::string_view("<>=!~").find(s_[end]) != std::string_view::npos)
        ++end;
      tok_ = {Token::kOp, std::string(s_.substr(pos_, end - pos_))};
      pos_ = end;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t end = pos_;
      while (end < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[end])) ||
                                 s_[end] == '_' || s_[end] == '.'))
        ++end;
      std::string word(s_.substr(pos_, end - pos_));
      pos_ = end;
      if (word == "and") {
        tok_ = {Token::kAnd, word};
      } else if (word == "or") {
        tok_ = {Token::kOr, word};
      } else if (word == "in") {
        tok_ = {Token::kOp, word};
      } else if (word == "not") {
        // Only as "not in".
        Next();
        tok_ = tok_.kind == Token::kOp && tok_.text == "in" ? Token{Token::kOp, "not in"}
                                                            : Token{Token::kBad, ""};
      } else {
        tok_ = {Token::kVariable, word};
      }
    } else {
      tok_ = {Token::kBad, ""};
      pos_ = s_.size();
    }
  }

  // A three-valued result would let `unknown or true` be true; markers in the wild are simple
  // enough that "unknown anywhere: unknown" loses nothing the callers need.
  std::optional<bool> Or() {
    std::optional<bool> v = And();
    while (tok_.kind == Token::kOr) {
      Next();
      std::optional<bool> r = And();
      if (!v || !r) return std::nullopt;
      v = *v || *r;
    }
    return v;
  }
  std::optional<bool> And() {
    std::optional<bool> v = Expr();
    while (tok_.kind == Token::kAnd) {
      Next();
      std::optional<bool> r = Expr();
      if (!v || !r) return std::nullopt;
      v = *v && *r;
    }
    return v;
  }
  std::optional<bool> Expr() {
    if (tok_.kind == Token::kOpen) {
      Next();
      std::optional<bool> v = Or();
      if (tok_.kind != Token::kClose) return std::nullopt;
      Next();
      return v;
    }
    auto side = [&]() -> std::optional<Side> {
      Token t = tok_;
      if (t.kind == Token::kString) {
        Next();
        return Side{t.text, false};
      }
      if (t.kind != Token::kVariable) return std::nullopt;
      Next();
      return Variable(t.text);
    };
    std::optional<Side> left = side();
    if (!left || tok_.kind != Token::kOp) return std::nullopt;
    const std::string op = tok_.text;
    Next();
    std::optional<Side> right = side();
    if (!right || !left->value || !right->value) return std::nullopt;
    const std::string &a = *left->value, &b = *right->value;
    if (op == "in") return b.find(a) != std::string::npos;
    if (op == "not in") return b.find(a) == std::string::npos;
    if (left->is_version || right->is_version) return CompareVersions(a, op, b);
    if (op == "==" || op == "===") return a == b;
    if (op == "!=") return a != b;
    return std::nullopt;
  }

  static std::optional<bool> CompareVersions(const std::string& a, const std::string& op,
                                             std::string b) {
    if (op == "===") return a == b;
    if ((op == "==" || op == "!=") && b.ends_with(".*")) {
      // Prefix match: "3.11.4" == "3.11.*".
      b.resize(b.size() - 2);
      const bool match = a == b || (a.starts_with(b) && a[b.size()] == '.');
      return op == "==" ? match : !match;
    }
    const int c = CompareReleases(a, b);
    if (op == "==") return c == 0;
    if (op == "!=") return c != 0;
    if (op == "<") return c < 0;
    if (op == "<=") return c <= 0;
    if (op == ">") return c > 0;
    if (op == ">=") return c >= 0;
    if (op == "~=") {
      // ~= 3.8.1 means >= 3.8.1 and == 3.8.*.
      const size_t dot = b.rfind('.');
      if (dot == std::string::npos || c < 0)
        return dot == std::string::npos ? std::nullopt : std::optional(false);
      return CompareVersions(a, "==", b.substr(0, dot) + ".*");
    }
    return std::nullopt;
  }

  std::optional<Side> Variable(const std::string& name) const {
    if (name == "python_version") return Side{env_.python_version, true};
    if (name == "python_full_version") return Side{env_.python_full_version, true};
    if (name == "implementation_version") return Side{env_.python_full_version, true};
    if (name == "platform_machine") return Side{env_.platform_machine, false};
    if (name == "os_name") return Side{"posix", false};
    if (name == "sys_platform") return Side{"linux", false};
    if (name == "platform_system") return Side{"Linux", false};
    if (name == "implementation_name") return Side{"cpython", false};
    if (name == "platform_python_implementation") return Side{"CPython", false};
    if (name == "extra") return Side{"", false};
    return Side{std::nullopt, false};  // platform_release, platform_version: the kernel's
  }

  std::string_view s_;
  const MarkerEnvironment& env_;
  size_t pos_ = 0;
  Token tok_{Token::kEnd, ""};
};

}  // namespace

Headers ParseHeaders(std::string_view text) {
  Headers headers;
  std::vector<std::string>* last = nullptr;
  ForEachLine(text, [&](std::string_view line) {
    if (line.empty()) return false;  // the body starts
    if (line.front() == ' ' || line.front() == '\t') {
      if (last && !last->empty()) (last->back() += '\n') += Trim(line);
      return true;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      last = nullptr;
      return true;
    }
    last = &headers[std::string(line.substr(0, colon))];
    last->emplace_back(Trim(line.substr(colon + 1)));
    return true;
  });
  return headers;
}

std::optional<Requirement> ParseRequirement(std::string_view line) {
  line = Trim(line);
  size_t end = 0;
  while (end < line.size() && IsNameChar(line[end])) ++end;
  if (end == 0 || !std::isalnum(static_cast<unsigned char>(line[0]))) return std::nullopt;
  Requirement r{std::string(line.substr(0, end)), ""};
  const size_t semi = line.find(';', end);
  if (semi != std::string_view::npos) r.marker = std::string(Trim(line.substr(semi + 1)));
  return r;
}

std::vector<Requirement> ParseRequiresTxt(std::string_view text) {
  std::vector<Requirement> out;
  bool keep = true;
  std::string section_marker;
  ForEachLine(text, [&](std::string_view line) {
    line = Trim(line);
    if (line.empty() || line.front() == '#') return true;
    if (line.front() == '[') {
      std::string_view section = line.substr(1, line.find(']') - 1);
      const size_t colon = section.find(':');
      keep = colon == 0;  // "[:marker]"; "[extra]" and "[extra:marker]" are extras
      section_marker = keep ? std::string(Trim(section.substr(1))) : "";
      return true;
    }
    std::optional<Requirement> r = keep ? ParseRequirement(line) : std::nullopt;
    if (!r) return true;
    if (!section_marker.empty()) {
      r->marker =
          r->marker.empty() ? section_marker : "(" + section_marker + ") and (" + r->marker + ")";
    }
    out.push_back(std::move(*r));
    return true;
  });
  return out;
}

MarkerEnvironment LinuxEnvironment(std::string_view python, std::string_view platform) {
  MarkerEnvironment env;
  env.python_version = std::string(python);
  env.python_full_version = env.python_version + ".0";
  std::string_view arch = platform.substr(platform.find('/') + 1);
  arch = arch.substr(0, arch.find('/'));
  if (arch == "amd64") {
    env.platform_machine = "x86_64";
  } else if (arch == "arm64") {
    env.platform_machine = "aarch64";
  } else if (arch == "386") {
    env.platform_machine = "i686";
  } else {
    env.platform_machine = std::string(arch);  // ppc64le, s390x, riscv64
  }
  return env;
}

std::optional<bool> EvaluateMarker(std::string_view marker, const MarkerEnvironment& env) {
  return MarkerParser(marker, env).Parse();
}

int CompareReleases(std::string_view a, std::string_view b) {
  // Numeric dot-separated parts; whatever follows the digits of a part (rc1, .dev0) is ignored.
  auto next = [](std::string_view& s) -> long {
    long n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc()) {
      s = {};
      return 0;
    }
    s.remove_prefix(static_cast<size_t>(end - s.data()));
    if (s.starts_with('.'))
      s.remove_prefix(1);
    else
      s = {};
    return n;
  };
  while (!a.empty() || !b.empty()) {
    const long x = next(a), y = next(b);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

}  // namespace ocifs::sbom
