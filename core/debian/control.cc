#include "core/debian/control.h"

#include "core/support/text.h"

namespace ocifs::debian {
namespace {

bool EqualFold(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool ValidFieldName(std::string_view name) {
  if (name.empty() || name[0] == '-' || name[0] == '#') return false;
  for (char c : name) {
    if (c <= ' ' || c > '~' || c == ':') return false;
  }
  return true;
}

}  // namespace

std::optional<std::string_view> Paragraph::Get(std::string_view name) const {
  for (const auto& [field, value] : fields_) {
    if (EqualFold(field, name)) return std::string_view(value);
  }
  return std::nullopt;
}

std::vector<std::string_view> Paragraph::Lines(std::string_view name) const {
  std::vector<std::string_view> out;
  if (std::optional<std::string_view> value = Get(name)) {
    for (std::string_view line : SplitLines(*value)) {
      line = TrimSpace(line);
      if (!line.empty() && line != ".") out.push_back(line);
    }
  }
  return out;
}

std::string Paragraph::Text() const {
  std::string out;
  for (const auto& [field, value] : fields_) {
    out += field;
    out += value.empty() || value.front() == '\n' ? ":" : ": ";
    out += value;
    out += '\n';
  }
  return out;
}

Result<std::vector<Paragraph>> ParseControl(std::string_view text, std::string_view what) {
  std::vector<Paragraph> out;
  Paragraph current;
  auto flush = [&] {
    if (!current.fields_.empty()) out.push_back(std::move(current));
    current = Paragraph();
  };
  const std::vector<std::string_view> lines = SplitLines(text);
  for (size_t n = 0; n < lines.size(); ++n) {
    const std::string_view line = lines[n];
    auto bad = [&](std::string_view why) {
      return InvalidArgument(std::string(what) + " line " + std::to_string(n + 1) + ": " +
                             std::string(why));
    };
    if (TrimSpace(line).empty()) {
      flush();
    } else if (line.front() == '#') {
      continue;
    } else if (line.front() == ' ' || line.front() == '\t') {
      if (current.fields_.empty()) return bad("a continuation line with no field before it");
      (current.fields_.back().second += '\n') += line;
    } else {
      const size_t colon = line.find(':');
      if (colon == std::string_view::npos) return bad("`" + std::string(line) + "` is not a field");
      const std::string_view name = line.substr(0, colon);
      if (!ValidFieldName(name)) return bad("`" + std::string(name) + "` is not a field name");
      if (current.Get(name)) return bad("field `" + std::string(name) + "` appears twice");
      if (current.fields_.empty()) current.line_ = n + 1;
      current.fields_.emplace_back(std::string(name),
                                   std::string(TrimSpace(line.substr(colon + 1))));
    }
  }
  flush();
  return out;
}

}  // namespace ocifs::debian
