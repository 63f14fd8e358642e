// OCI content descriptors and the media types ocifs reads and writes (image-spec v1.1).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/support/digest.h"
#include "core/support/status.h"

namespace ocifs {

inline constexpr char kMediaTypeOciManifest[] = "application/vnd.oci.image.manifest.v1+json";
inline constexpr char kMediaTypeOciIndex[] = "application/vnd.oci.image.index.v1+json";
inline constexpr char kMediaTypeOciConfig[] = "application/vnd.oci.image.config.v1+json";
inline constexpr char kMediaTypeOciLayer[] = "application/vnd.oci.image.layer.v1.tar";
// The empty descriptor's blob `{}` (image-spec 1.1), the config of artifact manifests.
inline constexpr char kMediaTypeOciEmpty[] = "application/vnd.oci.empty.v1+json";
inline constexpr char kMediaTypeOciLayerGzip[] = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr char kMediaTypeOciLayerZstd[] = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr char kMediaTypeDockerManifest[] =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr char kMediaTypeDockerList[] =
    "application/vnd.docker.distribution.manifest.list.v2+json";

struct Descriptor {
  std::string media_type;
  Digest digest;
  uint64_t size = 0;
  nlohmann::json ToJson() const;
};

// The one serializer of the JSON documents ocifs makes (configs, manifests, indexes): compact,
// keys sorted, invalid UTF-8 replaced. Same document, same bytes, same digest.
std::string CanonicalJson(const nlohmann::json& j);

// A descriptor's mediaType, digest and size from JSON; `where` and `what` name it in errors
// ("base `X`: manifest config is not a valid descriptor").
Result<Descriptor> ParseDescriptor(const std::string& where, const nlohmann::json& j,
                                   std::string_view what);

}  // namespace ocifs
