// Platforms: the os/architecture[/variant] an image is for, as image indexes and configs name them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/support/status.h"

namespace ocifs {

struct Platform {
  std::string os = "linux";
  std::string architecture;
  std::string variant;
  std::string str() const;  // "linux/amd64", "linux/arm/v7"
  bool operator==(const Platform&) const = default;
};
Result<Platform> ParsePlatform(std::string_view text);
// "linux/amd64,linux/arm64": at least one, no platform twice.
Result<std::vector<Platform>> ParsePlatforms(std::string_view text);
// The platform of the machine this runs on (uname's machine in OCI's names).
Platform HostPlatform();
// {"os": ..., "architecture": ..., "variant": ...} (variant only when set), as image indexes and
// configs write it; and back (nullopt when os or architecture is missing or not a string).
nlohmann::json PlatformJson(const Platform& platform);
std::optional<Platform> PlatformFromJson(const nlohmann::json& j);

}  // namespace ocifs
