#include "core/live/mount_status.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>

#include "core/support/atomic_file.h"
#include "core/support/digest.h"
#include "core/support/private_dir.h"
#include "core/support/unique_fd.h"

namespace ocifs {
namespace {

std::pair<std::string, std::string> Split(const std::string& path) {
  const size_t slash = path.rfind('/');
  return {path.substr(0, slash), path.substr(slash + 1)};
}

using json = nlohmann::json;

// The expected type of a field, as a predicate and a name for messages.
struct Shape {
  bool (*is)(const json&);
  const char* name;
};
constexpr Shape kString{[](const json& j) { return j.is_string(); }, "a string"};
constexpr Shape kUnsigned{[](const json& j) { return j.is_number_unsigned(); },
                          "a non-negative integer"};
constexpr Shape kInteger{[](const json& j) { return j.is_number_integer(); }, "an integer"};
constexpr Shape kBool{[](const json& j) { return j.is_boolean(); }, "true or false"};
constexpr Shape kArray{[](const json& j) { return j.is_array(); }, "an array"};
constexpr Shape kObject{[](const json& j) { return j.is_object(); }, "an object"};

Status CheckFields(const json& j, std::string_view where,
                   std::initializer_list<std::pair<const char*, Shape>> fields) {
  for (const auto& [key, shape] : fields) {
    auto it = j.find(key);
    if (it != j.end() && !shape.is(*it)) {
      return Corrupt(fmt::format("`{}{}` is {}, not {}", where, key, it->type_name(), shape.name));
    }
  }
  return Status::Ok();
}

// The name of a mount's status file: 24 hex digits of its real path's hash, ".json".
constexpr size_t kHashDigits = 24;
constexpr std::string_view kJson = ".json";
constexpr size_t kNameSize = kHashDigits + kJson.size();
std::string StatusFileName(const std::string& real_mountpoint) {
  return Digest::Of(real_mountpoint).hex().substr(0, kHashDigits) + std::string(kJson);
}
bool IsStatusFileName(std::string_view name) {
  return name.size() == kNameSize && name.ends_with(kJson) &&
         name.find_first_not_of("0123456789abcdef") == kHashDigits;
}

// The writer's pid in a temporary file's name, `NAME.tmp-PID-COUNTER-RANDOM`
// (WriteFileAtomicallyAt), for a status file's NAME; 0 for any other name.
long TempFileWriter(std::string_view name) {
  constexpr std::string_view kTmp = ".tmp-";
  if (name.size() <= kNameSize + kTmp.size() || !IsStatusFileName(name.substr(0, kNameSize)) ||
      name.substr(kNameSize, kTmp.size()) != kTmp) {
    return 0;
  }
  const std::string_view rest = name.substr(kNameSize + kTmp.size());
  long pid = 0;
  const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), pid);
  return ec == std::errc() && end != rest.data() && *end == '-' ? pid : 0;
}

// Whether a process with this pid exists (one of another user's is refused with EPERM).
bool ProcessExists(long pid) {
  return pid > 0 && pid <= INT_MAX && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

// The pid a status file names and the file's inode; nullopt when it is not a regular file with
// a JSON object that has an integer pid (not one the daemon wrote: left alone).
struct Writer {
  long pid;
  dev_t dev;
  ino_t ino;
};
std::optional<Writer> StatusFileWriter(int dir_fd, const char* name) {
  UniqueFd fd(::openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  struct stat st;
  constexpr off_t kMaxSize = 1 << 20;  // the daemon's are under a kilobyte or two
  if (fd.get() < 0 || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
      st.st_size > kMaxSize) {
    return std::nullopt;
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  const ssize_t n = ::pread(fd.get(), text.data(), text.size(), 0);
  if (n < 0) return std::nullopt;
  text.resize(static_cast<size_t>(n));
  const json j = json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("pid") || !j["pid"].is_number_integer()) return std::nullopt;
  return Writer{j["pid"].get<long>(), st.st_dev, st.st_ino};
}

}  // namespace

Status CheckStatusJson(const json& j) {
  if (!j.is_object()) return Corrupt("not a JSON object");
  OCIFS_RETURN_IF_ERROR(CheckFields(j, "",
                                    {{"pid", kInteger},
                                     {"mountpoint", kString},
                                     {"project", kString},
                                     {"generation", kUnsigned},
                                     {"manifest", kString},
                                     {"state", kString},
                                     {"watching", kBool},
                                     {"layers", kArray},
                                     {"last_error", kString},
                                     {"updated", kString},
                                     {"plugins", kObject},
                                     {"cache", kObject},
                                     {"serving", kObject}}));
  if (j.contains("layers")) {
    for (size_t i = 0; i < j["layers"].size(); ++i) {
      const json& l = j["layers"][i];
      const std::string where = fmt::format("layers[{}].", i);
      if (!l.is_object()) return Corrupt(fmt::format("`layers[{}]` is not an object", i));
      OCIFS_RETURN_IF_ERROR(CheckFields(
          l, where,
          {{"name", kString}, {"state", kString}, {"done", kUnsigned}, {"total", kUnsigned}}));
    }
  }
  if (j.contains("cache")) {
    OCIFS_RETURN_IF_ERROR(CheckFields(
        j["cache"], "cache.", {{"dir", kString}, {"hits", kUnsigned}, {"misses", kUnsigned}}));
  }
  if (j.contains("serving")) {
    OCIFS_RETURN_IF_ERROR(CheckFields(
        j["serving"], "serving.",
        {{"read_requests", kUnsigned}, {"read_bytes", kUnsigned}, {"stored_bytes", kUnsigned}}));
  }
  if (j.contains("plugins")) {
    for (const auto& [name, plugin] : j["plugins"].items()) {
      if (!plugin.is_object()) return Corrupt(fmt::format("`plugins.{}` is not an object", name));
      OCIFS_RETURN_IF_ERROR(
          CheckFields(plugin, fmt::format("plugins.{}.", name), {{"summary", kString}}));
    }
  }
  return Status::Ok();
}

std::string RuntimeDir() {
  if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg != nullptr && xdg[0] == '/') {
    return std::string(xdg) + "/ocifs";
  }
  if (::geteuid() == 0) return "/run/ocifs";
  return fmt::format("/tmp/ocifs-{}", ::geteuid());
}

std::string StatusFilePath(const std::string& real_mountpoint) {
  return fmt::format("{}/{}", RuntimeDir(), StatusFileName(real_mountpoint));
}

Status WriteStatusFile(const std::string& path, const nlohmann::json& status) {
  const auto [dir, name] = Split(path);
  OCIFS_ASSIGN_OR_RETURN(UniqueFd dir_fd, OpenPrivateDir(dir));
  return WriteFileAtomicallyAt(
      dir_fd.get(), name,
      status.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n", path, 0600,
      Sync::kNo);
}

Result<nlohmann::json> ReadStatusFile(const std::string& path) {
  const auto [dir, name] = Split(path);
  auto dir_fd = OpenExistingPrivateDir(dir);
  if (!dir_fd.ok()) {
    if (dir_fd.status().code() == Code::kNotFound) {
      return NotFound(fmt::format("no status file `{}`", path));
    }
    return dir_fd.status();
  }
  auto text = ReadFileAt(dir_fd->get(), name, path);
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound) {
      return NotFound(fmt::format("no status file `{}`", path));
    }
    return text.status();
  }
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Corrupt(fmt::format("status file `{}` is not a JSON object", path));
  Status shape = CheckStatusJson(j);
  if (!shape.ok()) return Corrupt(fmt::format("status file `{}`: {}", path, shape.message()));
  return j;
}

Status RemoveStatusFile(const std::string& path) {
  const auto [dir, name] = Split(path);
  auto dir_fd = OpenExistingPrivateDir(dir);
  if (!dir_fd.ok())
    return dir_fd.status().code() == Code::kNotFound ? Status::Ok() : dir_fd.status();
  if (::unlinkat(dir_fd->get(), name.c_str(), 0) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, fmt::format("status file `{}`", path), "remove");
  }
  return Status::Ok();
}

Result<size_t> SweepStatusFiles(const std::string& dir,
                                const std::vector<std::string>& mount_points) {
  auto dir_fd = OpenExistingPrivateDir(dir);
  if (!dir_fd.ok()) {
    if (dir_fd.status().code() == Code::kNotFound) return size_t{0};
    return dir_fd.status();
  }
  const int listing_fd = ::fcntl(dir_fd->get(), F_DUPFD_CLOEXEC, 0);
  DIR* d = listing_fd < 0 ? nullptr : ::fdopendir(listing_fd);
  if (d == nullptr) {
    const int err = errno;
    if (listing_fd >= 0) ::close(listing_fd);
    return ErrnoStatus(err, fmt::format("directory `{}`", dir), "read");
  }
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
  ::closedir(d);

  std::unordered_set<std::string> mounted;
  for (const std::string& point : mount_points) mounted.insert(StatusFileName(point));
  size_t removed = 0;
  auto remove = [&](const std::string& name) -> Status {
    if (::unlinkat(dir_fd->get(), name.c_str(), 0) == 0) {
      ++removed;
    } else if (errno != ENOENT) {  // ENOENT: another mount's sweep was first
      return ErrnoStatus(errno, fmt::format("`{}/{}`", dir, name), "remove");
    }
    return Status::Ok();
  };
  for (const std::string& name : names) {
    if (const long writer = TempFileWriter(name); writer != 0) {
      if (!ProcessExists(writer)) OCIFS_RETURN_IF_ERROR(remove(name));
      continue;
    }
    if (!IsStatusFileName(name) || mounted.contains(name)) continue;
    const std::optional<Writer> w = StatusFileWriter(dir_fd->get(), name.c_str());
    if (!w || ProcessExists(w->pid)) continue;
    // Still the file that was read: a new daemon of this mountpoint may have replaced it.
    struct stat now;
    if (::fstatat(dir_fd->get(), name.c_str(), &now, AT_SYMLINK_NOFOLLOW) != 0 ||
        now.st_dev != w->dev || now.st_ino != w->ino) {
      continue;
    }
    OCIFS_RETURN_IF_ERROR(remove(name));
  }
  return removed;
}

}  // namespace ocifs
