// Tar entries and whole tar streams for tests, made by ocifs's own writer.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/oci/tar.h"

namespace ocifs {

// A file of `content` (mode 0644, root), or a symlink to `target`.
inline TarEntry MemFileEntry(std::string name, std::string content, uint32_t mode = 0644) {
  TarEntry e;
  e.name = std::move(name);
  e.mode = mode;
  e.size = content.size();
  e.data = std::make_shared<const std::string>(std::move(content));
  return e;
}
inline TarEntry SymlinkEntry(std::string name, std::string target) {
  TarEntry e;
  e.name = std::move(name);
  e.type = TarEntry::Type::kSymlink;
  e.mode = 0777;
  e.link = std::move(target);
  return e;
}

// The bytes of the tar VirtualTar makes of `entries` (in the order given) with `mtime`.
inline std::string TarBytes(std::vector<TarEntry> entries, int64_t mtime = 0) {
  std::string tar;
  Status s =
      VirtualTar::Build(std::move(entries), mtime)->Stream([&](std::span<const std::byte> b) {
        tar.append(reinterpret_cast<const char*>(b.data()), b.size());
      });
  EXPECT_TRUE(s.ok()) << s.message();
  return tar;
}

}  // namespace ocifs
