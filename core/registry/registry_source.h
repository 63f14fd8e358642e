// Bases from registries, pulled lazily.
//
// Resolving a base fetches its manifest (by tag: always asked again, so a moved tag is seen; by
// digest: from the cache when there), the platform's manifest from an index, and the config.
// Layer blobs are fetched on their first read, in full, into the blob cache, and served only
// after the whole blob has been verified (base.h's verified file blob); concurrent first reads
// fetch once. Nothing is written where it could be taken for a whole blob before it is one: a
// temp file, fsync, rename.
//
// The cache (`<cache dir>/blobs/sha256/<hex>` and `<cache dir>/refs/<domain>/<repository>/<tag>`,
// which holds the manifest digest a tag last resolved to) is what lets `--offline` resolve a
// base with no network at all. Without a cache directory (`--no-cache`) blobs go to a private
// directory removed with the context.
//
// Mirrors (`--registry-mirror`): each mirror of the reference's registry is asked first, in
// order, for every manifest and blob, then the registry itself; a mirror that fails is a
// warning, and gets one retry only.
//
// A context resolves each (reference, platform, mirrors) once per process: a daemon's later plans
// of the same project reuse the base.
//
// Thread safety: everything may be used from many threads.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/oci/base.h"
#include "core/registry/registry.h"
#include "core/support/private_dir.h"

namespace ocifs {

class RegistryContext {
 public:
  // `cache_dir` empty: a private temp directory, removed by the destructor.
  static Result<std::shared_ptr<RegistryContext>> Make(
      RegistryOptions options, std::string cache_dir,
      std::shared_ptr<HttpTransport> transport = nullptr,
      std::shared_ptr<const CredentialStore> credentials = nullptr);
  RegistryContext(const RegistryContext&) = delete;
  RegistryContext& operator=(const RegistryContext&) = delete;

  // `mirrors` of the reference's registry are tried first, in order (with fewer retries); one
  // that fails is a warning in the BaseImage, and the next source is asked.
  Result<BaseImage> Resolve(const std::string& reference, const Platform& platform,
                            const std::vector<RegistryMirror>& mirrors = {});

  RegistryClient& client() { return *client_; }
  bool offline() const { return offline_; }

 private:
  RegistryContext() = default;
  Status EnsureDirectories();

  std::shared_ptr<RegistryClient> client_;         // shared with the lazy blobs it made
  std::shared_ptr<RegistryClient> mirror_client_;  // for mirrors: fewer attempts
  std::string dir_;                                // the cache directory (or scratch_'s)
  std::string blob_dir_;                           // dir_/blobs/sha256
  std::optional<ScratchDir> scratch_;              // with no cache: this context's own
  bool offline_ = false;
  std::mutex mu_;
  std::map<std::string, BaseImage> resolved_;  // by "reference platform"
};

// The BaseSource of an image reference pulled through `registry` (REQUIRES: not null), from
// `mirrors` first.
std::unique_ptr<BaseSource> RegistryBase(std::string reference,
                                         std::shared_ptr<RegistryContext> registry,
                                         std::vector<RegistryMirror> mirrors);

}  // namespace ocifs
