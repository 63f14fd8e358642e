// Tree: the read-only view of a directory that ocifs packs (the project, a site-packages tree).
//
// Every file-system touch of the packer goes through this interface, so the unit tests run on
// MemTree (below) and never touch the disk. Paths are relative to the tree's root, '/'-separated,
// without a leading slash; "" is the root itself.
//
// The contract every implementation keeps (ARCHITECTURE.md invariant 6):
//   * Lstat and ReadLink never follow a symlink in the last component.
//   * Open opens regular files only, never follows a symlink in any component, and never
//     resolves outside the root. It does not block on FIFOs.
//
// Thread safety: implementations are safe for concurrent calls (the daemon reads many files at
// once). A File's Pread and Stat may be called concurrently.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/support/status.h"

namespace ocifs {

enum class FileType {
  kRegular,
  kDirectory,
  kSymlink,
  kFifo,
  kSocket,
  kCharDevice,
  kBlockDevice,
  kOther
};
std::string_view FileTypeName(FileType type);

struct FileInfo {
  FileType type = FileType::kOther;
  uint32_t mode = 0;  // permission bits with setuid/setgid/sticky (st_mode & 07777)
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint64_t ino = 0;
  uint64_t dev = 0;
  uint64_t nlink = 1;
  uint32_t uid = 0;
  uint32_t gid = 0;

  // Same file with the same content as far as metadata can tell (what a generation checks
  // before and after reading a source file).
  bool SameVersion(const FileInfo& o) const {
    return type == o.type && size == o.size && mtime_ns == o.mtime_ns && ctime_ns == o.ctime_ns &&
           ino == o.ino && dev == o.dev;
  }
};

// One name in a directory, with what lstat says of it and whether the caller may read it (for
// regular files; an access check relative to the open directory, not a re-resolved path).
struct DirEntry {
  std::string name;
  FileInfo info;
  bool readable = true;
};

class File {
 public:
  virtual ~File() = default;
  // What the file was when it was opened (Open stats it anyway, to refuse what is not a regular
  // file): checking it against a plan costs no system call.
  virtual const FileInfo& info_at_open() const = 0;
  virtual Result<FileInfo> Stat() = 0;
  // Reads up to buf.size() bytes at `offset`; returns the count (0 at end of file).
  virtual Result<size_t> Pread(std::span<std::byte> buf, uint64_t offset) = 0;
};

// One read of Tree::ReadFiles: the whole of `out`, from the file at `path` at `offset`.
struct FileRead {
  std::string path;
  uint64_t offset = 0;
  std::span<std::byte> out;
  // Set by ReadFiles: what fstat said of the file after the read (the caller checks it against
  // its plan, as after File::Pread), or why the read failed.
  Result<FileInfo> after = FileInfo{};
};

class Tree {
 public:
  virtual ~Tree() = default;

  // A human name for the root, used in messages ("/home/me/project").
  virtual const std::string& root_name() const = 0;

  virtual Result<FileInfo> Lstat(std::string_view path) const = 0;
  // The entries of a directory, in no particular order, without "." and "..".
  virtual Result<std::vector<DirEntry>> ReadDir(std::string_view path) const = 0;
  virtual Result<std::string> ReadLink(std::string_view path) const = 0;
  virtual Result<std::unique_ptr<File>> Open(std::string_view path) const = 0;

  // Reads many files at once (a layer's small files): each opened as Open does, read into its
  // `out` wholly (a file that ends before is kChanged), stat'ed after the read, and closed. Each
  // read gets its own `after`. The default reads them one after the other through Open; the host
  // tree batches the system calls (io_uring), and may read a file before checking that it is a
  // regular file: the type is in `after`, which the caller checks anyway.
  virtual void ReadFiles(std::span<FileRead> reads) const;
};

// Whether the host tree may batch reads with io_uring (ReadFiles): on by default where the kernel
// allows it; OCIFS_IO_URING=0 in the environment turns it off. For tests and benchmarks.
void SetIoUringEnabled(bool enabled);
bool IoUringEnabled();

// Reads a whole regular file of at most `max_size` bytes (config files: pyproject.toml, ...).
Result<std::string> ReadSmallFile(const Tree& tree, std::string_view path,
                                  uint64_t max_size = 1 << 24);

// Opens a directory of the host as a Tree. The root itself may be reached through symlinks.
Result<std::unique_ptr<Tree>> OpenPosixTree(const std::string& root);

// In-memory twin for tests. Not thread-safe while being built; read-only use is.
class MemTree : public Tree {
 public:
  explicit MemTree(std::string name = "mem:") : name_(std::move(name)) { AddDir("", 0755); }

  // Parents must exist. Later calls replace earlier ones at the same path.
  MemTree& AddFile(std::string path, std::string content, uint32_t mode = 0644);
  MemTree& AddDir(std::string path, uint32_t mode = 0755);
  MemTree& AddSymlink(std::string path, std::string target);
  MemTree& AddSpecial(std::string path, FileType type);
  // `path` becomes another name of `existing` (same inode, same content).
  MemTree& AddHardlink(std::string path, std::string_view existing);
  // Every operation on `path` fails with `err` (EACCES, EIO, ...).
  MemTree& SetError(std::string path, int err);
  // Replaces the content of an existing file and bumps its mtime/ctime (a source change).
  MemTree& Modify(std::string_view path, std::string content);
  // Sets the metadata that must not leak into layers.
  MemTree& SetTimesAndOwner(std::string_view path, int64_t mtime_ns, uint32_t uid, uint32_t gid);

  // How many Pread calls reached file contents (a warm start must read none).
  uint64_t content_reads() const { return content_reads_; }

  const std::string& root_name() const override { return name_; }
  Result<FileInfo> Lstat(std::string_view path) const override;
  Result<std::vector<DirEntry>> ReadDir(std::string_view path) const override;
  Result<std::string> ReadLink(std::string_view path) const override;
  Result<std::unique_ptr<File>> Open(std::string_view path) const override;

 private:
  struct Node {
    FileInfo info;
    std::shared_ptr<std::string> content;  // shared between hardlinks
    std::string target;
    int error = 0;
  };
  Result<const Node*> Find(std::string_view path, std::string_view op) const;
  // The info of a name of the file whose content is `content` (O(files): a test double).
  std::optional<FileInfo> InodeInfo(const std::string* content) const;
  Node& Put(std::string path, Node node);

  std::string name_;
  std::map<std::string, Node, std::less<>> nodes_;
  uint64_t next_ino_ = 1;
  int64_t clock_ns_ = 1'000'000'000;
  mutable std::atomic<uint64_t> content_reads_{0};
  friend class MemFile;
};

}  // namespace ocifs
