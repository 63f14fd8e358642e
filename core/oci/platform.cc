#include "core/oci/platform.h"

#include <sys/utsname.h>

#include <algorithm>
#include <regex>

#include <fmt/format.h>

namespace ocifs {

std::string Platform::str() const {
  return variant.empty() ? fmt::format("{}/{}", os, architecture)
                         : fmt::format("{}/{}/{}", os, architecture, variant);
}

Result<Platform> ParsePlatform(std::string_view text) {
  static const std::regex kPlat(R"(([a-z0-9]+)/([a-z0-9_]+)(?:/([a-z0-9]+))?)");
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_match(text.begin(), text.end(), m, kPlat)) {
    return InvalidArgument(fmt::format(
        "platform `{}`: want OS/ARCH[/VARIANT], e.g. linux/amd64 or linux/arm64", text));
  }
  Platform p;
  p.os = m[1].str();
  p.architecture = m[2].str();
  p.variant = m[3].matched ? m[3].str() : "";
  return p;
}

Result<std::vector<Platform>> ParsePlatforms(std::string_view text) {
  std::vector<Platform> out;
  size_t start = 0;
  for (;;) {
    size_t comma = text.find(',', start);
    std::string_view one =
        text.substr(start, comma == std::string_view::npos ? comma : comma - start);
    OCIFS_ASSIGN_OR_RETURN(Platform p, ParsePlatform(one));
    if (std::find(out.begin(), out.end(), p) != out.end())
      return InvalidArgument(fmt::format("platform `{}` is named twice in `{}`", one, text));
    out.push_back(std::move(p));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

Platform HostPlatform() {
  struct utsname u;
  std::string machine = ::uname(&u) == 0 ? u.machine : "x86_64";
  Platform p;
  if (machine == "x86_64") {
    p.architecture = "amd64";
  } else if (machine == "aarch64" || machine == "arm64") {
    p.architecture = "arm64";
  } else if (machine.starts_with("armv7")) {
    p.architecture = "arm";
    p.variant = "v7";
  } else if (machine == "i686" || machine == "i386") {
    p.architecture = "386";
  } else {
    p.architecture = machine;  // ppc64le, s390x, riscv64 keep their names
  }
  return p;
}

nlohmann::json PlatformJson(const Platform& platform) {
  nlohmann::json j = {{"os", platform.os}, {"architecture", platform.architecture}};
  if (!platform.variant.empty()) j["variant"] = platform.variant;
  return j;
}

std::optional<Platform> PlatformFromJson(const nlohmann::json& j) {
  auto text = [&](const char* key) -> std::optional<std::string> {
    if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return std::nullopt;
    return j[key].get<std::string>();
  };
  auto os = text("os"), architecture = text("architecture");
  if (!os || !architecture) return std::nullopt;
  return Platform{*os, *architecture, text("variant").value_or("")};
}

}  // namespace ocifs
