#include "core/live/mount_status.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include <fmt/format.h>

#include "core/support/atomic_file.h"
#include "core/support/digest.h"
#include "core/support/private_dir.h"

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
  return fmt::format("{}/{}.json", RuntimeDir(), Digest::Of(real_mountpoint).hex().substr(0, 24));
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

}  // namespace ocifs
