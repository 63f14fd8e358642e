// The apt client: verified package indexes and .deb files from Debian archives, kept in the
// cache so that a remount (and --offline) needs no network.
//
//   AptClient apt(setup, transport, retry, cache_dir);
//   OCIFS_ASSIGN_OR_RETURN(AptIndex index, apt.LoadIndex());
//   OCIFS_ASSIGN_OR_RETURN(std::shared_ptr<File> deb, apt.OpenDeb(index.packages[0]));
//
// Trust, as apt has it: each source's InRelease is verified by gpgv against the keyrings given
// (the base image's); the Packages file (.xz, .gz or plain, fetched by its hash where the archive
// offers by-hash) must match the size and SHA256 the verified text lists; a .deb must match the
// Size and SHA256 of its Packages entry, checked as it streams, before it is kept. So plain HTTP
// mirrors are safe to use. Nothing that failed a check is cached or returned.
//
// Cache (`DIR/apt/`, a private directory): `inrelease/<key>` the last verified InRelease of a
// source (what --offline reads), `indexes/<sha256>` Packages files by their hash, `debs/<sha256>`
// packages by theirs.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/debian/package.h"
#include "core/debian/sources.h"
#include "core/debian/verify.h"
#include "core/registry/fetch.h"
#include "core/registry/http.h"
#include "core/support/digest.h"
#include "core/support/status.h"
#include "core/support/tree.h"

namespace ocifs {

struct AptSetup {
  std::vector<debian::AptSource> sources;
  std::vector<debian::Keyring> keyrings;  // trusted keys: the base's, and apt-keyring
  std::string arch;                       // the base's dpkg architecture: "amd64"
  bool offline = false;
};

struct AptIndex {
  std::vector<debian::Package> packages;  // every source's, in source order; `archive` set
  // Names the index: the SHA256s of the Packages files read, in order.
  Digest digest;
};

class AptClient {
 public:
  AptClient(AptSetup setup, std::shared_ptr<HttpTransport> transport, RetryPolicy retry,
            std::string cache_dir);

  // The packages of every source (see above). kCorrupt for anything that fails a check, kIo when
  // an archive cannot be reached, kFailedPrecondition offline with nothing cached for a source.
  Result<AptIndex> LoadIndex();

  // The verified .deb of `p`: from the cache when the file there is it (a damaged one is fetched
  // again; offline it is kCorrupt), else downloaded into it.
  Result<std::shared_ptr<File>> OpenDeb(const debian::Package& p);

  uint64_t bytes_fetched() const { return bytes_fetched_; }
  uint64_t requests() const { return requests_; }

 private:
  Status EnsureDirectories();
  // GET `url`: its whole body (at most `max`), retried; kNotFound on 404.
  Result<std::string> Get(const std::string& url, size_t max, const std::string& what);
  Result<std::string> LoadInRelease(const debian::AptSource& source);
  Result<std::string> LoadPackagesFile(const debian::AptSource& source,
                                       const debian::Release& release, const std::string& component,
                                       std::string* sha256);

  AptSetup setup_;
  std::shared_ptr<HttpTransport> transport_;
  RetryPolicy retry_;
  std::string cache_dir_;
  std::mutex mu_;  // guards directory creation
  bool dirs_ready_ = false;
  std::atomic<uint64_t> bytes_fetched_{0};
  std::atomic<uint64_t> requests_{0};
};

}  // namespace ocifs
