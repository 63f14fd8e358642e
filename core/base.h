// Base images: where the layers below the project's come from.
//
// BaseSource is the seam for every kind of base: `scratch`, a local OCI layout
// (`oci:PATH[:TAG]`, as skopeo or umoci write it) and, in a later issue, registries. Resolve()
// picks the manifest for a platform and returns the base's config and layer descriptors, with a
// Blob for each layer.
//
// Integrity: manifests, indexes and configs are read whole and checked against their digests
// before use. A layer blob is hashed in full on its first read, before any byte of it is served;
// a mismatch makes every read of it fail (kCorrupt), and a file changed after that check fails
// the read (kChanged). Never wrong bytes.
//
// Thread safety: a BaseImage's blobs may be read concurrently.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/blob.h"
#include "core/digest.h"
#include "core/project.h"
#include "core/status.h"

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

struct BaseImage {
  std::string reference;                             // as the user named it
  std::optional<Digest> manifest_digest;             // unset for scratch
  nlohmann::json config = nlohmann::json::object();  // the base's image config (empty for scratch)
  struct Layer {
    Descriptor descriptor;  // media type normalized to OCI
    Digest diff_id;
    std::shared_ptr<const Blob> blob;
  };
  std::vector<Layer> layers;
};

class BaseSource {
 public:
  virtual ~BaseSource() = default;
  virtual Result<BaseImage> Resolve(const Platform& platform) = 0;
};

// `scratch`, `oci:PATH[:TAG]` (PATH absolute; TAG defaults to the only manifest, else `latest`).
// A registry reference is kUnsupported until registry pulls exist.
Result<std::unique_ptr<BaseSource>> OpenBaseSource(const std::string& reference);

// A blob read from a file, hashed in full before its first byte is served (see above).
std::shared_ptr<const Blob> MakeVerifiedFileBlob(std::string path, Digest digest, uint64_t size);

}  // namespace ocifs
