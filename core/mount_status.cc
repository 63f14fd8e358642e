#include "core/mount_status.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/digest.h"

namespace ocifs {

std::string RuntimeDir() {
  if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg != nullptr && xdg[0] == '/') {
    return std::string(xdg) + "/ocifs";
  }
  return fmt::format("/tmp/ocifs-{}", ::getuid());
}

std::string StatusFilePath(const std::string& real_mountpoint) {
  return fmt::format("{}/{}.json", RuntimeDir(), Digest::Of(real_mountpoint).hex().substr(0, 24));
}

Status WriteStatusFile(const std::string& path, const nlohmann::json& status) {
  const std::string dir = path.substr(0, path.rfind('/'));
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return ErrnoStatus(errno, fmt::format("`{}`", dir), "mkdir");
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << status.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    if (!out) return Status(Code::kIo, fmt::format("`{}`: could not write", tmp));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return ErrnoStatus(errno, fmt::format("`{}`", path), "rename");
  return Status::Ok();
}

Result<nlohmann::json> ReadStatusFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound(fmt::format("no status file `{}`", path));
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Corrupt(fmt::format("status file `{}` is not valid JSON", path));
  return j;
}

}  // namespace ocifs
