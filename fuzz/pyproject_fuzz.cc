// libFuzzer target: pyproject.toml as ocifs reads it ([project], [tool.ocifs] with every key and
// its checks), then the merge of its settings under empty flags. Any input must give a value or an
// error: never a crash, an exception through the API, or a sanitizer report.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/python/options.h"
#include "core/python/project.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto py = ocifs::ParsePyProject(text, "pyproject.toml");
  if (!py.ok()) return 0;
  ocifs::ImageOptions merged = ocifs::Merge(py->tool, ocifs::ImageOptions{});
  for (const auto& tag : merged.tags.value_or(std::vector<std::string>{})) {
    (void)ocifs::ValidateTag(tag);
  }
  if (merged.user) (void)ocifs::ValidateUser(*merged.user);
  return 0;
}
