// Small text helpers the sbom plugin's parsers share (the plugin sees the SDK only, not core/).
#pragma once

#include <cctype>
#include <string_view>
#include <vector>

namespace ocifs::sbom {

inline std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Calls fn(line) for each line, without its "\n" or "\r\n"; stops early when fn returns false.
template <typename F>
void ForEachLine(std::string_view text, F&& fn) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = eol + 1;
    if (!fn(line)) return;
  }
}

// The pieces of `s` between `sep`s, trimmed, empty ones left out.
inline std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t end = s.find(sep, pos);
    if (end == std::string_view::npos) end = s.size();
    std::string_view piece = Trim(s.substr(pos, end - pos));
    if (!piece.empty()) out.push_back(piece);
    pos = end + 1;
  }
  return out;
}

}  // namespace ocifs::sbom
