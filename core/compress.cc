#include "core/compress.h"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace ocifs {

int CompressionSpec::EffectiveLevel() const {
  if (level != 0) return level;
  switch (algorithm) {
    case Compression::kGzip:
      return 6;
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
      return fmt::format("gzip level={} zlib={} os=255", EffectiveLevel(), zlibVersion());
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

// The engine of a compressing stream: takes input pieces, gives output bytes.
class Engine {
 public:
  virtual ~Engine() = default;
  // Compresses `in` (the last input when `finish`), appending to `out`.
  virtual Status Feed(std::span<const std::byte> in, bool finish, std::vector<std::byte>& out) = 0;
};

class GzipEngine : public Engine {
 public:
  static Result<std::unique_ptr<Engine>> Make(int level) {
    auto e = std::unique_ptr<GzipEngine>(new GzipEngine());
    // windowBits 15 + 16: a gzip wrapper; its header is set below, not left to zlib.
    if (deflateInit2(&e->z_, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      return Internal("zlib: deflateInit2 failed");
    e->live_ = true;
    std::memset(&e->header_, 0, sizeof(e->header_));
    e->header_.os = 255;  // "unknown": the same bytes whatever the host
    if (deflateSetHeader(&e->z_, &e->header_) != Z_OK)
      return Internal("zlib: deflateSetHeader failed");
    return std::unique_ptr<Engine>(std::move(e));
  }
  ~GzipEngine() override {
    if (live_) deflateEnd(&z_);
  }

  Status Feed(std::span<const std::byte> in, bool finish, std::vector<std::byte>& out) override {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    for (;;) {
      const size_t before = out.size();
      out.resize(before + kPiece);
      z_.next_out = reinterpret_cast<Bytef*>(out.data() + before);
      z_.avail_out = static_cast<uInt>(kPiece);
      int rc = deflate(&z_, finish ? Z_FINISH : Z_NO_FLUSH);
      out.resize(before + kPiece - z_.avail_out);
      if (rc == Z_STREAM_END) return Status::Ok();
      if (rc != Z_OK && rc != Z_BUF_ERROR) return Internal(fmt::format("zlib: deflate: {}", rc));
      if (!finish && z_.avail_in == 0 && z_.avail_out != 0) return Status::Ok();
    }
  }

 private:
  GzipEngine() { std::memset(&z_, 0, sizeof(z_)); }
  z_stream z_;
  gz_header header_;
  bool live_ = false;
};

class ZstdEngine : public Engine {
 public:
  static Result<std::unique_ptr<Engine>> Make(int level, uint64_t source_size) {
    auto e = std::unique_ptr<ZstdEngine>(new ZstdEngine());
    if (e->cctx_ == nullptr) return Internal("zstd: ZSTD_createCCtx failed");
    for (auto [param, value] :
         {std::pair{ZSTD_c_compressionLevel, level}, std::pair{ZSTD_c_nbWorkers, 0},
          std::pair{ZSTD_c_checksumFlag, 0}, std::pair{ZSTD_c_contentSizeFlag, 1}}) {
      size_t rc = ZSTD_CCtx_setParameter(e->cctx_, param, value);
      if (ZSTD_isError(rc)) return Internal(fmt::format("zstd: {}", ZSTD_getErrorName(rc)));
    }
    size_t rc = ZSTD_CCtx_setPledgedSrcSize(e->cctx_, source_size);
    if (ZSTD_isError(rc)) return Internal(fmt::format("zstd: {}", ZSTD_getErrorName(rc)));
    return std::unique_ptr<Engine>(std::move(e));
  }
  ~ZstdEngine() override { ZSTD_freeCCtx(cctx_); }

  Status Feed(std::span<const std::byte> in, bool finish, std::vector<std::byte>& out) override {
    ZSTD_inBuffer input{in.data(), in.size(), 0};
    for (;;) {
      const size_t before = out.size();
      out.resize(before + kPiece);
      ZSTD_outBuffer output{out.data() + before, kPiece, 0};
      size_t left =
          ZSTD_compressStream2(cctx_, &output, &input, finish ? ZSTD_e_end : ZSTD_e_continue);
      out.resize(before + output.pos);
      if (ZSTD_isError(left)) return Internal(fmt::format("zstd: {}", ZSTD_getErrorName(left)));
      if (finish ? left == 0 : input.pos == input.size) return Status::Ok();
    }
  }

 private:
  ZstdEngine() : cctx_(ZSTD_createCCtx()) {}
  ZSTD_CCtx* cctx_;
};

class CompressingStream : public ByteStream {
 public:
  CompressingStream(std::unique_ptr<ByteStream> source, std::unique_ptr<Engine> engine)
      : source_(std::move(source)), engine_(std::move(engine)), in_(kPiece) {}

  Result<size_t> Read(std::span<std::byte> out) override {
    while (pos_ == pending_.size() && !done_) {
      pending_.clear();
      pos_ = 0;
      OCIFS_ASSIGN_OR_RETURN(size_t n, source_->Read(in_));
      done_ = n == 0;
      OCIFS_RETURN_IF_ERROR(
          engine_->Feed(std::span<const std::byte>(in_.data(), n), done_, pending_));
    }
    const size_t n = std::min(out.size(), pending_.size() - pos_);
    std::memcpy(out.data(), pending_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::unique_ptr<ByteStream> source_;
  std::unique_ptr<Engine> engine_;
  std::vector<std::byte> in_;
  std::vector<std::byte> pending_;  // compressed, not yet read
  size_t pos_ = 0;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<ByteStream> ReadVerified(std::shared_ptr<const Blob> blob, Digest digest) {
  return std::make_unique<VerifiedBlobStream>(std::move(blob), std::move(digest));
}

Result<std::unique_ptr<ByteStream>> Compress(std::unique_ptr<ByteStream> source,
                                             uint64_t source_size, const CompressionSpec& spec) {
  std::unique_ptr<Engine> engine;
  switch (spec.algorithm) {
    case Compression::kGzip: {
      OCIFS_ASSIGN_OR_RETURN(engine, GzipEngine::Make(spec.EffectiveLevel()));
      break;
    }
    case Compression::kZstd: {
      OCIFS_ASSIGN_OR_RETURN(engine, ZstdEngine::Make(spec.EffectiveLevel(), source_size));
      break;
    }
    case Compression::kNone:
      return Internal("Compress called with compression `none`");
  }
  return std::unique_ptr<ByteStream>(
      std::make_unique<CompressingStream>(std::move(source), std::move(engine)));
}

}  // namespace ocifs
