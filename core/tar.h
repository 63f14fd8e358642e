// The virtual tar: a layer blob that exists only as a table of segments.
//
// A layer is a list of TarEntry values (sorted, see layer.h). VirtualTar turns them into the exact
// bytes of a deterministic tar stream without writing it anywhere: a sorted table of segments
// (header bytes kept in memory, file payloads read from their source with pread, zero padding,
// the end-of-archive marker). Sizes are known before any file content is read.
//
// Format (the same bytes on every machine; bump kTarFormatVersion when they change):
//   * POSIX ustar headers; a PAX extended header ('x') only where ustar cannot hold a value:
//     names or link targets over 100 bytes or not ASCII, sizes of 8 GiB and more, ids over
//     07777777. Records sorted by key; never atime/ctime.
//   * no user/group names, devmajor/devminor zero, one mtime for every entry;
//   * directories are named with a trailing '/', hardlinks are type '1' naming an earlier entry;
//   * the stream ends with two zero blocks (no padding to a 10 KiB record).
//
// Integrity: before a source file is read, its metadata is compared with what the layer was
// planned from (FileInfo::SameVersion); a mismatch or a short read fails the read with kChanged.
// Never a short read, never zero fill.
//
// Thread safety: immutable after Build(); ReadAt and Stream may run concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tree.h"

namespace ocifs {

inline constexpr int kTarFormatVersion = 1;

struct TarEntry {
  enum class Type { kFile, kDirectory, kSymlink, kHardlink };

  std::string name;  // path in the layer: relative, no trailing '/', e.g. "app/src/pkg/cli.py"
  Type type = Type::kFile;
  uint32_t mode = 0644;  // permission bits only (the packer strips setuid/setgid/sticky)
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;  // kFile only
  std::string link;   // kSymlink: the target; kHardlink: the name of the earlier entry

  // Content of a kFile: either a file of `tree` (checked against `source_info` before reading)
  // or bytes made by ocifs (generated scripts, plugin files).
  std::shared_ptr<const Tree> tree;
  std::string source_path;
  FileInfo source_info;
  std::shared_ptr<const std::string> data;
};

// The 512-byte header blocks (PAX header, its records and padding included) for one entry.
// Exposed for tests.
std::string EncodeTarHeaders(const TarEntry& entry, int64_t mtime);

class VirtualTar {
 public:
  // REQUIRES: `entries` sorted as the layer wants them, names unique.
  static std::shared_ptr<const VirtualTar> Build(std::vector<TarEntry> entries, int64_t mtime);

  uint64_t size() const { return size_; }
  const std::vector<TarEntry>& entries() const { return entries_; }

  // Fills `out` with the bytes at [offset, offset + out.size()).
  // REQUIRES: offset + out.size() <= size().
  Status ReadAt(uint64_t offset, std::span<std::byte> out) const;

  // Feeds the whole stream, in order, to `sink` in chunks of at most `chunk` bytes.
  Status Stream(const std::function<void(std::span<const std::byte>)>& sink,
                size_t chunk = 1 << 20) const;

 private:
  enum class Kind : uint8_t { kHeader, kFile, kZero };
  struct Segment {
    uint64_t offset;  // in the tar stream
    uint64_t length;
    uint64_t ref;  // kHeader: offset in headers_; kFile: index in entries_
    Kind kind;
  };
  Status ReadFile(const TarEntry& e, uint64_t from, std::span<std::byte> out) const;

  std::vector<TarEntry> entries_;
  std::string headers_;
  std::vector<Segment> segments_;
  uint64_t size_ = 0;
};

}  // namespace ocifs
