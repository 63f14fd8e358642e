// System packages for an image: `system-packages = ["libpq5"]` becomes one layer of Debian
// packages above the base, resolved against the base's own dpkg database and apt sources.
//
//   OCIFS_ASSIGN_OR_RETURN(SystemLayer s, PlanSystemPackages(base, platform, options, context));
//   // s.tar: the layer (its bytes made on read, the .debs fetched on the first read if needed)
//
// The first plan reads the base's apt files (base_files.h), loads and verifies the archive's
// indexes (apt.h), resolves the request (debian/resolve.h) and records all of it in the cache
// under a key of the base's manifest, the platform, the request and the archive settings. A
// later plan with the same key, online or --offline, reads that record and the packages'
// listings from the cache: no network, no base layer read, no .deb opened. `refresh` resolves
// again (new versions in the archive).
//
// Thread safety: a function; the SystemLayer's tar may be read concurrently.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/debian/package.h"
#include "core/oci/base.h"
#include "core/oci/platform.h"
#include "core/oci/tar.h"
#include "core/registry/fetch.h"
#include "core/registry/http.h"
#include "core/support/status.h"

namespace ocifs {

struct SystemPackagesOptions {
  std::vector<std::string> packages;  // requests as written: "libpq5", "ffmpeg=7:5.1.*"
  std::vector<std::string> mirrors;   // apt-mirror: each "URL" or "URL SUITE COMPONENT..."
  std::vector<std::string> keyrings;  // apt-keyring: keyring files of this machine
  std::string origin;                 // where the request was written, for messages
};

struct SystemContext {
  std::shared_ptr<HttpTransport> transport;  // null: offline only
  RetryPolicy retry;
  std::string cache_dir;  // the digest cache's directory; apt's files go below it
  bool offline = false;
  bool refresh = false;  // resolve again even when a record is cached (--refresh-packages)
  std::shared_ptr<const void> keep;  // what must live as long as the context (a temporary cache)
};

struct SystemLayer {
  std::shared_ptr<const VirtualTar> tar;
  std::string created_by;                 // the history entry
  std::vector<debian::Package> packages;  // added, dependencies first
  std::vector<std::string> in_base;       // requests the base meets already
  std::vector<std::string> warnings;
  bool from_record = false;  // the resolution came from the cache
};

// dpkg's name of a platform's architecture: linux/amd64 -> amd64, linux/arm/v7 -> armhf, ...
Result<std::string> DpkgArchitecture(const Platform& platform);

// `epoch`: the mtime of the layer's entries (the project's SOURCE_DATE_EPOCH or default).
Result<SystemLayer> PlanSystemPackages(const BaseImage& base, const Platform& platform,
                                       const SystemPackagesOptions& options,
                                       const SystemContext& context, int64_t epoch);

}  // namespace ocifs
