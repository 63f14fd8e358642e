#include "core/registry/compress.h"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>

namespace ocifs {

int CompressionSpec::EffectiveLevel() const {
  if (level != 0) return level;
  switch (algorithm) {
    case Compression::kGzip:
      return 1;
    case Compression::kZstd:
      return 3;
    case Compression::kNone:
      break;
  }
  return 0;
}

std::string CompressionSpec::str() const {
  switch (algorithm) {
    case Compression::kNone:
      return "none";
    case Compression::kGzip:
      return level == 0 ? "gzip" : fmt::format("gzip:{}", level);
    case Compression::kZstd:
      return level == 0 ? "zstd" : fmt::format("zstd:{}", level);
  }
  return "none";
}

std::string CompressionSpec::MediaType() const {
  switch (algorithm) {
    case Compression::kGzip:
      return "application/vnd.oci.image.layer.v1.tar+gzip";
    case Compression::kZstd:
      return "application/vnd.oci.image.layer.v1.tar+zstd";
    case Compression::kNone:
      break;
  }
  return "application/vnd.oci.image.layer.v1.tar";
}

std::string CompressionSpec::CacheKey() const {
  switch (algorithm) {
    case Compression::kGzip:
      return fmt::format("gzip level={} zlib={} os=255 blocks=1MiB+32KiB", EffectiveLevel(),
                         zlibVersion());
    case Compression::kZstd:
      return fmt::format("zstd level={} zstd={} workers=0", EffectiveLevel(), ZSTD_versionString());
    case Compression::kNone:
      break;
  }
  return "none";
}

Result<CompressionSpec> ParseCompression(std::string_view text, std::string_view where) {
  CompressionSpec spec;
  std::string_view name = text.substr(0, text.find(':'));
  int max_level = 0;
  if (name == "gzip") {
    spec.algorithm = Compression::kGzip, max_level = 9;
  } else if (name == "zstd") {
    spec.algorithm = Compression::kZstd, max_level = 19;
  } else if (name == "none" && name.size() == text.size()) {
    spec.algorithm = Compression::kNone;
    return spec;
  } else {
    return InvalidArgument(fmt::format(
        "{}: unknown compression `{}` (gzip, zstd or none, optionally gzip:LEVEL or zstd:LEVEL)",
        where, text));
  }
  if (name.size() < text.size()) {
    std::string_view digits = text.substr(name.size() + 1);
    int level = 0;
    bool ok = !digits.empty() && digits.size() <= 2;
    for (char c : digits) {
      ok = ok && c >= '0' && c <= '9';
      level = level * 10 + (c - '0');
    }
    if (!ok || level < 1 || level > max_level) {
      return InvalidArgument(fmt::format("{}: the level of `{}` must be a number from 1 to {}",
                                         where, text, max_level));
    }
    spec.level = level;
  }
  return spec;
}

namespace {

constexpr size_t kPiece = 1 << 20;  // read from the source at a time

class VerifiedBlobStream : public ByteStream {
 public:
  VerifiedBlobStream(std::shared_ptr<const Blob> blob, Digest digest)
      : blob_(std::move(blob)), digest_(std::move(digest)) {}

  Result<size_t> Read(std::span<std::byte> out) override {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(out.size(), blob_->size() - offset_));
    if (n > 0) {
      OCIFS_RETURN_IF_ERROR(blob_->ReadAt(offset_, out.first(n)));
      hash_.Update(std::span<const std::byte>(out.data(), n));
      offset_ += n;
    }
    if (offset_ == blob_->size() && !checked_) {
      checked_ = true;
      Digest got = hash_.Finish();
      if (got != digest_) {
        return Corrupt(
            fmt::format("blob {} read back as bytes that hash to {}", digest_.str(), got.str()));
      }
    }
    return n;
  }

 private:
  std::shared_ptr<const Blob> blob_;
  Digest digest_;
  Sha256 hash_;
  uint64_t offset_ = 0;
  bool checked_ = false;
};

// `size` bytes of `source`, exactly: ending sooner or going on fails (the end of a layer is where
// its size says).
class ExactLength : public ByteStream {
 public:
  ExactLength(std::unique_ptr<ByteStream> source, uint64_t size)
      : source_(std::move(source)), size_(size) {}

  Result<size_t> Read(std::span<std::byte> out) override {
    if (offset_ == size_) {
      std::byte extra[1];
      OCIFS_ASSIGN_OR_RETURN(size_t n, source_->Read(extra));
      if (n != 0) return Corrupt(fmt::format("the layer goes on past its {} bytes", size_));
      return size_t{0};
    }
    const size_t want = static_cast<size_t>(std::min<uint64_t>(out.size(), size_ - offset_));
    OCIFS_ASSIGN_OR_RETURN(size_t n, source_->Read(out.first(want)));
    if (n == 0 && want > 0)
      return Corrupt(fmt::format("the layer ended after {} of its {} bytes", offset_, size_));
    offset_ += n;
    return n;
  }

 private:
  std::unique_ptr<ByteStream> source_;
  const uint64_t size_;
  uint64_t offset_ = 0;
};

// gzip in independent blocks, compressed on several threads at once, the way pigz does it:
// the input is cut into kGzipBlock pieces, each deflated on its own, primed with the 32 KiB
// before it as a dictionary and ended with a sync flush (byte-aligned, not final) so that the
// pieces join into one deflate stream; the last one ends it. The CRC-32 of the pieces is
// combined in order. What each block becomes depends only on its bytes, the 32 KiB before it and
// the level, so the output is the same on any number of threads.
constexpr size_t kGzipBlock = 1 << 20;
constexpr size_t kWindow = 32 << 10;  // deflate's history: a block's dictionary
// How far compression runs ahead of the reader: blocks are read and compressed while less than
// this is compressed and waiting. More than a chunk of an upload (16 MiB by default), so a slow
// upload leaves the cores compressing the next one.
constexpr size_t kHeldMax = 32 << 20;

// One thread's raw deflate state, reset for every block.
class BlockDeflater {
 public:
  ~BlockDeflater() {
    if (live_) deflateEnd(&z_);
  }

  Status Init(int level) {
    std::memset(&z_, 0, sizeof(z_));
    if (deflateInit2(&z_, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      return Internal("zlib: deflateInit2 failed");
    live_ = true;
    return Status::Ok();
  }

  // `in` deflated after `dictionary`, into `out` (replaced).
  Status Deflate(std::span<const std::byte> in, std::span<const std::byte> dictionary, bool last,
                 std::vector<std::byte>& out) {
    if (deflateReset(&z_) != Z_OK) return Internal("zlib: deflateReset failed");
    if (!dictionary.empty() &&
        deflateSetDictionary(&z_, reinterpret_cast<const Bytef*>(dictionary.data()),
                             static_cast<uInt>(dictionary.size())) != Z_OK) {
      return Internal("zlib: deflateSetDictionary failed");
    }
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    out.resize(deflateBound(&z_, in.size()) + 16);  // + the sync flush's empty stored block
    size_t used = 0;
    for (;;) {
      z_.next_out = reinterpret_cast<Bytef*>(out.data() + used);
      z_.avail_out = static_cast<uInt>(out.size() - used);
      const int rc = deflate(&z_, last ? Z_FINISH : Z_SYNC_FLUSH);
      used = out.size() - z_.avail_out;
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
        return Internal(fmt::format("zlib: deflate: {}", rc));
      // Done: the stream ended, or the flush fitted with room to spare.
      if (last ? rc == Z_STREAM_END : z_.avail_out != 0) break;
      out.resize(out.size() * 2);
    }
    out.resize(used);
    return Status::Ok();
  }

 private:
  z_stream z_;
  bool live_ = false;
};

class BlockGzipStream : public ByteStream {
 public:
  BlockGzipStream(std::unique_ptr<ByteStream> source, uint64_t size, int level, unsigned threads)
      : source_(std::move(source)),
        size_(size),
        level_(level),
        blocks_(std::max<uint64_t>(1, (size + kGzipBlock - 1) / kGzipBlock)) {
    // The header: no name, mtime 0, OS 255 ("unknown"); XFL as zlib sets it for the level.
    const uint8_t xfl = level == 9 ? 2 : level == 1 ? 4 : 0;
    const std::array<uint8_t, 10> header = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 255};
    for (uint8_t b : header) current_.push_back(std::byte{b});
    const uint64_t n = std::clamp<uint64_t>(threads, 1, blocks_);
    for (uint64_t t = 0; t < n; ++t) workers_.emplace_back([this] { Work(); });
  }

  ~BlockGzipStream() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    workers_.clear();  // joins
  }

  Result<size_t> Read(std::span<std::byte> out) override {
    if (!failure_.ok()) return failure_;
    while (pos_ == current_.size()) {
      if (emitted_ > blocks_) return size_t{0};
      pos_ = 0;
      if (emitted_ == blocks_) {
        // The trailer: CRC-32 and the size modulo 2^32, little-endian.
        current_.clear();
        for (uint64_t v : {uint64_t{crc_}, size_ & 0xffffffff})
          for (int i = 0; i < 4; ++i) current_.push_back(std::byte(v >> (8 * i) & 0xff));
        ++emitted_;
        continue;
      }
      Compressed block;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return done_.contains(emitted_); });
        block = std::move(done_.extract(emitted_++).mapped());
        held_ -= block.bytes.size();
      }
      cv_.notify_all();
      if (!block.status.ok()) {
        failure_ = block.status;  // and again on every later read: no bytes past the hole
        current_.clear();
        return failure_;
      }
      crc_ = crc32_combine(crc_, block.crc, static_cast<z_off_t>(block.in_size));
      current_ = std::move(block.bytes);
    }
    const size_t n = std::min(out.size(), current_.size() - pos_);
    std::memcpy(out.data(), current_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  struct Compressed {
    Status status;
    std::vector<std::byte> bytes;
    uint32_t crc = 0;
    size_t in_size = 0;
  };

  size_t BlockSize(uint64_t index) const {
    return static_cast<size_t>(std::min<uint64_t>(kGzipBlock, size_ - index * kGzipBlock));
  }

  // Fills `out` from the source (an ExactLength one); at the last block, also reads its end.
  Status ReadBlock(std::span<std::byte> out, bool last) {
    for (size_t got = 0; got < out.size();) {
      OCIFS_ASSIGN_OR_RETURN(size_t n, source_->Read(out.subspan(got)));
      if (n == 0) return Internal("a source ended before its size");  // ExactLength fails first
      got += n;
    }
    if (last) {
      std::byte extra[1];
      OCIFS_ASSIGN_OR_RETURN(size_t n, source_->Read(extra));
      if (n != 0) return Internal("a source went on after its size");
    }
    return Status::Ok();
  }

  void Work() {
    BlockDeflater deflater;
    const Status init = deflater.Init(level_);
    std::vector<std::byte> in(kGzipBlock), dictionary;
    for (;;) {
      uint64_t index = 0;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock,
                 [&] { return stop_ || next_ == blocks_ || (!reading_ && held_ < kHeldMax); });
        if (stop_ || next_ == blocks_) return;
        reading_ = true;
        index = next_++;
      }
      // This thread alone reads now, so blocks come off the source in order.
      const bool last = index + 1 == blocks_;
      const auto block = std::span(in.data(), BlockSize(index));
      Compressed result;
      result.status = ReadBlock(block, last);
      result.in_size = block.size();
      dictionary = window_;
      window_.assign(block.end() - static_cast<ptrdiff_t>(std::min(block.size(), kWindow)),
                     block.end());
      {
        std::lock_guard lock(mu_);
        reading_ = false;
        stop_ = stop_ || !result.status.ok();  // blocks after a failed read are not read
      }
      cv_.notify_all();
      if (!init.ok() && result.status.ok()) result.status = init;
      if (result.status.ok()) {
        result.status = deflater.Deflate(block, dictionary, last, result.bytes);
        result.crc = static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(block.data()),
                                                 static_cast<uInt>(block.size())));
      }
      {
        std::lock_guard lock(mu_);
        held_ += result.bytes.size();
        done_.emplace(index, std::move(result));
      }
      cv_.notify_all();
    }
  }

  std::unique_ptr<ByteStream> source_;
  const uint64_t size_;
  const int level_;
  const uint64_t blocks_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;                    // guarded by mu_
  bool reading_ = false;                 // guarded by mu_: a worker is reading the source
  uint64_t next_ = 0;                    // guarded by mu_: the next block to read
  size_t held_ = 0;                      // guarded by mu_: the bytes in done_
  std::map<uint64_t, Compressed> done_;  // guarded by mu_: compressed, not yet taken

  // Used by the reading worker only (reading_ hands it on).
  std::vector<std::byte> window_;  // the last kWindow bytes read

  // Used by Read only.
  uint64_t emitted_ = 0;  // blocks given out (blocks_ + 1 once the trailer is)
  Status failure_;
  std::vector<std::byte> current_;  // header, a block, or the trailer; read up to pos_
  size_t pos_ = 0;
  uint32_t crc_ = 0;

  std::vector<std::jthread> workers_;  // last: joined before the state above goes
};

// zstd, single-threaded: one frame with the content size in its header and no checksum.
class ZstdStream : public ByteStream {
 public:
  static Result<std::unique_ptr<ByteStream>> Make(std::unique_ptr<ByteStream> source, uint64_t size,
                                                  int level) {
    auto s = std::unique_ptr<ZstdStream>(new ZstdStream(std::move(source)));
    if (s->cctx_ == nullptr) return Internal("zstd: ZSTD_createCCtx failed");
    for (auto [param, value] :
         {std::pair{ZSTD_c_compressionLevel, level}, std::pair{ZSTD_c_nbWorkers, 0},
          std::pair{ZSTD_c_checksumFlag, 0}, std::pair{ZSTD_c_contentSizeFlag, 1}}) {
      size_t rc = ZSTD_CCtx_setParameter(s->cctx_, param, value);
      if (ZSTD_isError(rc)) return Internal(fmt::format("zstd: {}", ZSTD_getErrorName(rc)));
    }
    size_t rc = ZSTD_CCtx_setPledgedSrcSize(s->cctx_, size);
    if (ZSTD_isError(rc)) return Internal(fmt::format("zstd: {}", ZSTD_getErrorName(rc)));
    return std::unique_ptr<ByteStream>(std::move(s));
  }
  ~ZstdStream() override { ZSTD_freeCCtx(cctx_); }

  Result<size_t> Read(std::span<std::byte> out) override {
    // A failure is given again on every later read: no bytes past the hole.
    if (failure_.ok()) failure_ = Fill();
    if (!failure_.ok()) return failure_;
    const size_t n = std::min(out.size(), pending_.size() - pos_);
    std::memcpy(out.data(), pending_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  explicit ZstdStream(std::unique_ptr<ByteStream> source)
      : source_(std::move(source)), cctx_(ZSTD_createCCtx()), in_(kPiece) {}

  // Compresses until there are bytes to read or the frame has ended.
  Status Fill() {
    while (pos_ == pending_.size() && !done_) {
      pending_.clear();
      pos_ = 0;
      OCIFS_ASSIGN_OR_RETURN(size_t n, source_->Read(in_));
      done_ = n == 0;
      OCIFS_RETURN_IF_ERROR(Feed(std::span<const std::byte>(in_.data(), n)));
    }
    return Status::Ok();
  }

  // Compresses `in` (the last input once done_), appending to pending_.
  Status Feed(std::span<const std::byte> in) {
    ZSTD_inBuffer input{in.data(), in.size(), 0};
    for (;;) {
      const size_t before = pending_.size();
      pending_.resize(before + kPiece);
      ZSTD_outBuffer output{pending_.data() + before, kPiece, 0};
      size_t left =
          ZSTD_compressStream2(cctx_, &output, &input, done_ ? ZSTD_e_end : ZSTD_e_continue);
      pending_.resize(before + output.pos);
      if (ZSTD_isError(left)) return Internal(fmt::format("zstd: {}", ZSTD_getErrorName(left)));
      if (done_ ? left == 0 : input.pos == input.size) return Status::Ok();
    }
  }

  std::unique_ptr<ByteStream> source_;
  ZSTD_CCtx* cctx_;
  std::vector<std::byte> in_;
  std::vector<std::byte> pending_;  // compressed, not yet read
  size_t pos_ = 0;
  bool done_ = false;
  Status failure_;
};

}  // namespace

std::unique_ptr<ByteStream> ReadVerified(std::shared_ptr<const Blob> blob, Digest digest) {
  return std::make_unique<VerifiedBlobStream>(std::move(blob), std::move(digest));
}

Result<std::unique_ptr<ByteStream>> Compress(std::unique_ptr<ByteStream> source,
                                             uint64_t source_size, const CompressionSpec& spec,
                                             unsigned threads) {
  source = std::make_unique<ExactLength>(std::move(source), source_size);
  switch (spec.algorithm) {
    case Compression::kGzip:
      if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
      return std::unique_ptr<ByteStream>(std::make_unique<BlockGzipStream>(
          std::move(source), source_size, spec.EffectiveLevel(), threads));
    case Compression::kZstd:
      return ZstdStream::Make(std::move(source), source_size, spec.EffectiveLevel());
    case Compression::kNone:
      break;
  }
  return Internal("Compress called with compression `none`");
}

}  // namespace ocifs
