#include "core/support/file_read.h"

#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

namespace ocifs {

Status PreadFull(int fd, uint64_t offset, std::span<std::byte> out, std::string_view what) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n =
        ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, what, "read");
    if (n == 0) return Status(Code::kChanged, fmt::format("{} shrank while read", what));
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace ocifs
