#include "core/support/tree.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "core/support/file_read.h"
#include "core/support/unique_fd.h"
#include "core/support/uring.h"

namespace ocifs {
namespace {

std::string Quote(std::string_view root, std::string_view path) {
  if (path.empty()) return fmt::format("directory `{}`", root);
  return fmt::format("`{}`", path);
}

FileType TypeOf(mode_t m) {
  if (S_ISREG(m)) return FileType::kRegular;
  if (S_ISDIR(m)) return FileType::kDirectory;
  if (S_ISLNK(m)) return FileType::kSymlink;
  if (S_ISFIFO(m)) return FileType::kFifo;
  if (S_ISSOCK(m)) return FileType::kSocket;
  if (S_ISCHR(m)) return FileType::kCharDevice;
  if (S_ISBLK(m)) return FileType::kBlockDevice;
  return FileType::kOther;
}

FileInfo InfoOf(const struct stat& st) {
  FileInfo i;
  i.type = TypeOf(st.st_mode);
  i.mode = st.st_mode & 07777;
  i.size = static_cast<uint64_t>(st.st_size);
  i.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
  i.ctime_ns = int64_t{st.st_ctim.tv_sec} * 1'000'000'000 + st.st_ctim.tv_nsec;
  i.ino = st.st_ino;
  i.dev = st.st_dev;
  i.nlink = st.st_nlink;
  i.uid = st.st_uid;
  i.gid = st.st_gid;
  return i;
}

using Fd = UniqueFd;

// How the host tree opens a source file: never blocking on a FIFO, never a controlling terminal.
constexpr int kOpenFlags = O_RDONLY | O_NONBLOCK | O_NOCTTY;
// openat2's resolve flags: nothing outside the root, no symlink in any component.
constexpr uint64_t kResolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;

constexpr size_t kDentsBuffer = 64 * 1024;

// "." for the root, so that *at() calls can name it.
const char* AtPath(const std::string& p) { return p.empty() ? "." : p.c_str(); }

class PosixFile : public File {
 public:
  PosixFile(Fd fd, FileInfo info, std::string what)
      : fd_(std::move(fd)), info_(info), what_(std::move(what)) {}
  const FileInfo& info_at_open() const override { return info_; }
  Result<FileInfo> Stat() override {
    struct stat st;
    if (::fstat(fd_.get(), &st) != 0) return ErrnoStatus(errno, what_, "fstat");
    return InfoOf(st);
  }
  Result<size_t> Pread(std::span<std::byte> buf, uint64_t offset) override {
    for (;;) {
      ssize_t n = ::pread(fd_.get(), buf.data(), buf.size(), static_cast<off_t>(offset));
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return ErrnoStatus(errno, what_, "read");
    }
  }

 private:
  Fd fd_;
  FileInfo info_;
  std::string what_;
};

class PosixTree : public Tree {
 public:
  PosixTree(Fd root, std::string name) : root_(std::move(root)), name_(std::move(name)) {}

  const std::string& root_name() const override { return name_; }

  Result<FileInfo> Lstat(std::string_view path) const override {
    std::string p(path);
    struct stat st;
    if (::fstatat(root_.get(), AtPath(p), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoStatus(errno, Quote(name_, path), "lstat");
    }
    return InfoOf(st);
  }

  Result<std::vector<DirEntry>> ReadDir(std::string_view path) const override {
    std::string p(path);
    Fd fd(OpenBeneath(p, O_RDONLY | O_DIRECTORY));
    if (fd.get() < 0) return ErrnoStatus(errno, Quote(name_, path), "open directory");
    // getdents64 straight into a per-thread buffer: opendir would add two fcntl calls and a
    // 32 KiB allocation per directory, and planning reads thousands of them.
    thread_local std::unique_ptr<char[]> buf(new char[kDentsBuffer]);
    std::vector<DirEntry> entries;
    for (;;) {
      const long n = ::syscall(SYS_getdents64, fd.get(), buf.get(), kDentsBuffer);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoStatus(errno, Quote(name_, path), "read directory");
      if (n == 0) break;
      for (long off = 0; off < n;) {
        // The kernel's struct linux_dirent64: ino, off, reclen, type, then the NUL-ended name.
        const char* rec = buf.get() + off;
        uint16_t reclen;
        std::memcpy(&reclen, rec + 16, sizeof reclen);
        off += reclen;
        const char* name = rec + 19;
        std::string_view n_view(name);
        if (n_view == "." || n_view == "..") continue;
        struct stat st;
        if (::fstatat(fd.get(), name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
          return ErrnoStatus(
              errno, Quote(name_, p.empty() ? std::string(n_view) : p + "/" + std::string(n_view)),
              "lstat");
        }
        DirEntry& d = entries.emplace_back(DirEntry{std::string(n_view), InfoOf(st), true});
        // A world-readable file needs no access check (a syscall per file on the planning
        // path). Only a POSIX ACL that denies this user a world-readable file escapes it, and
        // that file then fails its read with EIO instead of failing the plan.
        if (S_ISREG(st.st_mode) && (st.st_mode & S_IROTH) == 0) {
          d.readable = ::faccessat(fd.get(), name, R_OK, AT_EACCESS | AT_SYMLINK_NOFOLLOW) == 0;
        }
      }
    }
    return entries;
  }

  Result<std::string> ReadLink(std::string_view path) const override {
    std::string p(path);
    std::string buf(256, '\0');
    for (;;) {
      ssize_t n = ::readlinkat(root_.get(), p.c_str(), buf.data(), buf.size());
      if (n < 0) return ErrnoStatus(errno, Quote(name_, path), "readlink");
      if (static_cast<size_t>(n) < buf.size()) {
        buf.resize(static_cast<size_t>(n));
        return buf;
      }
      buf.resize(buf.size() * 2);
    }
  }

  // Open, read, fstat, close for each file: the opens, then the reads, then the closes are one
  // io_uring batch each (Uring), kEntries files at a time. The fstat after the read stays a
  // system call: io_uring's statx runs on a worker thread, which costs more than it saves. What
  // a batch leaves undone (a short read, a ring that failed) is finished with system calls.
  void ReadFiles(std::span<FileRead> reads) const override {
    Uring* ring = Uring::ForThisThread();
    if (ring == nullptr || reads.size() < 2) {
      Tree::ReadFiles(reads);
      return;
    }
    for (size_t at = 0; at < reads.size(); at += Uring::kEntries) {
      ReadBatch(ring, reads.subspan(at, std::min<size_t>(Uring::kEntries, reads.size() - at)));
      ring = Uring::ForThisThread();  // null when this batch broke it
    }
  }

  Result<std::unique_ptr<File>> Open(std::string_view path) const override {
    std::string p(path);
    Fd fd(OpenBeneath(p, kOpenFlags));
    if (fd.get() < 0) return ErrnoStatus(errno, Quote(name_, path), "open");
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, Quote(name_, path), "fstat");
    if (!S_ISREG(st.st_mode)) {
      return Status(Code::kChanged,
                    fmt::format("{}: is no longer a regular file", Quote(name_, path)));
    }
    return std::unique_ptr<File>(
        std::make_unique<PosixFile>(std::move(fd), InfoOf(st), Quote(name_, path)));
  }

 private:
  // openat2 with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS: no component may be a symlink and nothing
  // may resolve outside the root, whatever happens to the tree meanwhile.
  int OpenBeneath(const std::string& p, int flags) const {
    struct open_how how = {};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC | O_NOFOLLOW);
    how.resolve = kResolve;
    for (;;) {
      long fd = ::syscall(SYS_openat2, root_.get(), AtPath(p), &how, sizeof how);
      if (fd >= 0 || errno != EINTR) return static_cast<int>(fd);
    }
  }

  // One batch of ReadFiles. REQUIRES: reads.size() <= Uring::kEntries.
  void ReadBatch(Uring* ring, std::span<FileRead> reads) const {
    struct State {
      int fd = -1;
      size_t done = 0;  // bytes read
      bool failed = false;
    };
    std::array<State, Uring::kEntries> st;
    struct open_how how = {};
    how.flags = static_cast<uint64_t>(kOpenFlags | O_CLOEXEC | O_NOFOLLOW);
    how.resolve = kResolve;
    auto fail = [&](size_t i, int err, const char* op) {
      reads[i].after = ErrnoStatus(err, Quote(name_, reads[i].path), op);
      st[i].failed = true;
    };
    // An operation with no submission entry (none can be missing: a batch fits the ring) is
    // simply left to the system calls below.
    for (size_t i = 0; i < reads.size(); ++i) {
      if (io_uring_sqe* sqe = ring->Prepare(i))
        io_uring_prep_openat2(sqe, root_.get(), AtPath(reads[i].path), &how);
    }
    bool ok = ring->Run([&](uint64_t i, int res) {
      if (res >= 0) {
        st[i].fd = res;
      } else {
        fail(i, -res, "open");
      }
    });
    if (ok) {
      for (size_t i = 0; i < reads.size(); ++i) {
        if (st[i].fd < 0 || reads[i].out.empty()) continue;
        // RWF_NOWAIT: what is not in the page cache is left to pread (EAGAIN, or a short read),
        // and so is a file that is no longer regular (a FIFO with a writer would wait forever).
        io_uring_sqe* sqe = ring->Prepare(i);
        if (sqe == nullptr) continue;
        io_uring_prep_read(sqe, st[i].fd, reads[i].out.data(),
                           static_cast<unsigned>(std::min<size_t>(reads[i].out.size(), 1u << 30)),
                           reads[i].offset);
        sqe->rw_flags = RWF_NOWAIT;
      }
      ok = ring->Run([&](uint64_t i, int res) {
        if (res >= 0) {
          st[i].done = static_cast<size_t>(res);
        } else if (res != -EAGAIN && res != -EOPNOTSUPP) {
          fail(i, -res, "read");
        }
      });
    }
    // What is left with system calls: an open the batch did not make (the ring failed), the rest
    // of a short read (PreadFull says kChanged at end of file); then the fstat of each.
    for (size_t i = 0; i < reads.size(); ++i) {
      FileRead& r = reads[i];
      if (st[i].failed) continue;
      const std::string what = Quote(name_, r.path);
      if (st[i].fd < 0) {
        st[i].fd = OpenBeneath(r.path, kOpenFlags);
        if (st[i].fd < 0) {
          fail(i, errno, "open");
          continue;
        }
      }
      Status read = PreadFull(st[i].fd, r.offset + st[i].done, r.out.subspan(st[i].done), what);
      if (!read.ok()) {
        r.after = std::move(read);
        continue;
      }
      struct stat sb;
      if (::fstat(st[i].fd, &sb) != 0) {
        fail(i, errno, "fstat");
        continue;
      }
      r.after = InfoOf(sb);
    }
    for (size_t i = 0; i < reads.size(); ++i) {
      if (st[i].fd < 0) continue;
      if (io_uring_sqe* sqe = ok ? ring->Prepare(i) : nullptr) {
        io_uring_prep_close(sqe, st[i].fd);
      } else {
        ::close(st[i].fd);
      }
    }
    if (ok) ring->Run([](uint64_t, int) {});  // a close cannot fail in a way that matters here
  }

  Fd root_;
  std::string name_;
};

}  // namespace

void Tree::ReadFiles(std::span<FileRead> reads) const {
  for (FileRead& r : reads) {
    r.after = [&]() -> Result<FileInfo> {
      OCIFS_ASSIGN_OR_RETURN(std::unique_ptr<File> file, Open(r.path));
      for (size_t done = 0; done < r.out.size();) {
        OCIFS_ASSIGN_OR_RETURN(size_t n, file->Pread(r.out.subspan(done), r.offset + done));
        if (n == 0) {
          return Status(Code::kChanged,
                        fmt::format("`{}` in `{}` shrank while read", r.path, root_name()));
        }
        done += n;
      }
      return file->Stat();
    }();
  }
}

std::string_view FileTypeName(FileType type) {
  switch (type) {
    case FileType::kRegular:
      return "regular file";
    case FileType::kDirectory:
      return "directory";
    case FileType::kSymlink:
      return "symlink";
    case FileType::kFifo:
      return "FIFO";
    case FileType::kSocket:
      return "socket";
    case FileType::kCharDevice:
      return "character device";
    case FileType::kBlockDevice:
      return "block device";
    case FileType::kOther:
      return "special file";
  }
  return "special file";
}

Result<std::string> ReadSmallFile(const Tree& tree, std::string_view path, uint64_t max_size) {
  OCIFS_ASSIGN_OR_RETURN(auto info, tree.Lstat(path));
  if (info.type != FileType::kRegular) {
    return InvalidArgument(
        fmt::format("`{}`: is a {}, want a regular file", path, FileTypeName(info.type)));
  }
  if (info.size > max_size) {
    return InvalidArgument(
        fmt::format("`{}`: {} bytes is larger than the {} allowed", path, info.size, max_size));
  }
  OCIFS_ASSIGN_OR_RETURN(auto file, tree.Open(path));
  std::string out(info.size, '\0');
  size_t done = 0;
  while (done < out.size()) {
    OCIFS_ASSIGN_OR_RETURN(size_t n,
                           file->Pread(std::as_writable_bytes(std::span(out).subspan(done)), done));
    if (n == 0) break;
    done += n;
  }
  out.resize(done);
  return out;
}

Result<std::unique_ptr<Tree>> OpenPosixTree(const std::string& root) {
  Fd fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) {
    int err = errno;
    if (err == ENOENT) return NotFound(fmt::format("directory `{}` does not exist", root));
    if (err == ENOTDIR) return InvalidArgument(fmt::format("`{}` is not a directory", root));
    return ErrnoStatus(err, fmt::format("directory `{}`", root), "open");
  }
  return std::unique_ptr<Tree>(std::make_unique<PosixTree>(std::move(fd), root));
}

// ---- MemTree ---------------------------------------------------------------------------------

class MemFile : public File {
 public:
  MemFile(const MemTree* tree, FileInfo info, std::shared_ptr<std::string> content)
      : tree_(tree), info_(info), content_(std::move(content)) {}
  const FileInfo& info_at_open() const override { return info_; }
  // As fstat: what the inode is now (Modify changes it in place), or what it was when it has no
  // name left.
  Result<FileInfo> Stat() override { return tree_->InodeInfo(content_.get()).value_or(info_); }
  Result<size_t> Pread(std::span<std::byte> buf, uint64_t offset) override {
    ++tree_->content_reads_;
    if (offset >= content_->size()) return size_t{0};
    size_t n = std::min<size_t>(buf.size(), content_->size() - offset);
    std::memcpy(buf.data(), content_->data() + offset, n);
    return n;
  }

 private:
  const MemTree* tree_;
  FileInfo info_;
  std::shared_ptr<std::string> content_;
};

MemTree::Node& MemTree::Put(std::string path, Node node) {
  node.info.ino = next_ino_++;
  node.info.dev = 1;
  node.info.mtime_ns = node.info.ctime_ns = clock_ns_;
  auto [it, inserted] = nodes_.insert_or_assign(std::move(path), std::move(node));
  return it->second;
}

MemTree& MemTree::AddFile(std::string path, std::string content, uint32_t mode) {
  Node n;
  n.info.type = FileType::kRegular;
  n.info.mode = mode;
  n.info.size = content.size();
  n.content = std::make_shared<std::string>(std::move(content));
  Put(std::move(path), std::move(n));
  return *this;
}

MemTree& MemTree::AddDir(std::string path, uint32_t mode) {
  Node n;
  n.info.type = FileType::kDirectory;
  n.info.mode = mode;
  Put(std::move(path), std::move(n));
  return *this;
}

MemTree& MemTree::AddSymlink(std::string path, std::string target) {
  Node n;
  n.info.type = FileType::kSymlink;
  n.info.mode = 0777;
  n.info.size = target.size();
  n.target = std::move(target);
  Put(std::move(path), std::move(n));
  return *this;
}

MemTree& MemTree::AddSpecial(std::string path, FileType type) {
  Node n;
  n.info.type = type;
  n.info.mode = 0644;
  Put(std::move(path), std::move(n));
  return *this;
}

MemTree& MemTree::AddHardlink(std::string path, std::string_view existing) {
  auto it = nodes_.find(existing);
  if (it == nodes_.end()) std::abort();  // a test fixture bug
  it->second.info.nlink++;
  Node copy = it->second;
  nodes_.insert_or_assign(std::move(path), copy);
  for (auto& [p, n] : nodes_) {
    if (n.info.ino == copy.info.ino) n.info.nlink = copy.info.nlink;
  }
  return *this;
}

MemTree& MemTree::SetError(std::string path, int err) {
  auto it = nodes_.find(path);
  if (it == nodes_.end()) std::abort();
  it->second.error = err;
  return *this;
}

MemTree& MemTree::Modify(std::string_view path, std::string content) {
  auto it = nodes_.find(path);
  if (it == nodes_.end()) std::abort();
  clock_ns_ += 1'000'000;
  *it->second.content = std::move(content);
  for (auto& [p, n] : nodes_) {
    if (n.info.ino == it->second.info.ino) {
      n.info.size = n.content->size();
      n.info.mtime_ns = n.info.ctime_ns = clock_ns_;
    }
  }
  return *this;
}

MemTree& MemTree::SetTimesAndOwner(std::string_view path, int64_t mtime_ns, uint32_t uid,
                                   uint32_t gid) {
  auto it = nodes_.find(path);
  if (it == nodes_.end()) std::abort();
  it->second.info.mtime_ns = mtime_ns;
  it->second.info.uid = uid;
  it->second.info.gid = gid;
  return *this;
}

Result<const MemTree::Node*> MemTree::Find(std::string_view path, std::string_view op) const {
  auto it = nodes_.find(path);
  if (it == nodes_.end()) return ErrnoStatus(ENOENT, Quote(name_, path), op);
  if (it->second.error != 0) return ErrnoStatus(it->second.error, Quote(name_, path), op);
  return &it->second;
}

Result<FileInfo> MemTree::Lstat(std::string_view path) const {
  auto it = nodes_.find(path);
  if (it == nodes_.end()) return ErrnoStatus(ENOENT, Quote(name_, path), "lstat");
  return it->second.info;  // lstat works on unreadable entries, as on a real disk
}

Result<std::vector<DirEntry>> MemTree::ReadDir(std::string_view path) const {
  OCIFS_ASSIGN_OR_RETURN(const Node* dir, Find(path, "open directory"));
  if (dir->info.type != FileType::kDirectory)
    return ErrnoStatus(ENOTDIR, Quote(name_, path), "open directory");
  std::string prefix = path.empty() ? "" : std::string(path) + "/";
  std::vector<DirEntry> entries;
  for (auto it = nodes_.lower_bound(prefix); it != nodes_.end() && it->first.starts_with(prefix);
       ++it) {
    std::string_view rest = std::string_view(it->first).substr(prefix.size());
    if (!rest.empty() && rest.find('/') == std::string_view::npos) {
      entries.push_back(DirEntry{std::string(rest), it->second.info, it->second.error == 0});
    }
  }
  // Reverse order, so that nothing relies on the order of a directory listing.
  return std::vector<DirEntry>(entries.rbegin(), entries.rend());
}

Result<std::string> MemTree::ReadLink(std::string_view path) const {
  OCIFS_ASSIGN_OR_RETURN(const Node* n, Find(path, "readlink"));
  if (n->info.type != FileType::kSymlink)
    return ErrnoStatus(EINVAL, Quote(name_, path), "readlink");
  return n->target;
}

std::optional<FileInfo> MemTree::InodeInfo(const std::string* content) const {
  for (const auto& [path, node] : nodes_) {
    if (node.content.get() == content) return node.info;
  }
  return std::nullopt;
}

Result<std::unique_ptr<File>> MemTree::Open(std::string_view path) const {
  OCIFS_ASSIGN_OR_RETURN(const Node* n, Find(path, "open"));
  if (n->info.type != FileType::kRegular) {
    return Status(Code::kChanged,
                  fmt::format("{}: is no longer a regular file", Quote(name_, path)));
  }
  return std::unique_ptr<File>(std::make_unique<MemFile>(this, n->info, n->content));
}

}  // namespace ocifs
