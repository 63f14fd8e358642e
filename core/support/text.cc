#include "core/support/text.h"

#include <openssl/evp.h>

#include <algorithm>

namespace ocifs {

std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

std::string_view TrimSpace(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::vector<std::string> SplitWords(const std::vector<std::string>& args,
                                    std::string_view separators) {
  std::vector<std::string> words;
  for (const std::string& arg : args) {
    for (size_t i = 0; i < arg.size();) {
      const size_t end = std::min(arg.find_first_of(separators, i), arg.size());
      if (end > i) words.push_back(arg.substr(i, end - i));
      i = end + 1;
    }
  }
  return words;
}

std::optional<std::string> DotenvValue(std::string_view text, std::string_view key) {
  std::optional<std::string> value;
  for (std::string_view line : SplitLines(text)) {
    line = TrimSpace(line);
    if (line.starts_with("export ")) line = TrimSpace(line.substr(7));
    const size_t eq = line.find('=');
    if (line.empty() || line[0] == '#' || eq == std::string_view::npos) continue;
    if (TrimSpace(line.substr(0, eq)) != key) continue;
    std::string_view v = TrimSpace(line.substr(eq + 1));
    if (!v.empty() && (v[0] == '"' || v[0] == '\'')) {
      const size_t close = v.find(v[0], 1);
      v = close == std::string_view::npos ? v.substr(1) : v.substr(1, close - 1);
    } else if (size_t hash = v.find(" #"); hash != std::string_view::npos) {
      v = TrimSpace(v.substr(0, hash));
    }
    value = std::string(v);
  }
  return value;
}

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out(3 * (text.size() / 4), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  out.resize(static_cast<size_t>(n));
  // EVP_DecodeBlock counts the padding as zero bytes: drop them.
  for (size_t i = text.size(); i > 0 && text[i - 1] == '='; --i) out.pop_back();
  return out;
}

}  // namespace ocifs
