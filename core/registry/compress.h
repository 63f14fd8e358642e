// Layer compression for pushes: the mount serves layers uncompressed, a registry gets them
// compressed.
//
// Deterministic: the same bytes in give the same bytes out, so a compressed digest computed once
// names the blob for good.
// - gzip is zlib's deflate at a fixed level with a header of its own (mtime 0, no name, OS 255
//   "unknown"), compressed in 1 MiB blocks on several threads the way pigz does it: each block
//   is primed with the 32 KiB before it and ends with a sync flush, so the blocks make one
//   deflate stream whose bytes do not depend on how many threads made them.
// - zstd is single-threaded (no workers), with the content size in the frame header and no
//   checksum (the descriptor's digest is the check).
// CompressionSpec::CacheKey names all of it, the library's version and the block format included,
// so that a cached compressed digest is never trusted across a change of any of them.
//
// Thread safety: a stream is read by one thread (a gzip stream runs threads of its own inside);
// different streams may be read at once.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/oci/blob.h"
#include "core/support/byte_stream.h"
#include "core/support/digest.h"
#include "core/support/status.h"

namespace ocifs {

enum class Compression { kNone, kGzip, kZstd };

struct CompressionSpec {
  Compression algorithm = Compression::kGzip;
  int level = 0;  // 0: the algorithm's default (gzip 1, zstd 3)

  int EffectiveLevel() const;
  std::string str() const;  // "gzip", "gzip:9", "zstd:3", "none"
  // The layer media type the compressed bytes get ("...tar+gzip").
  std::string MediaType() const;
  // What a compressed digest depends on besides the input: algorithm, level, library version.
  std::string CacheKey() const;
  bool operator==(const CompressionSpec&) const = default;
};

// "gzip", "zstd", "none", or "gzip:LEVEL" (1-9), "zstd:LEVEL" (1-19). `where` starts the error.
Result<CompressionSpec> ParseCompression(std::string_view text, std::string_view where);

// The blob's bytes in order, hashed as they go: reading past the end fails unless they hashed to
// `digest` (a source that changed, or lied, never gets past its last byte).
std::unique_ptr<ByteStream> ReadVerified(std::shared_ptr<const Blob> blob, Digest digest);

// `source`'s bytes compressed by `spec` (REQUIRES: spec.algorithm != kNone). `source_size` is
// what `source` must give: a source that ends sooner or goes on fails the read that finds out.
// gzip compresses on `threads` threads (0: one per core), which do not change its bytes.
Result<std::unique_ptr<ByteStream>> Compress(std::unique_ptr<ByteStream> source,
                                             uint64_t source_size, const CompressionSpec& spec,
                                             unsigned threads = 0);

}  // namespace ocifs
