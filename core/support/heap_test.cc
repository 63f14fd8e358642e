#include "core/support/heap.h"

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace ocifs {
namespace {

// The line of /proc/self/smaps that starts `key` ("" for the mapping's own line), for the mapping
// that holds `p`; "" when there is none.
std::string SmapsField(const void* p, const std::string& key) {
  std::ifstream smaps("/proc/self/smaps");
  const auto at = reinterpret_cast<uintptr_t>(p);
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    uintptr_t lo = 0, hi = 0;
    char dash = 0;
    std::istringstream range(line);
    if (range >> std::hex >> lo >> dash >> hi && dash == '-') {  // a mapping's first line
      inside = lo <= at && at < hi;
      if (inside && key.empty()) return line;
    } else if (inside && line.starts_with(key)) {
      return line;
    }
  }
  return "";
}

std::string ThpMode() {
  std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const size_t open = text.find('['), close = text.find(']');
  return open == std::string::npos || close == std::string::npos
             ? "never"
             : text.substr(open + 1, close - open - 1);
}

// After PrepareHeap a block of several megabytes comes from the heap (memory freed is reused, not
// mapped and faulted in again), and that heap may use huge pages where the kernel allows them.
TEST(HeapTest, LargeBlocksComeFromAHeapThatMayUseHugePages) {
  PrepareHeap();
  void* block = std::malloc(24 << 20);
  ASSERT_NE(block, nullptr);
  EXPECT_NE(SmapsField(block, "").find("[heap]"), std::string::npos)
      << "a 24 MiB block is in: " << SmapsField(block, "");
  // Its middle: the first megabyte or two may lie below the heap's first 2 MiB boundary.
  const void* middle = static_cast<const char*>(block) + (12 << 20);
  if (const std::string mode = ThpMode(); mode == "madvise" || mode == "always") {
    const std::string eligible = SmapsField(middle, "THPeligible:");
    EXPECT_TRUE(eligible.ends_with(" 1"))
        << eligible << " (transparent huge pages: " << mode << ")";
  }
  std::free(block);
}

}  // namespace
}  // namespace ocifs
