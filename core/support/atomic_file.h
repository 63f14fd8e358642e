// Files that appear whole or not at all: written to a unique temp file beside their path,
// fsync'ed (unless Sync::kNo), then renamed over it. A failed write leaves the old file (or none)
// and no temp file.
//
// The temp file is made with O_CREAT|O_EXCL|O_NOFOLLOW: a name that exists, a planted symlink
// among them, is never opened (another name is tried). Writing into a directory that another
// user can write is still unsafe (they could replace the final name between writes): such
// directories are checked first (core/support/private_dir.h).
#pragma once

#include <fcntl.h>
#include <sys/types.h>

#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "core/support/status.h"

namespace ocifs {

// Whether the content is on the disk before the rename. What must survive a crash of the machine
// (the digest cache, records, pulled blobs) is synced. A file that is runtime state only and is
// rewritten all the time (a mount's status) is not: on a disk file system each fsync is a write
// to the disk (on a journaling one, a journal commit), and a crash makes the file meaningless
// anyway. Readers still see a whole old or a whole new file.
enum class Sync { kYes, kNo };

// `fill` writes the content to the temp file's descriptor. `name` is relative to the directory
// `dir_fd` (AT_FDCWD: to the working directory, or absolute); `what` names the file in errors.
Status WriteFileAtomicallyAt(int dir_fd, std::string_view name,
                             const std::function<Status(int fd)>& fill, std::string_view what,
                             mode_t mode = 0644, Sync sync = Sync::kYes);
Status WriteFileAtomicallyAt(int dir_fd, std::string_view name, std::string_view bytes,
                             std::string_view what, mode_t mode = 0644, Sync sync = Sync::kYes);
Status WriteFileAtomically(const std::string& path, const std::function<Status(int fd)>& fill,
                           mode_t mode = 0644);
Status WriteFileAtomically(const std::string& path, std::string_view bytes, mode_t mode = 0644);

// write(2) until every byte is written (EINTR retried). `what` names the file in errors.
Status WriteAll(int fd, std::span<const std::byte> bytes, std::string_view what);

}  // namespace ocifs
