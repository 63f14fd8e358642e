#include "core/oci/descriptor.h"

#include <fmt/format.h>

namespace ocifs {

std::string CanonicalJson(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json Descriptor::ToJson() const {
  return {{"mediaType", media_type}, {"digest", digest.str()}, {"size", size}};
}

Result<Descriptor> ParseDescriptor(const std::string& where, const nlohmann::json& j,
                                   std::string_view what) {
  if (!j.is_object() || !j.contains("digest") || !j["digest"].is_string() || !j.contains("size") ||
      !j["size"].is_number_unsigned() || !j.contains("mediaType") || !j["mediaType"].is_string()) {
    return Corrupt(where + fmt::format(": {} is not a valid descriptor", what));
  }
  Descriptor d;
  auto digest = Digest::Parse(j["digest"].get<std::string>());
  if (!digest.ok())
    return Unsupported(where + fmt::format(": {}: {}", what, digest.status().message()));
  d.digest = *digest;
  d.size = j["size"].get<uint64_t>();
  d.media_type = j["mediaType"].get<std::string>();
  return d;
}

}  // namespace ocifs
