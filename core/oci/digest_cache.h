// DigestCache: layer digests kept on disk, so that a second mount of an unchanged project hashes
// nothing.
//
// Keyed by VirtualTar::CacheKey() (everything that shapes a layer's bytes); the value is the
// layer's digest and size. One small file per key, `<dir>/digests/<2 hex>/<key hex>`, ending in a
// checksum of its own lines:
//
//   ocifs-digest-cache 1
//   key sha256:<hex>
//   digest sha256:<hex>
//   size <bytes>
//   check <sha256 of the lines above>
//
// Writes go to a unique temporary file, are fsync'ed and renamed into place, so a killed process
// never leaves a partial entry and two processes sharing a directory never corrupt it (both write
// the same value for the same key). A file that does not parse, or whose check fails, is removed
// and reported as a warning; it is never trusted. A hit refreshes the entry's mtime; when the
// entries exceed `max_bytes` (counted in disk blocks), the least recently used are removed.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/support/digest.h"
#include "core/support/status.h"

namespace ocifs {

inline constexpr uint64_t kDefaultCacheMaxBytes = 256ULL << 20;

class DigestCache {
 public:
  struct Entry {
    Digest digest;
    uint64_t size = 0;
  };
  struct Stats {
    uint64_t entries = 0;
    uint64_t bytes = 0;  // on disk
  };

  // `$XDG_CACHE_HOME/ocifs`, else `$HOME/.cache/ocifs`.
  static std::string DefaultDir();
  // Creates the directory (mode 0700) if needed.
  static Result<std::unique_ptr<DigestCache>> Open(const std::string& dir,
                                                   uint64_t max_bytes = kDefaultCacheMaxBytes);

  const std::string& dir() const { return dir_; }
  uint64_t max_bytes() const { return max_bytes_; }

  // nullopt on a miss. A corrupt entry is a miss, is removed, and adds a line to `warnings`.
  std::optional<Entry> Lookup(const Digest& key, std::vector<std::string>* warnings);
  Status Store(const Digest& key, const Entry& entry);

  Result<Stats> Scan() const;
  // Removes least-recently-used entries until at most `max_bytes` remain; returns what is left.
  Result<Stats> Prune(uint64_t max_bytes);

  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }

 private:
  DigestCache(std::string dir, uint64_t max_bytes) : dir_(std::move(dir)), max_bytes_(max_bytes) {}
  std::string PathOf(const Digest& key) const;

  const std::string dir_;
  const uint64_t max_bytes_;
  std::atomic<uint64_t> hits_{0}, misses_{0};
  std::mutex prune_mu_;  // one prune at a time in this process
};

// Parses a size such as "512M", "2G", "1048576" (K, M, G, T are powers of 1024).
Result<uint64_t> ParseByteSize(std::string_view text);

}  // namespace ocifs
