#include "core/support/private_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <utility>

#include <fmt/format.h>

namespace ocifs {
namespace {

Result<UniqueFd> CheckedDir(const std::string& path, LooseMode loose) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) {
    const int err = errno;
    struct stat st {};
    if ((err == ELOOP || err == ENOTDIR) && ::lstat(path.c_str(), &st) == 0) {
      return PermissionDenied(fmt::format(
          "`{}` is {}, not a directory of ocifs's; remove it (ocifs makes the directory)", path,
          S_ISLNK(st.st_mode) ? "a symlink" : "not a directory"));
    }
    return ErrnoStatus(err, fmt::format("directory `{}`", path), "open");
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, fmt::format("`{}`", path), "stat");
  const uid_t me = ::geteuid();
  if (st.st_uid != me) {
    return PermissionDenied(fmt::format(
        "directory `{}` belongs to uid {}, not to uid {} who runs ocifs: someone else may have "
        "made it to plant files; remove it, or set XDG_RUNTIME_DIR (status) or --cache-dir "
        "(cache) to a directory of your own",
        path, st.st_uid, me));
  }
  const mode_t perms = st.st_mode & 07777;
  if ((perms & 077) != 0) {
    if (loose == LooseMode::kRefuse) {
      return PermissionDenied(
          fmt::format("directory `{}` has mode {:04o}, not 0700: others may write or read it; "
                      "`chmod 700 {}` or remove it",
                      path, perms, path));
    }
    if (::fchmod(fd.get(), 0700) != 0) {
      return ErrnoStatus(errno, fmt::format("directory `{}` (mode {:04o})", path, perms), "chmod");
    }
  }
  return fd;
}

}  // namespace

Result<UniqueFd> OpenPrivateDir(const std::string& path, LooseMode loose, bool make_parents) {
  if (make_parents) {
    const auto parent = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec)
      return Status(Code::kIo, fmt::format("directory `{}`: {}", parent.string(), ec.message()));
  }
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoStatus(errno, fmt::format("directory `{}`", path), "mkdir");
  }
  return CheckedDir(path, loose);
}

Result<UniqueFd> OpenExistingPrivateDir(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 && errno == ENOENT) {
    return NotFound(fmt::format("no directory `{}`", path));
  }
  return CheckedDir(path, LooseMode::kRefuse);
}

Result<std::string> ReadFileAt(int dir_fd, std::string_view name, std::string_view what) {
  const std::string n(name);
  UniqueFd fd(::openat(dir_fd, n.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) {
    if (errno == ENOENT) return NotFound(fmt::format("no file `{}`", what));
    return ErrnoStatus(errno, fmt::format("`{}`", what), "open");
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return InvalidArgument(fmt::format("`{}` is not a regular file", what));
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n_read = ::read(fd.get(), buf, sizeof buf);
    if (n_read < 0 && errno == EINTR) continue;
    if (n_read < 0) return ErrnoStatus(errno, fmt::format("`{}`", what), "read");
    if (n_read == 0) break;
    out.append(buf, static_cast<size_t>(n_read));
  }
  return out;
}

Result<ScratchDir> ScratchDir::Make(std::string_view prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      fmt::format("{}/{}-XXXXXX", tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", prefix);
  if (::mkdtemp(pattern.data()) == nullptr)
    return ErrnoStatus(errno, fmt::format("directory `{}`", pattern), "make");
  return ScratchDir(std::move(pattern));
}

ScratchDir::ScratchDir(ScratchDir&& other) noexcept : path_(std::exchange(other.path_, "")) {}

ScratchDir& ScratchDir::operator=(ScratchDir&& other) noexcept {
  if (this != &other) {
    Remove();
    path_ = std::exchange(other.path_, "");
  }
  return *this;
}

ScratchDir::~ScratchDir() { Remove(); }

void ScratchDir::Remove() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
  path_.clear();
}

}  // namespace ocifs
