// libFuzzer target: .dockerignore rules as ocifs parses them, then matched against the input's
// own lines as paths (and a few fixed ones), with the directory-skipping question a walk asks.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/support/ignore.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ocifs::IgnoreRules rules;
  if (!rules.AddFile(text, "`.dockerignore`").ok()) return 0;
  auto ask = [&](std::string_view path) {
    const bool excluded = rules.Excluded(path);
    if (excluded) (void)rules.CanSkipDirectory(path);
  };
  for (std::string_view fixed : {"a", "a/b", "docs/x.md", ".git/config", "src/pkg/__init__.py"}) {
    ask(fixed);
  }
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    while (!line.empty() && (line.front() == '!' || line.front() == '/')) line.remove_prefix(1);
    if (!line.empty()) {
      ask(line);
      const size_t slash = line.rfind('/');
      (void)ocifs::GlobMatchSegment(line.substr(slash == std::string_view::npos ? 0 : slash + 1),
                                    "name.py");
    }
    start = end + 1;
  }
  return 0;
}
