// Pushing an image layout to a registry, as the best clients do (crane, skopeo, Jib).
//
// Push() takes one image of a layout (a tag of its index.json: an image manifest, or an image
// index of several platforms) and the artifacts attached to it (index.json entries `TAG.SUFFIX`
// with an `artifactType`), and puts them in a repository under one or more tags:
//
//   1. Every blob whose digest is known is checked with HEAD first, and skipped when the
//      repository has it.
//   2. A missing layer that the layout holds compressed, when the image's base
//      (`org.opencontainers.image.base.name`) is another repository of the same registry, is
//      mounted from there (POST ?mount=&from=); a registry that does not mount it opens an
//      upload instead, which is used.
//   3. Otherwise the blob is uploaded: in one PUT up to PushOptions::monolithic_max (and the
//      chunk size), else in PATCH chunks of PushOptions::chunk_size, streamed from the source (one
//      chunk in memory at a time). A chunk that fails is resumed from where the registry's upload
//      status says its bytes end; a session the registry dropped (distribution drops one that got
//      part of a chunk) is started again from the first byte. Every byte read from the source is
//      hashed and checked against its digest before the upload is completed.
//   4. Layers the layout holds uncompressed are compressed (compress.h); the compressed digest
//      and size are kept in the digest cache by the uncompressed digest and the compression, so
//      an unchanged layer is neither compressed again (to learn its digest) nor uploaded again.
//      A layer compressed for the first time is compressed once, while it uploads: the HEAD of
//      step 1 comes before only when it fits one PUT (its digest known before sending); a larger
//      one learns its digest at its last byte, which the completing PUT names.
//      The config, and its rootfs.diff_ids, are pushed as they are.
//   5. Manifests go last, children before parents: each platform's manifest (by digest), then
//      the image index (by digest), then the tags. Each manifest's Content-Type is its mediaType.
//   6. Artifacts: their subject is rewritten to the pushed manifest they describe, and they are
//      pushed by digest. A registry that does not say `OCI-Subject` (no referrers API) gets the
//      fallback tag `sha256-<subject hex>` updated, as the distribution spec says: the image
//      index there, with this artifact added once.
//
// Same inputs, same pushed digests: compression is deterministic and manifests are rewritten
// with the same serializer.
//
// Thread safety: Push() runs blob transfers on PushOptions::jobs threads of its own; the source,
// client and cache must allow concurrent use (theirs do).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/oci/base.h"
#include "core/oci/blob.h"
#include "core/oci/digest_cache.h"
#include "core/oci/generation.h"
#include "core/oci/layout_source.h"
#include "core/oci/reference.h"
#include "core/registry/compress.h"
#include "core/registry/registry.h"
#include "core/support/status.h"

namespace ocifs {

struct PushOptions {
  std::string source_tag;         // index.json ref name of the image; empty: the first image
  std::vector<std::string> tags;  // the tags to push it under (at least one)
  CompressionSpec compression;    // for layers held uncompressed
  DigestCache* cache = nullptr;   // compressed digests; may be null
  uint64_t chunk_size = 16 << 20;
  uint64_t monolithic_max = 4 << 20;
  int jobs = 3;          // blobs transferred at once
  int max_restarts = 3;  // per blob: upload sessions started again from byte 0
  int max_resumes = 8;   // per blob: chunks resumed after a failure
  // Called from the transfer threads, never two at once.
  std::function<void(const struct PushProgress&)> on_progress;
  const std::atomic<bool>* cancelled = nullptr;  // checked between chunks
};

struct PushedBlob {
  enum class Outcome { kPending, kPresent, kMounted, kUploaded };
  std::string role;   // "config", "layer 2/5", "linux/arm64 layer 1/3", "sbom.spdx document"
  Descriptor source;  // as the layout holds it
  Descriptor pushed;  // as the registry holds it (compressed)
  Outcome outcome = Outcome::kPending;
  bool compressed_now = false;  // its compressed digest was computed (not from the cache)
  uint64_t bytes_sent = 0;      // request body bytes, retries included
  int restarts = 0, resumes = 0;
};

std::string_view OutcomeName(PushedBlob::Outcome outcome);

struct PushProgress {
  const PushedBlob* blob = nullptr;
  uint64_t bytes = 0;  // of blob->pushed.size sent so far (this attempt)
  bool done = false;
};

struct PushedReferrer {
  std::string ref_name;  // "latest.sbom.spdx"
  std::string artifact_type;
  Descriptor manifest;
  Digest subject;
  std::string fallback_tag;  // "sha256-<hex>" when the registry has no referrers API
};

struct PushReport {
  std::string repository;  // "127.0.0.1:5000/app"
  Descriptor root;         // the pushed manifest or index
  std::vector<std::string> tags;
  std::vector<PushedBlob> blobs;
  std::vector<Descriptor> manifests;  // every manifest PUT, children first
  std::vector<PushedReferrer> referrers;
  std::string mounted_from;  // the repository base layers were mounted from, if any

  uint64_t BytesSent() const;
  nlohmann::json ToJson() const;
  // "3 blobs already there (52.1 MiB), 1 mounted (28.0 MiB), 2 uploaded (1.2 MiB sent)".
  std::string Summary() const;
};

// Pushes `source`'s image to `target` (its domain and repository; the tags are options.tags).
Result<PushReport> Push(RegistryClient& client, const LayoutSource& source,
                        const ImageReference& target, const PushOptions& options);

// A variant's image (index.json entries annotated `io.ocifs.variant`) to push beside the unnamed
// image, and the tags it goes under.
struct VariantPush {
  std::string variant;
  std::string source_tag;         // its first tag in the layout
  std::vector<std::string> tags;  // in the repository
};

// The variants of `index` to push when the unnamed image is pushed under `tags`, in index order.
// A variant's layout tag that is a tag of the unnamed image with `-NAME` appended (`latest-dev`)
// goes under each of `tags` with `-NAME` (`1.0-dev`); its own tags (`ci`) go as they are.
std::vector<VariantPush> VariantPushes(const std::vector<IndexEntry>& index,
                                       const std::vector<std::string>& tags);

}  // namespace ocifs
