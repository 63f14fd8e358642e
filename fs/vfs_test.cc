#include "fs/vfs.h"

#include <cerrno>

#include <gtest/gtest.h>

#include "core/support/test_util.h"

namespace ocifs::vfs {
namespace {

TEST(VfsTest, ErrnoTable) {
  struct Case {
    Code code;
    int err;
  };
  // Anything that cannot vouch for its bytes is EIO: never a short read, never other bytes.
  const Case cases[] = {
      {Code::kOk, 0},         {Code::kNotFound, ENOENT},    {Code::kPermissionDenied, EACCES},
      {Code::kCorrupt, EIO},  {Code::kChanged, EIO},        {Code::kIo, EIO},
      {Code::kInternal, EIO}, {Code::kUnsupported, ENOTSUP}};
  for (const auto& c : cases) {
    Status s = c.code == Code::kOk ? Status::Ok() : Status(c.code, "x");
    EXPECT_EQ(ErrnoFor(s), c.err) << CodeName(c.code);
  }
}

TEST(VfsTest, CheckMountpoint) {
  TempDir d;
  d.Write("full/file", "x");
  d.Write("a-file", "x");
  std::filesystem::create_directory(d.path() + "/empty");
  struct Case {
    std::string path;
    std::string want;  // "" = OK
  };
  const Case cases[] = {{d.path() + "/empty", ""},
                        {d.path() + "/missing", "does not exist"},
                        {d.path() + "/full", "is not empty"},
                        {d.path() + "/a-file", "is not a directory"}};
  for (const auto& c : cases) {
    Status s = CheckMountpoint(c.path);
    if (c.want.empty()) {
      EXPECT_TRUE(s.ok()) << s.message();
    } else {
      ASSERT_FALSE(s.ok()) << c.path;
      EXPECT_NE(s.message().find(c.want), std::string::npos) << s.message();
      EXPECT_NE(s.message().find(c.path), std::string::npos) << s.message();
    }
  }
}

}  // namespace
}  // namespace ocifs::vfs
