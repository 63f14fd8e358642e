#include "core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>

#include <fmt/format.h>

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

Status WriteFileAtomically(const std::string& path, const std::function<Status(int fd)>& fill) {
  static std::atomic<uint64_t> counter{0};
  // Unique per process and call: two writers of one path never share a temp file.
  const std::string tmp = fmt::format("{}.tmp-{}-{}", path, ::getpid(), counter++);
  int fd = ::open(tmp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus(errno, fmt::format("`{}`", tmp), "create");
  Status s = fill(fd);
  if (s.ok() && ::fsync(fd) != 0) s = ErrnoStatus(errno, fmt::format("`{}`", tmp), "fsync");
  if (::close(fd) != 0 && s.ok()) s = ErrnoStatus(errno, fmt::format("`{}`", tmp), "close");
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0)
    s = ErrnoStatus(errno, fmt::format("`{}`", path), "rename");
  if (!s.ok()) ::unlink(tmp.c_str());
  return s;
}

Status WriteFileAtomically(const std::string& path, std::string_view bytes) {
  return WriteFileAtomically(
      path, [&](int fd) { return WriteAll(fd, std::as_bytes(std::span(bytes)), path); });
}

}  // namespace ocifs
