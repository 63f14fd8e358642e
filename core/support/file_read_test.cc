#include "core/support/file_read.h"

#include <fcntl.h>

#include <gtest/gtest.h>

#include "core/support/test_util.h"
#include "core/support/unique_fd.h"

namespace ocifs {
namespace {

TEST(PreadFullTest, FillsTheBufferOrSaysTheFileChanged) {
  TempDir dir;
  dir.Write("f", "0123456789");
  UniqueFd fd(::open((dir.path() + "/f").c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  struct Case {
    std::string name;
    uint64_t offset;
    size_t size;
    std::string want;  // the bytes read, when ok
    Code code;
  };
  const std::vector<Case> cases = {
      {"whole file", 0, 10, "0123456789", Code::kOk},
      {"middle", 3, 4, "3456", Code::kOk},
      {"up to the end", 7, 3, "789", Code::kOk},
      {"nothing at the end", 10, 0, "", Code::kOk},
      {"past the end: shrank", 8, 3, "", Code::kChanged},
      {"wholly past the end", 20, 1, "", Code::kChanged},
  };
  for (const auto& c : cases) {
    std::string buf(c.size, '\0');
    Status s = PreadFull(fd.get(), c.offset, std::as_writable_bytes(std::span(buf)), "`f`");
    EXPECT_EQ(s.code(), c.code) << c.name << ": " << s.message();
    if (c.code == Code::kOk) {
      EXPECT_EQ(buf, c.want) << c.name;
    } else {
      EXPECT_EQ(s.message(), "`f` shrank while read") << c.name;
    }
  }
}

TEST(PreadFullTest, AReadErrorNamesTheFile) {
  std::string buf(4, '\0');
  Status s = PreadFull(-1, 0, std::as_writable_bytes(std::span(buf)), "blob `x`");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.code(), Code::kChanged);
  EXPECT_NE(s.message().find("blob `x`"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace ocifs
