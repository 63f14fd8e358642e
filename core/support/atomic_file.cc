#include "core/support/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <random>

#include <fmt/format.h>

#include "core/support/unique_fd.h"

namespace ocifs {

Status WriteAll(int fd, std::span<const std::byte> bytes, std::string_view what) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, fmt::format("`{}`", what), "write");
    bytes = bytes.subspan(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status WriteFileAtomicallyAt(int dir_fd, std::string_view name,
                             const std::function<Status(int fd)>& fill, std::string_view what,
                             mode_t mode, Sync sync) {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 random{std::random_device{}()};
  // Unique per process and call, and not guessable: two writers of one path never share a temp
  // file, and a name that exists is skipped (O_EXCL), never followed.
  std::string tmp;
  UniqueFd fd;
  for (int attempt = 0; attempt < 8 && !fd.valid(); ++attempt) {
    tmp = fmt::format("{}.tmp-{}-{}-{:06x}", name, ::getpid(), counter++, random() & 0xffffff);
    fd = UniqueFd(
        ::openat(dir_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
    if (!fd.valid() && errno != EEXIST) break;
  }
  if (!fd.valid()) return ErrnoStatus(errno, fmt::format("`{}` (its temp file)", what), "create");
  Status s = fill(fd.get());
  if (s.ok() && sync == Sync::kYes && ::fsync(fd.get()) != 0)
    s = ErrnoStatus(errno, fmt::format("`{}`", what), "fsync");
  if (::close(fd.release()) != 0 && s.ok()) {
    s = ErrnoStatus(errno, fmt::format("`{}`", what), "close");
  }
  const std::string final_name(name);
  if (s.ok() && ::renameat(dir_fd, tmp.c_str(), dir_fd, final_name.c_str()) != 0) {
    s = ErrnoStatus(errno, fmt::format("`{}`", what), "rename");
  }
  if (!s.ok()) ::unlinkat(dir_fd, tmp.c_str(), 0);
  return s;
}

Status WriteFileAtomicallyAt(int dir_fd, std::string_view name, std::string_view bytes,
                             std::string_view what, mode_t mode, Sync sync) {
  return WriteFileAtomicallyAt(
      dir_fd, name, [&](int fd) { return WriteAll(fd, std::as_bytes(std::span(bytes)), what); },
      what, mode, sync);
}

Status WriteFileAtomically(const std::string& path, const std::function<Status(int fd)>& fill,
                           mode_t mode) {
  return WriteFileAtomicallyAt(AT_FDCWD, path, fill, path, mode);
}

Status WriteFileAtomically(const std::string& path, std::string_view bytes, mode_t mode) {
  return WriteFileAtomicallyAt(AT_FDCWD, path, bytes, path, mode);
}

}  // namespace ocifs
