#include "core/support/tree.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "core/support/test_util.h"
#include "core/support/uring.h"

namespace ocifs {
namespace {

std::string Bytes(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i % 61);
  return s;
}

// Tree::ReadFiles of the host tree, with io_uring and with plain system calls: the same bytes and
// the same errors. More files than one io_uring batch holds, sizes around a page, reads at an
// offset, and reads that must fail (named in the error) among good ones.
TEST(TreeTest, ReadFilesGivesEachFileOrWhyNot) {
  TempDir dir;
  std::vector<std::pair<std::string, std::string>> files;
  for (size_t i = 0; i < Uring::kEntries + 40; ++i) {
    static constexpr size_t kSizes[] = {1, 511, 4096, 4097, 70000};
    files.emplace_back("pkg/m" + std::to_string(i) + ".py",
                       Bytes(kSizes[i % std::size(kSizes)], static_cast<char>('a' + i % 7)));
    dir.Write(files.back().first, files.back().second);
  }
  dir.Write("short.txt", "four");
  ASSERT_EQ(::mkfifo((dir.path() + "/fifo").c_str(), 0644), 0);
  std::filesystem::create_symlink("pkg/m0.py", dir.path() + "/link.py");
  // A writer keeps the FIFO open: a read that waited for data would wait forever.
  const int reader = ::open((dir.path() + "/fifo").c_str(), O_RDONLY | O_NONBLOCK);
  const int writer = ::open((dir.path() + "/fifo").c_str(), O_WRONLY | O_NONBLOCK);
  ASSERT_GE(writer, 0);

  struct Bad {
    const char* path;
    uint64_t offset;
    size_t size;
    const char* why;  // in the error message
  };
  const Bad bad[] = {
      {"missing.py", 0, 3, "missing.py"},
      {"short.txt", 0, 10, "shrank"},  // a file that ends before the read does
      {"short.txt", 2, 3, "shrank"},
      {"link.py", 0, 1, "link.py"},           // a symlink is never followed
      {"../outside.py", 0, 1, "outside.py"},  // nor is the root left
      {"fifo", 0, 1, "fifo"},                 // not a regular file: fails, does not wait
  };
  auto tree = OpenPosixTree(dir.path());
  ASSERT_TRUE(tree.ok()) << tree.status().message();
  for (bool uring : {true, false}) {
    SetIoUringEnabled(uring);
    if (uring) {
      EXPECT_NE(Uring::ForThisThread(), nullptr) << "io_uring is refused here";
    }
    std::vector<FileRead> reads;
    std::vector<std::string> bufs;
    bufs.reserve(2 * files.size());  // never reallocated: the reads point into it
    for (size_t i = 0; i < files.size(); ++i) {
      const uint64_t offset = i % 3 == 0 ? 0 : files[i].second.size() / 2;
      bufs.emplace_back(files[i].second.size() - offset, '\0');
      reads.push_back({.path = files[i].first,
                       .offset = offset,
                       .out = std::as_writable_bytes(std::span(bufs.back()))});
      // A bad read among the good ones, now and then.
      if (i % 20 == 5) {
        const Bad& b = bad[(i / 20) % std::size(bad)];
        bufs.emplace_back(b.size, '\0');
        reads.push_back({.path = b.path,
                         .offset = b.offset,
                         .out = std::as_writable_bytes(std::span(bufs.back()))});
      }
    }
    for (const Bad& b : bad) {
      bufs.emplace_back(b.size, '\0');
      reads.push_back({.path = b.path,
                       .offset = b.offset,
                       .out = std::as_writable_bytes(std::span(bufs.back()))});
    }
    (*tree)->ReadFiles(reads);
    size_t good = 0;
    for (size_t r = 0; r < reads.size(); ++r) {
      const FileRead& read = reads[r];
      const auto it = std::find_if(files.begin(), files.end(),
                                   [&](const auto& f) { return f.first == read.path; });
      if (it == files.end()) {
        const auto b = std::find_if(std::begin(bad), std::end(bad),
                                    [&](const Bad& x) { return x.path == read.path; });
        ASSERT_NE(b, std::end(bad));
        ASSERT_FALSE(read.after.ok()) << read.path << (uring ? " (io_uring)" : "");
        EXPECT_NE(read.after.status().message().find(b->why), std::string::npos)
            << read.after.status().message();
        continue;
      }
      ASSERT_TRUE(read.after.ok()) << read.path << ": " << read.after.status().message();
      EXPECT_EQ(read.after->type, FileType::kRegular);
      EXPECT_EQ(read.after->size, it->second.size());
      EXPECT_EQ(bufs[r], it->second.substr(read.offset)) << read.path;
      ++good;
    }
    EXPECT_EQ(good, files.size());
  }
  SetIoUringEnabled(true);
  ::close(writer);
  ::close(reader);
}

}  // namespace
}  // namespace ocifs
