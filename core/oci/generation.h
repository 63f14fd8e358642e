// Generations: one immutable OCI image layout as ocifs serves (a mount) or writes it (`ocifs
// build`): every blob with its descriptor, and the entries of index.json as typed descriptors.
// index.json's text is made here, once, from those entries; whoever needs a tag's manifest, an
// artifact or a blob's media type reads the typed values, never the JSON back.
//
// Also the reading side of index.json (ParseIndex), shared by everything that reads a layout
// (local bases, `ocifs push DIR`), and WriteLayout.
//
// Thread safety: a Generation is immutable and shared by shared_ptr (a file handle keeps the
// generation it was opened on).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/oci/blob.h"
#include "core/oci/descriptor.h"
#include "core/oci/platform.h"
#include "core/support/digest.h"
#include "core/support/status.h"

namespace ocifs {

// One entry of index.json: an image (its manifest, or the image index of several platforms)
// under a tag, or a document attached to one (an artifact manifest).
struct IndexEntry {
  Descriptor descriptor;
  std::string ref_name;              // org.opencontainers.image.ref.name; may be empty
  std::string artifact_type;         // an artifact manifest's artifactType; empty for an image
  std::optional<Platform> platform;  // a single-platform image's, when the entry says
  // The variant ([tool.ocifs.variants.NAME]) an image or artifact entry belongs to, as the
  // annotation `io.ocifs.variant`; empty for the unnamed image.
  std::string variant = {};
  // The image's full name ("docker.io/library/app:1.0"), as the annotation
  // `io.containerd.image.name`: what Docker 25's `docker save` puts in index.json, and the name
  // `podman load` gives the image. Empty: none (a layout names images by ref_name alone).
  std::string image_name = {};
  bool is_artifact() const { return !artifact_type.empty(); }
  nlohmann::json ToJson() const;
};

// The entries of an index.json's text; `where` starts every error ("base `oci:/l`"). Each entry
// must be a valid descriptor; an entry without a ref name is kept with an empty one.
Result<std::vector<IndexEntry>> ParseIndex(const std::string& where, std::string_view text);
// index.json (or an image index's) text for `entries`, as CanonicalJson writes it.
std::string IndexJson(const std::vector<IndexEntry>& entries);

class Generation {
 public:
  struct Layer {
    std::string name;
    Descriptor descriptor;
  };
  // What a generation is made of (BuildGeneration fills it).
  struct Contents {
    uint64_t number = 0;
    std::vector<IndexEntry> index;  // index.json's entries, in order
    // What each tag names: the image manifest, or the image index of a multi-platform image.
    Digest manifest_digest;
    Digest config_digest;  // the first platform's
    std::vector<Layer> own_layers;
    std::vector<bool> from_cache;
    std::vector<std::string> warnings;
    // Every blob and its descriptor, by hex digest.
    std::map<std::string, std::shared_ptr<const Blob>> blobs;
    std::map<std::string, Descriptor> descriptors;
    // Adds `blob` under its descriptor (a blob added twice is kept once).
    void Add(const Descriptor& d, std::shared_ptr<const Blob> blob);
  };

  explicit Generation(Contents contents);

  uint64_t number() const { return c_.number; }
  const std::vector<IndexEntry>& index() const { return c_.index; }
  const std::string& index_json() const { return index_json_; }
  static const std::string& oci_layout();
  const Digest& manifest_digest() const { return c_.manifest_digest; }
  const Digest& config_digest() const { return c_.config_digest; }
  // The own layers of every platform, each distinct one once.
  const std::vector<Layer>& own_layers() const { return c_.own_layers; }
  // Which own layers took their digest from the digest cache (parallel to own_layers()).
  const std::vector<bool>& from_cache() const { return c_.from_cache; }
  // What went wrong but did not stop the build (a corrupt cache entry, a failed cache write).
  const std::vector<std::string>& warnings() const { return c_.warnings; }
  // Every blob by hex digest (sorted, so listings are stable).
  const std::map<std::string, std::shared_ptr<const Blob>>& blobs() const { return c_.blobs; }
  const Blob* FindBlob(std::string_view hex) const;
  // The descriptor (media type, digest, size) of the blob `hex`; null when there is none.
  const Descriptor* FindDescriptor(std::string_view hex) const;

 private:
  Contents c_;
  std::string index_json_;
};

// Writes the layout (oci-layout, blobs, index.json last) into `dir`, which must not exist or be
// empty. Blobs are written to temporary names and renamed, so a crash leaves no wrong blob.
Status WriteLayout(const Generation& gen, const std::string& dir);

}  // namespace ocifs
