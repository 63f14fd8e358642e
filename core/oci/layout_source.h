// Where an image layout is read from, by whatever reads one whole (a push, an archive): its
// index.json entries and its blobs.
//
// Two sources: a layout on disk or a mount (`DIR/index.json`, `DIR/blobs/sha256/HEX`), and a
// generation built in this process. Neither checks blob bytes against their digests as it hands
// them out (a layer is large); whoever reads a blob hashes it and compares, as the push and the
// archive writer do. ReadManifestBlob reads a small one whole and checks it.
//
// Thread safety: Index and Open may be called concurrently; the blobs allow concurrent ReadAt.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "core/oci/blob.h"
#include "core/oci/descriptor.h"
#include "core/oci/generation.h"
#include "core/support/status.h"

namespace ocifs {

// The most bytes a manifest, an image index or a config may have here (a registry's limit).
inline constexpr size_t kMaxManifestBytes = 4 << 20;

class LayoutSource {
 public:
  virtual ~LayoutSource() = default;
  // index.json's entries (see generation.h).
  virtual Result<std::vector<IndexEntry>> Index() const = 0;
  // The blob `d`, of d.size bytes (kCorrupt otherwise); its bytes are not checked here.
  virtual Result<std::shared_ptr<const Blob>> Open(const Descriptor& d) const = 0;
};

// A layout on disk, or a mount: `DIR/index.json`, `DIR/blobs/sha256/HEX`.
std::unique_ptr<LayoutSource> LayoutDirectory(std::string dir);
// A generation built in this process (`ocifs push PROJECT`, `ocifs export PROJECT`).
std::unique_ptr<LayoutSource> GenerationLayout(std::shared_ptr<const Generation> gen);

// The blob `d` read whole, checked against its digest: a manifest, an image index or a config
// (at most kMaxManifestBytes, kCorrupt when larger).
Result<std::string> ReadManifestBlob(const LayoutSource& source, const Descriptor& d);

}  // namespace ocifs
