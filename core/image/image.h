// Image assembly: from a resolved project and its base to a Generation, the immutable set of
// blobs and the index.json that a mount or `ocifs build` serves.
//
//   PlanImage()       packs the dependencies and application layers (no file content is read);
//   BuildGeneration() hashes the planned layers (in parallel, streaming), then writes the config,
//                     the manifest and index.json.
//
// Layers, bottom to top: the base's, dependencies (when there are any), extra dependencies (one
// layer per `extra-deps` tree, in order), application. Own layers
// are uncompressed tars (`application/vnd.oci.image.layer.v1.tar`), so digest == diff_id.
//
// Several platforms (`--platform linux/amd64,linux/arm64`): one image per platform, each on that
// platform's base with its own config, and an image index of them that every tag in index.json
// names (the form `skopeo copy --all oci:DIR:TAG` copies as a multi-arch image). Layers with
// equal content (the application's; dependencies from one directory) are one blob.
//
// Thread safety: an ImagePlan is immutable once made; a Generation is immutable and shared by
// shared_ptr (a file handle keeps the generation it was opened on).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/oci/base.h"
#include "core/oci/blob.h"
#include "core/oci/generation.h"
#include "core/oci/tar.h"
#include "core/python/project.h"
#include "core/support/digest.h"

namespace ocifs {

struct PlannedLayer {
  std::string name;        // "dependencies", "application"
  std::string created_by;  // the history entry (never a host path)
  std::shared_ptr<const VirtualTar> tar;
};

// A document a plugin attaches to the image: an OCI 1.1 artifact manifest whose subject is the
// image manifest, listed in index.json as "TAG.SUFFIX" for each tag (see plugin.h, artifact).
struct PlannedArtifact {
  std::string plugin;
  std::string ref_suffix;     // "sbom.spdx"
  std::string artifact_type;  // "application/spdx+json"
  std::string media_type;     // of the document
  std::shared_ptr<const std::string> content;
};

struct ImagePlan {
  std::shared_ptr<const ResolvedProject> project;
  BaseImage base;
  std::vector<PlannedLayer> layers;
  std::vector<PlannedArtifact> artifacts;  // in plugin load order, then the order attached
  std::vector<std::string> warnings;       // the project's and the packer's
  // Each entry of the dependencies tree the packer left out, with why (`ocifs inspect` lists
  // them): a site-packages tree often holds many absolute links, so `warnings` has one line for
  // them all.
  std::vector<std::string> left_out;
  // A multi-platform image (`--platform a,b`): this plan is the first platform's, and these the
  // others', in order; each a whole plan (its project view, base, layers, artifacts) with no
  // other_platforms of its own. Layers with equal content are shared (BuildGeneration).
  std::vector<ImagePlan> other_platforms;
  // Variants (`[tool.ocifs.variants.NAME]`, `--variant`): this plan is the first selected one
  // (the unnamed image when selected), and these the others, in order; each a whole plan with
  // its own other_platforms and no variants of its own. Every variant's tags name its own image;
  // layers with equal content are one blob, hashed once (BuildGeneration).
  std::vector<ImagePlan> variants;
};

// The plan and each of its variants (&plan first).
std::vector<const ImagePlan*> VariantPlans(const ImagePlan& plan);
// A variant's plan and each of its other platforms (&plan first).
std::vector<const ImagePlan*> PlatformPlans(const ImagePlan& plan);

// Which directory trees planning walks: the project, and the dependencies directory.
enum class PlanRoot { kProject = 0, kDependencies = 1 };
// Told about each directory planning reads, just before it is read, from two threads at once
// (see PackOptions::on_directory): it must be thread-safe.
using PlanDirectoryHook = std::function<void(PlanRoot root, const std::string& dir)>;

// What the dependencies layer leaves out (`__pycache__`, `*.pyc`), so a watcher ignores it too.
const std::shared_ptr<const IgnoreRules>& DependencyIgnoreRules();

// The name of the layer of an `extra-deps` tree ("extra dependencies 2" when there are several).
inline constexpr char kExtraDependenciesLayer[] = "extra dependencies";

// The application layer of `p` (the last PlanImage packs) on a base with config `base_config`;
// its warnings go to `warnings` (an error under --strict, except for secrets left out).
Result<PlannedLayer> PlanApplicationLayer(
    const ResolvedProject& p, const nlohmann::json& base_config, std::vector<std::string>& warnings,
    std::function<void(const std::string&)> on_directory = {});

// REQUIRES: `base` resolved for project->platform. `reuse_dependencies`, when given, is the
// dependencies layer of an earlier plan of the same dependencies directory that has not changed
// since (the caller vouches for it, e.g. from a file watcher): it is used instead of packing again.
Result<ImagePlan> PlanImage(std::shared_ptr<const ResolvedProject> project, BaseImage base,
                            const PlannedLayer* reuse_dependencies = nullptr,
                            const PlanDirectoryHook& on_directory = {});

// The ref name (index.json's org.opencontainers.image.ref.name) of the artifact with `suffix`
// attached to the image of `tag`: "TAG.SUFFIX", or "TAG.PLATFORM.SUFFIX"
// ("latest.linux-arm64.sbom.spdx") in an image of several platforms.
std::string ArtifactRefName(std::string_view tag, bool several_platforms, const Platform& platform,
                            std::string_view suffix);
// Every ref name index.json will list is unique: no tag is also an artifact's ref name. Checked
// at the end of planning (PlanPlatforms), so that a mount finds it before it returns.
Status CheckRefNames(const ImagePlan& plan);

// The generated console scripts of the dependencies layer: one per `[console_scripts]` entry of
// every `*.dist-info/entry_points.txt` (or `*.egg-info/entry_points.txt`) in the dependencies
// tree, in name order; the first distribution to name a script wins. Exposed for tests.
Result<std::vector<TarEntry>> DependencyConsoleScripts(const Tree& deps);

// How far hashing has got, per layer; read by `ocifs status` and progress lines while
// BuildGeneration runs. Setting `cancelled` makes BuildGeneration stop at the next chunk with
// kFailedPrecondition. Thread-safe.
class HashProgress {
 public:
  enum class State { kPending, kHashing, kFromCache, kHashed, kFailed };
  struct Layer {
    std::string name;
    uint64_t done = 0;
    uint64_t total = 0;
    State state = State::kPending;
  };

  std::atomic<bool> cancelled{false};

  // Starts a new generation's hashing: one entry per own layer, all pending.
  void Begin(const std::vector<std::pair<std::string, uint64_t>>& layers);
  void Advance(size_t layer, uint64_t bytes);
  void Set(size_t layer, State state);
  std::vector<Layer> Snapshot() const;
  uint64_t bytes_done() const;
  uint64_t bytes_total() const;

 private:
  mutable std::mutex mu_;  // guards layers_
  std::vector<Layer> layers_;
};

std::string_view StateName(HashProgress::State state);

class DigestCache;

// Called with the bytes of a layer as they are read to be hashed: in chunks of at most 1 MiB at
// offsets that are multiples of 1 MiB (whole pages), each once. The chunk at offset 0 comes
// first, alone, on the layer's reading thread; the others come in no set order, from the reading
// or the hashing thread, two at a time at most, while their bytes are also being hashed. They are
// the very bytes the digest is computed from, so a server may keep them as the layer's
// (fs/vfs.cc stores them in the kernel's page cache, where they are served only once the whole
// layer hashed to its digest). A chunk's memory is reused when the call returns.
using LayerBytesFn =
    std::function<void(const VirtualTar& layer, uint64_t offset, std::span<const std::byte> bytes)>;

struct BuildOptions {
  HashProgress* progress = nullptr;       // may be null
  DigestCache* cache = nullptr;           // may be null: hash every layer
  LayerBytesFn on_layer_bytes = nullptr;  // may be empty; not called for a layer the cache knows
};

// The image config: the base's, with the image's settings on top, and rootfs/history for the
// base's layers and the own layers (`own_diff_ids` may be empty, for `inspect` before hashing).
nlohmann::json ImageConfig(const ImagePlan& plan, const std::vector<Digest>& own_diff_ids);

// Hashes the planned layers (or takes their digests from the cache, when the layer's CacheKey is
// there with the same size; new digests are stored) and assembles the image.
Result<std::shared_ptr<const Generation>> BuildGeneration(const ImagePlan& plan, uint64_t number,
                                                          const BuildOptions& options = {});

// "1970-01-01T00:00:00Z"
std::string Rfc3339(int64_t epoch_seconds);

}  // namespace ocifs
