#include "core/debian/relation.h"

#include "core/support/text.h"

namespace ocifs::debian {
namespace {

std::vector<std::string_view> SplitOn(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t end = s.find(sep, start);
    out.push_back(s.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

Result<Relation> ParseOne(std::string_view text, std::string_view what) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument(std::string(what) + ": `" + std::string(text) +
                           "`: " + std::string(why));
  };
  Relation r;
  std::string_view rest = TrimSpace(text);
  const size_t name_end = std::min(rest.find_first_of(" \t\n(["), rest.size());
  std::string_view name = rest.substr(0, name_end);
  rest = TrimSpace(rest.substr(name_end));
  if (size_t colon = name.find(':'); colon != std::string_view::npos) {
    r.arch = std::string(name.substr(colon + 1));
    name = name.substr(0, colon);
    if (r.arch.empty()) return bad("an empty architecture after ':'");
  }
  if (!ValidPackageName(name)) return bad("`" + std::string(name) + "` is not a package name");
  r.name = std::string(name);
  if (rest.starts_with('(')) {
    const size_t close = rest.find(')');
    if (close == std::string_view::npos) return bad("'(' without ')'");
    std::string_view inner = TrimSpace(rest.substr(1, close - 1));
    size_t op_end = 0;
    while (op_end < inner.size() &&
           (inner[op_end] == '<' || inner[op_end] == '>' || inner[op_end] == '='))
      ++op_end;
    Result<RelOp> op = ParseRelOp(inner.substr(0, op_end));
    if (!op.ok()) return bad(op.status().message());
    r.op = *op;
    r.version = std::string(TrimSpace(inner.substr(op_end)));
    if (Status s = CheckVersion(r.version); !s.ok()) return bad(s.message());
    rest = TrimSpace(rest.substr(close + 1));
  }
  if (rest.starts_with('[') || rest.starts_with('<'))
    return bad("architecture restrictions and build profiles belong to source packages");
  if (!rest.empty()) return bad("unexpected `" + std::string(rest) + "`");
  return r;
}

}  // namespace

bool ValidPackageName(std::string_view name) {
  if (name.size() < 2) return false;
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_or_digit(name[0])) return false;
  for (char c : name) {
    if (!lower_or_digit(c) && c != '+' && c != '-' && c != '.') return false;
  }
  return true;
}

std::string Relation::ToString() const {
  std::string out = name;
  if (!arch.empty()) (out += ':') += arch;
  if (op != RelOp::kNone) ((((out += " (") += RelOpName(op)) += ' ') += version) += ')';
  return out;
}

Result<std::vector<Alternatives>> ParseRelations(std::string_view field, std::string_view what) {
  std::vector<Alternatives> groups;
  if (TrimSpace(field).empty()) return groups;
  for (std::string_view group : SplitOn(field, ',')) {
    if (TrimSpace(group).empty()) continue;  // "a, , b" and a trailing comma: nothing asked
    Alternatives alternatives;
    for (std::string_view alt : SplitOn(group, '|')) {
      OCIFS_ASSIGN_OR_RETURN(Relation r, ParseOne(alt, what));
      alternatives.push_back(std::move(r));
    }
    groups.push_back(std::move(alternatives));
  }
  return groups;
}

}  // namespace ocifs::debian
