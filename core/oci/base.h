// Base images: where the layers below the project's come from.
//
// BaseSource is the seam for every kind of base: `scratch`, a local OCI layout
// (`oci:PATH[:TAG]`, as skopeo or umoci write it) and registries (core/registry/registry_source.h);
// OpenBaseSource (core/pipeline/pipeline.h) picks the one a reference names.
// Resolve() picks the manifest for a platform and returns the base's config and layer descriptors,
// with a Blob for each layer.
//
// Integrity: manifests, indexes and configs are read whole and checked against their digests
// before use. A layer blob is hashed in full on its first read, before any byte of it is served;
// a mismatch makes every read of it fail (kCorrupt), and a file changed after that check fails
// the read (kChanged). Never wrong bytes.
//
// Thread safety: a BaseImage's blobs may be read concurrently.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/oci/blob.h"
#include "core/oci/descriptor.h"
#include "core/oci/platform.h"
#include "core/oci/reference.h"
#include "core/support/digest.h"
#include "core/support/status.h"

namespace ocifs {

struct BaseImage {
  std::string reference;  // as the user named it
  // The registry reference in full ("docker.io/library/python:3.12-slim"), for the
  // org.opencontainers.image.base.name annotation; empty for scratch and local layouts.
  std::string name;
  std::optional<Digest> manifest_digest;             // unset for scratch
  nlohmann::json config = nlohmann::json::object();  // the base's image config (empty for scratch)
  struct Layer {
    Descriptor descriptor;  // media type normalized to OCI
    Digest diff_id;
    std::shared_ptr<const Blob> blob;
  };
  std::vector<Layer> layers;
  // What went wrong on the way but did not stop it (a registry mirror that failed).
  std::vector<std::string> warnings;
};

class BaseSource {
 public:
  virtual ~BaseSource() = default;
  virtual Result<BaseImage> Resolve(const Platform& platform) = 0;
};

// What every source that reads manifests shares (ResolveManifests): how to read a blob's bytes,
// checked against its descriptor, and how to make the Blob of a layer.
struct ManifestReader {
  std::string where;  // "base `REFERENCE`", the start of every message
  std::function<Result<std::string>(const Descriptor&)> read;
  std::function<Result<std::shared_ptr<const Blob>>(const Descriptor&)> layer_blob;
};

// From `top` (an image manifest, or an index or Docker list to pick the platform's from): the
// manifest, its config (whose os/architecture must match and whose diff_ids must pair with the
// layers) and its layers, media types normalized to OCI. `reference` is left for the caller.
Result<BaseImage> ResolveManifests(const ManifestReader& reader, const Descriptor& top,
                                   const Platform& platform);

// `scratch`: no layers, an empty config.
std::unique_ptr<BaseSource> ScratchBase();
// `oci:PATH[:TAG]` (PATH absolute; TAG defaults to the only manifest, else `latest`); an error for
// any other reference, an empty PATH or an empty TAG.
Result<std::unique_ptr<BaseSource>> OpenLayoutBase(const std::string& reference);

// A blob read from a file, hashed in full before its first byte is served (see above).
std::shared_ptr<const Blob> MakeVerifiedFileBlob(std::string path, Digest digest, uint64_t size);

}  // namespace ocifs
