// Reading Python source without running it: a tokenizer at the level of Python's own `tokenize`
// module, and on top of it what detection needs to know of a module: its functions, the calls it
// makes (with literal arguments) and its assignments, each with the function it is in.
// Header-only and independent of the ABI, like plugin.hpp's helpers; ocifs reads setup.py with it
// and the frameworks plugin reads the application's modules.
//
//   ocifs::sdk::python::Module m(text);
//   for (const auto& a : m.assignments())
//     if (a.callee == "Flask" || a.callee == "flask.Flask") ... a.target, a.function, a.line
//   for (const auto& c : m.calls())
//     if (c.callee == "setup") auto args = m.Arguments(c);   // literals by keyword
//
// What it reads right, where line-anchored patterns go wrong: code inside functions, classes and
// decorated definitions; statements across line breaks (brackets, backslashes); strings of every
// quoting (a `Flask(` inside a docstring is not a call); comments. It never fails: text that is
// not Python gives tokens that match nothing. The tokens borrow the text: the Module keeps its own
// copy, a bare Tokenize() call's text must outlive its tokens.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ocifs::sdk::python {

enum class Kind { kName, kNumber, kString, kOp, kNewline };

struct Token {
  Kind kind;
  std::string_view text;  // as written: a string with its prefix and quotes
  int line;               // 1-based, of the token's first character
  int indent;             // the indentation (columns, tabs to 8) of the logical line it is on
  bool line_start;        // the first token of a logical line
};

namespace internal {

inline bool IsNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}
inline bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

// The length of the string literal at `i` (prefix included) or 0 when none starts there.
inline size_t StringLength(std::string_view s, size_t i) {
  size_t q = i;
  while (q < s.size() && q - i < 2 &&
         std::string_view("rRbBuUfF").find(s[q]) != std::string_view::npos)
    ++q;
  if (q >= s.size() || (s[q] != '"' && s[q] != '\'')) return 0;
  const char quote = s[q];
  const bool triple = s.substr(q, 3) == std::string_view(std::string(3, quote));
  size_t j = q + (triple ? 3 : 1);
  while (j < s.size()) {
    if (s[j] == '\\') {
      j += 2;
      continue;
    }
    if (!triple && s[j] == '\n') return j - i;  // unterminated: ends at the line
    if (s[j] == quote && (!triple || s.substr(j, 3) == std::string_view(std::string(3, quote))))
      return j + (triple ? 3 : 1) - i;
    ++j;
  }
  return s.size() - i;
}

}  // namespace internal

// The tokens of `source`, comments and blank lines left out, a kNewline after each logical line.
inline std::vector<Token> Tokenize(std::string_view s) {
  static constexpr std::string_view kOps3[] = {"**=", "//=", ">>=", "<<=", "..."};
  static constexpr std::string_view kOps2[] = {
      "==", "!=", "<=", ">=", ":=", "->", "+=", "-=", "*=", "/=",
      "%=", "&=", "|=", "^=", "@=", "**", "//", "<<", ">>"};
  std::vector<Token> out;
  int line = 1, depth = 0, indent = 0;
  bool at_line_start = true, logical_start = true;
  size_t i = 0;
  auto push = [&](Kind kind, size_t len) {
    out.push_back({kind, s.substr(i, len), line, indent, logical_start});
    logical_start = false;
    for (size_t k = i; k < i + len; ++k) line += s[k] == '\n';
    i += len;
  };
  while (i < s.size()) {
    const char c = s[i];
    if (at_line_start) {  // measure the indentation of a new logical line
      int col = 0;
      size_t j = i;
      for (; j < s.size() && (s[j] == ' ' || s[j] == '\t' || s[j] == '\f'); ++j)
        col = s[j] == '\t' ? (col / 8 + 1) * 8 : s[j] == ' ' ? col + 1 : 0;
      i = j;
      if (i < s.size() && s[i] != '\n' && s[i] != '\r' && s[i] != '#') {
        indent = col;
        at_line_start = false;
        logical_start = true;
      } else if (i < s.size() && s[i] == '#') {
        while (i < s.size() && s[i] != '\n') ++i;
      } else if (i < s.size()) {
        if (s[i] == '\n') ++line;
        ++i;
      }
      continue;
    }
    if (c == '\n') {
      ++line;
      ++i;
      if (depth == 0) {
        out.push_back({Kind::kNewline, "\n", line - 1, indent, false});
        at_line_start = true;
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\f') {
      ++i;
    } else if (c == '#') {
      while (i < s.size() && s[i] != '\n') ++i;
    } else if (c == '\\' && i + 1 < s.size() && (s[i + 1] == '\n' || s[i + 1] == '\r')) {
      i += s[i + 1] == '\r' && i + 2 < s.size() && s[i + 2] == '\n' ? 3 : 2;
      ++line;
    } else if (size_t str = internal::StringLength(s, i); str > 0) {
      push(Kind::kString, str);
    } else if (internal::IsNameStart(c)) {
      size_t j = i;
      while (j < s.size() && internal::IsNameChar(s[j])) ++j;
      push(Kind::kName, j - i);
    } else if ((c >= '0' && c <= '9') ||
               (c == '.' && i + 1 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '9')) {
      size_t j = i;
      while (j < s.size() &&
             (internal::IsNameChar(s[j]) || s[j] == '.' ||
              ((s[j] == '+' || s[j] == '-') && (s[j - 1] == 'e' || s[j - 1] == 'E'))))
        ++j;
      push(Kind::kNumber, j - i);
    } else {
      size_t len = 1;
      for (auto op : kOps3) len = s.substr(i, 3) == op ? 3 : len;
      if (len == 1) {
        for (auto op : kOps2) len = s.substr(i, 2) == op ? 2 : len;
      }
      if (c == '(' || c == '[' || c == '{') ++depth;
      if ((c == ')' || c == ']' || c == '}') && depth > 0) --depth;
      push(Kind::kOp, len);
    }
  }
  if (!out.empty() && out.back().kind != Kind::kNewline)
    out.push_back({Kind::kNewline, "\n", line, indent, false});
  return out;
}

// The value of a string literal token: escapes decoded (raw strings as written); nullopt for
// f-strings and bytes, whose value is not text known before running.
inline std::optional<std::string> StringValue(const Token& t) {
  if (t.kind != Kind::kString) return std::nullopt;
  std::string_view s = t.text;
  bool raw = false;
  while (!s.empty() && s.front() != '"' && s.front() != '\'') {
    const char p = static_cast<char>(s.front() | 0x20);
    if (p == 'f' || p == 'b') return std::nullopt;
    raw |= p == 'r';
    s.remove_prefix(1);
  }
  const size_t q = s.size() >= 6 && s.substr(0, 3) == s.substr(s.size() - 3) &&
                           (s.substr(0, 3) == "\"\"\"" || s.substr(0, 3) == "'''")
                       ? 3
                       : 1;
  if (s.size() < 2 * q) return std::string();
  s = s.substr(q, s.size() - 2 * q);
  if (raw) return std::string(s);
  std::string v;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      v += s[i];
      continue;
    }
    switch (const char e = s[++i]; e) {
      case 'n':
        v += '\n';
        break;
      case 't':
        v += '\t';
        break;
      case 'r':
        v += '\r';
        break;
      case '0':
        v += '\0';
        break;
      case '\n':
        break;  // a continued line
      case '\\':
      case '\'':
      case '"':
        v += e;
        break;
      default:
        v += '\\';
        v += e;
    }
  }
  return v;
}

// A literal value: what `ast.literal_eval` would give, with anything else kept as kOther (so a
// call's other arguments are skipped, not misread).
struct Literal {
  enum class Type { kString, kNumber, kBool, kNone, kList, kDict, kOther };
  Type type = Type::kOther;
  std::string text;                                  // a string's value, a number as written
  std::vector<Literal> items;                        // a list, tuple or set
  std::vector<std::pair<Literal, Literal>> entries;  // a dict
  // The entry whose key is the string `key`, or nullptr.
  const Literal* Get(std::string_view key) const;
  // Defined below, where std::pair<Literal, Literal> is complete (clang with libstdc++ needs it).
  Literal();
  Literal(const Literal&);
  Literal(Literal&&) noexcept;
  Literal& operator=(const Literal&);
  Literal& operator=(Literal&&) noexcept;
  ~Literal();
};

inline Literal::Literal() = default;
inline Literal::Literal(const Literal&) = default;
inline Literal::Literal(Literal&&) noexcept = default;
inline Literal& Literal::operator=(const Literal&) = default;
inline Literal& Literal::operator=(Literal&&) noexcept = default;
inline Literal::~Literal() = default;

inline const Literal* Literal::Get(std::string_view key) const {
  for (const auto& entry : entries) {
    if (entry.first.type == Type::kString && entry.first.text == key) return &entry.second;
  }
  return nullptr;
}

namespace internal {

inline bool IsOp(const std::vector<Token>& t, size_t i, std::string_view op) {
  return i < t.size() && t[i].kind == Kind::kOp && t[i].text == op;
}

// Skips one expression from `i`: up to a `,`, `:` or closing bracket at its own depth, or the
// end of the line.
inline size_t SkipExpression(const std::vector<Token>& t, size_t i) {
  int depth = 0;
  for (; i < t.size() && t[i].kind != Kind::kNewline; ++i) {
    if (t[i].kind != Kind::kOp) continue;
    const std::string_view op = t[i].text;
    if (op == "(" || op == "[" || op == "{") {
      ++depth;
    } else if (op == ")" || op == "]" || op == "}") {
      if (depth-- == 0) return i;
    } else if ((op == "," || op == ":") && depth == 0) {
      return i;
    }
  }
  return i;
}

inline Literal ParseLiteral(const std::vector<Token>& t, size_t& i, int nesting) {
  Literal lit;
  const size_t start = i;
  auto fallback = [&] {
    i = SkipExpression(t, start);
    return Literal{};
  };
  if (i >= t.size() || nesting > 64) return fallback();
  const Token& tok = t[i];
  if (tok.kind == Kind::kString) {
    lit.type = Literal::Type::kString;
    for (; i < t.size() && t[i].kind == Kind::kString; ++i) {  // "a" "b" is one string
      auto v = StringValue(t[i]);
      if (!v) return fallback();
      lit.text += *v;
    }
  } else if (tok.kind == Kind::kNumber) {
    lit.type = Literal::Type::kNumber;
    lit.text = std::string(tok.text);
    ++i;
  } else if (tok.kind == Kind::kName && (tok.text == "True" || tok.text == "False")) {
    lit.type = Literal::Type::kBool;
    lit.text = std::string(tok.text);
    ++i;
  } else if (tok.kind == Kind::kName && tok.text == "None") {
    lit.type = Literal::Type::kNone;
    ++i;
  } else if (tok.kind == Kind::kOp && (tok.text == "[" || tok.text == "(" || tok.text == "{")) {
    const std::string_view close = tok.text == "[" ? "]" : tok.text == "(" ? ")" : "}";
    lit.type = tok.text == "{" ? Literal::Type::kDict : Literal::Type::kList;
    ++i;
    bool set = false;
    while (i < t.size() && !IsOp(t, i, close)) {
      const size_t item_start = i;
      Literal item = ParseLiteral(t, i, nesting + 1);
      for (size_t k = item_start; item.type == Literal::Type::kOther && k < i; ++k) {
        if (t[k].kind == Kind::kName && t[k].text == "for") return fallback();  // comprehension
      }
      if (lit.type == Literal::Type::kDict && !set && IsOp(t, i, ":")) {
        ++i;
        Literal value = ParseLiteral(t, i, nesting + 1);
        lit.entries.emplace_back(std::move(item), std::move(value));
      } else if (lit.type == Literal::Type::kDict && lit.entries.empty()) {
        set = true;
        lit.items.push_back(std::move(item));
      } else if (lit.type == Literal::Type::kList || set) {
        lit.items.push_back(std::move(item));
      }
      if (IsOp(t, i, ",")) {
        ++i;
      } else if (!IsOp(t, i, close)) {
        return fallback();  // a comprehension or anything else that is not a literal
      }
    }
    if (i >= t.size()) return fallback();
    ++i;
    if (set) lit.type = Literal::Type::kList;
  } else {
    return fallback();
  }
  // A literal followed by more of an expression (`"a" + x`, `[1] * 3`) is not a literal.
  if (i < t.size() && t[i].kind != Kind::kNewline && !IsOp(t, i, ",") && !IsOp(t, i, ":") &&
      !IsOp(t, i, ")") && !IsOp(t, i, "]") && !IsOp(t, i, "}"))
    return fallback();
  return lit;
}

}  // namespace internal

// The literal at token `i` (advanced past the expression, literal or not).
inline Literal ParseLiteral(const std::vector<Token>& tokens, size_t& i) {
  return internal::ParseLiteral(tokens, i, 0);
}

// One module's definitions, calls and assignments, in source order.
class Module {
 public:
  struct Function {
    std::string name;
    std::string scope;  // the enclosing function or class ("" at module level)
    int line = 0;
    bool required_params = false;  // it has a parameter without a default (not *args/**kw)
  };
  struct Call {
    std::string callee;         // "Flask", "flask.Flask", "os.environ.setdefault"
    std::string function;       // the innermost function it is in ("" outside any)
    bool module_level = false;  // in no function or class (an `if` block counts as module level)
    int line = 0;
    size_t open = 0;  // the token index of its `(`
  };
  struct Assignment {
    std::string target;  // a plain name: `app = ...`, `app: FastAPI = ...`
    std::string callee;  // the value's callee when the value is a call, else ""
    std::string function;
    bool module_level = false;
    int line = 0;
    size_t value = 0;  // the token index where the value starts
  };
  struct Import {
    std::string module;              // "flask", "fastapi.routing"; "." for `from . import x`
    std::vector<std::string> names;  // what `from M import a, b` imports (their own names)
  };

  explicit Module(std::string_view source) : source_(source) {
    tokens_ = Tokenize(source_);
    Read();
  }
  Module(const Module&) = delete;  // the tokens point into source_
  Module& operator=(const Module&) = delete;

  const std::vector<Token>& tokens() const { return tokens_; }
  const std::vector<Function>& functions() const { return functions_; }
  const std::vector<Call>& calls() const { return calls_; }
  const std::vector<Assignment>& assignments() const { return assignments_; }
  const std::vector<Import>& imports() const { return imports_; }

  bool Imports(std::string_view module) const {
    for (const auto& imp : imports_) {
      if (imp.module == module || imp.module.starts_with(std::string(module) + ".")) return true;
    }
    return false;
  }
  const Function* FindFunction(std::string_view name) const {
    for (const auto& f : functions_) {
      if (f.name == name && f.scope.empty()) return &f;
    }
    return nullptr;
  }
  // The arguments of `call`: ("", literal) for a positional one, (keyword, literal) otherwise;
  // `*x`/`**x` are skipped. A bare name is read as the literal its last module-level assignment
  // before the call gives it (`REQUIRES_PYTHON = ">=3.9"` ... `python_requires=REQUIRES_PYTHON`).
  std::vector<std::pair<std::string, Literal>> Arguments(const Call& call) const {
    std::vector<std::pair<std::string, Literal>> out;
    size_t i = call.open + 1;
    while (i < tokens_.size() && !internal::IsOp(tokens_, i, ")") &&
           tokens_[i].kind != Kind::kNewline) {
      std::string keyword;
      if (internal::IsOp(tokens_, i, "*") || internal::IsOp(tokens_, i, "**")) {
        i = internal::SkipExpression(tokens_, i + 1);
      } else {
        if (tokens_[i].kind == Kind::kName && internal::IsOp(tokens_, i + 1, "=")) {
          keyword = std::string(tokens_[i].text);
          i += 2;
        }
        out.emplace_back(std::move(keyword), ArgumentValue(call, i));
      }
      if (internal::IsOp(tokens_, i, ",")) {
        ++i;
      } else if (!internal::IsOp(tokens_, i, ")")) {
        break;
      }
    }
    return out;
  }

 private:
  Literal ArgumentValue(const Call& call, size_t& i) const {
    if (tokens_[i].kind == Kind::kName &&
        (internal::IsOp(tokens_, i + 1, ",") || internal::IsOp(tokens_, i + 1, ")"))) {
      const Assignment* last = nullptr;
      for (const auto& a : assignments_) {
        if (a.module_level && a.target == tokens_[i].text && a.line <= call.line) last = &a;
      }
      if (last != nullptr) {
        ++i;
        size_t v = last->value;
        return ParseLiteral(tokens_, v);
      }
    }
    return ParseLiteral(tokens_, i);
  }

  struct Scope {
    int indent;
    std::string name;
    bool function;
  };

  // The dotted name ending at token `end` (inclusive): "flask.Flask" for `flask . Flask`.
  std::string DottedBefore(size_t end) const {
    std::string name(tokens_[end].text);
    size_t i = end;
    while (i >= 2 && internal::IsOp(tokens_, i - 1, ".") && tokens_[i - 2].kind == Kind::kName) {
      name = std::string(tokens_[i - 2].text) + "." + name;
      i -= 2;
    }
    if (i >= 1 && internal::IsOp(tokens_, i - 1, ".")) return "";  // `x().y(`: not a plain name
    return name;
  }

  // `name(.name)*` from `i`, advancing `i`.
  std::string DottedAt(size_t& i) const {
    std::string name;
    while (i < tokens_.size() && tokens_[i].kind == Kind::kName) {
      name += tokens_[i++].text;
      if (!internal::IsOp(tokens_, i, ".")) break;
      name += '.';
      ++i;
    }
    return name;
  }

  void ReadImport(size_t i) {
    const bool from = tokens_[i].text == "from";
    ++i;
    if (from) {
      Import imp;
      while (internal::IsOp(tokens_, i, ".") || internal::IsOp(tokens_, i, "...")) {
        imp.module += tokens_[i++].text;
      }
      if (i < tokens_.size() && tokens_[i].text != "import") imp.module += DottedAt(i);
      if (i >= tokens_.size() || tokens_[i].text != "import") return;
      for (++i; i < tokens_.size() && tokens_[i].kind != Kind::kNewline; ++i) {
        if (tokens_[i].kind != Kind::kName || tokens_[i].text == "as") continue;
        if (i > 0 && tokens_[i - 1].text == "as") continue;
        imp.names.emplace_back(tokens_[i].text);
      }
      imports_.push_back(std::move(imp));
      return;
    }
    while (i < tokens_.size() && tokens_[i].kind == Kind::kName) {
      imports_.push_back({DottedAt(i), {}});
      if (i < tokens_.size() && tokens_[i].text == "as") i += 2;
      if (!internal::IsOp(tokens_, i, ",")) break;
      ++i;
    }
  }

  // Whether the parameter list opening at `open` has a parameter without a default.
  bool RequiredParams(size_t open) const {
    int depth = 0;
    bool fresh = true, star = false;  // at the start of a parameter; after * or **
    for (size_t i = open + 1; i < tokens_.size() && tokens_[i].kind != Kind::kNewline; ++i) {
      const Token& t = tokens_[i];
      if (t.kind == Kind::kOp && (t.text == "(" || t.text == "[" || t.text == "{")) ++depth;
      if (t.kind == Kind::kOp && (t.text == ")" || t.text == "]" || t.text == "}")) {
        if (depth-- == 0) return false;
      }
      if (depth != 0) continue;
      if (t.kind == Kind::kOp && t.text == ",") {
        fresh = true;
        star = false;
      } else if (fresh && t.kind == Kind::kOp &&
                 (t.text == "*" || t.text == "**" || t.text == "/")) {
        star = true;
      } else if (fresh && t.kind == Kind::kName) {
        fresh = false;
        if (star || t.text == "self" || t.text == "cls") continue;
        // The parameter is required unless a `=` follows before the next `,` or `)`.
        size_t j = internal::SkipExpression(tokens_, i + 1);
        bool has_default = false;
        for (size_t k = i + 1; k < j && !has_default; ++k)
          has_default = internal::IsOp(tokens_, k, "=");
        if (internal::IsOp(tokens_, j, ":")) {  // an annotation: look past it
          size_t after = internal::SkipExpression(tokens_, j + 1);
          for (size_t k = j + 1; k < after && !has_default; ++k)
            has_default = internal::IsOp(tokens_, k, "=");
        }
        if (!has_default) return true;
      }
    }
    return false;
  }

  void Read() {
    std::vector<Scope> scopes;
    auto function = [&] {
      for (auto it = scopes.rbegin(); it != scopes.rend(); ++it) {
        if (it->function) return it->name;
      }
      return std::string();
    };
    for (size_t i = 0; i < tokens_.size(); ++i) {
      const Token& t = tokens_[i];
      if (t.line_start) {
        while (!scopes.empty() && t.indent <= scopes.back().indent) scopes.pop_back();
        size_t k = i;
        if (t.kind == Kind::kName && t.text == "async") ++k;
        if (k + 1 < tokens_.size() && tokens_[k].kind == Kind::kName &&
            (tokens_[k].text == "def" || tokens_[k].text == "class") &&
            tokens_[k + 1].kind == Kind::kName) {
          const bool def = tokens_[k].text == "def";
          if (def) {
            functions_.push_back({std::string(tokens_[k + 1].text),
                                  scopes.empty() ? "" : scopes.back().name, tokens_[k].line,
                                  internal::IsOp(tokens_, k + 2, "(") && RequiredParams(k + 2)});
          }
          scopes.push_back({t.indent, std::string(tokens_[k + 1].text), def});
        }
        if (t.kind == Kind::kName && (t.text == "import" || t.text == "from")) ReadImport(i);
        // `NAME = value`, `NAME: T = value`, `NAME = OTHER = value`
        if (t.kind == Kind::kName) {
          size_t eq = i + 1;
          if (internal::IsOp(tokens_, eq, ":")) {  // an annotation, up to its `=`
            int depth = 0;
            for (++eq; eq < tokens_.size() && tokens_[eq].kind != Kind::kNewline; ++eq) {
              const std::string_view op = tokens_[eq].kind == Kind::kOp ? tokens_[eq].text : "";
              if (op == "(" || op == "[" || op == "{") ++depth;
              if (op == ")" || op == "]" || op == "}") --depth;
              if (op == "=" && depth == 0) break;
            }
          }
          if (internal::IsOp(tokens_, eq, "=")) {
            size_t v = eq + 1;
            while (v + 1 < tokens_.size() && tokens_[v].kind == Kind::kName &&
                   internal::IsOp(tokens_, v + 1, "="))
              v += 2;
            Assignment a{std::string(t.text), "", function(), scopes.empty(), t.line, v};
            size_t c = v;
            std::string callee = DottedAt(c);
            if (!callee.empty() && internal::IsOp(tokens_, c, "(")) a.callee = std::move(callee);
            assignments_.push_back(std::move(a));
          }
        }
      }
      if (t.kind == Kind::kOp && t.text == "(" && i > 0 && tokens_[i - 1].kind == Kind::kName) {
        const std::string_view before = tokens_[i - 1].text;
        if (before == "def" || before == "class" ||
            (i >= 2 && (tokens_[i - 2].text == "def" || tokens_[i - 2].text == "class")))
          continue;
        std::string callee = DottedBefore(i - 1);
        if (!callee.empty())
          calls_.push_back({std::move(callee), function(), scopes.empty(), t.line, i});
      }
    }
  }

  std::string source_;
  std::vector<Token> tokens_;
  std::vector<Function> functions_;
  std::vector<Call> calls_;
  std::vector<Assignment> assignments_;
  std::vector<Import> imports_;
};

}  // namespace ocifs::sdk::python
