#include "core/debian/decompress.h"

#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <array>
#include <cstring>
#include <vector>

namespace ocifs::debian {
namespace {

constexpr size_t kInput = 64 << 10;

// What every codec shares: an input buffer filled from the compressed stream, and the rule that
// the compressed data must end where its stream says it does.
class Decoder : public ByteStream {
 public:
  Decoder(std::unique_ptr<ByteStream> in, std::string what)
      : in_(std::move(in)), what_(std::move(what)) {}

  Result<size_t> Read(std::span<std::byte> out) override {
    if (!failed_.ok()) return failed_;
    size_t produced = 0;
    while (produced == 0 && !done_ && !out.empty()) {
      if (avail_ == 0 && !in_eof_) {
        Result<size_t> n = in_->Read(input_);
        if (!n.ok()) return Fail(n.status());
        avail_ = *n;
        next_ = input_.data();
        in_eof_ = *n == 0;
      }
      Result<size_t> n = Step(out);
      if (!n.ok()) return Fail(n.status());
      produced = *n;
      if (!done_ && produced == 0 && avail_ == 0 && in_eof_)
        return Fail(Corrupt(what_ + ": the compressed data ends too soon"));
    }
    return produced;
  }

 protected:
  // Decodes from next_/avail_ into `out`; sets done_ at the end of the compressed data.
  virtual Result<size_t> Step(std::span<std::byte> out) = 0;
  Status Bad(std::string_view why) const { return Corrupt(what_ + ": " + std::string(why)); }

  std::unique_ptr<ByteStream> in_;
  std::string what_;
  std::array<std::byte, kInput> input_{};
  const std::byte* next_ = nullptr;
  size_t avail_ = 0;
  bool in_eof_ = false;
  bool done_ = false;

 private:
  Status Fail(Status s) {
    failed_ = s;
    return s;
  }
  Status failed_;
};

class GzipDecoder : public Decoder {
 public:
  using Decoder::Decoder;
  ~GzipDecoder() override {
    if (init_) inflateEnd(&z_);
  }

 protected:
  Result<size_t> Step(std::span<std::byte> out) override {
    if (!init_) {
      if (inflateInit2(&z_, 16 + MAX_WBITS) != Z_OK) return Bad("zlib would not start");
      init_ = true;
    }
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(next_));
    z_.avail_in = static_cast<uInt>(avail_);
    z_.next_out = reinterpret_cast<Bytef*>(out.data());
    z_.avail_out = static_cast<uInt>(std::min<size_t>(out.size(), 1u << 30));
    const uInt before = z_.avail_out;
    const int rc = inflate(&z_, Z_NO_FLUSH);
    next_ = reinterpret_cast<const std::byte*>(z_.next_in);
    avail_ = z_.avail_in;
    if (rc == Z_STREAM_END) {
      done_ = true;
    } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return Bad(std::string("not gzip data: ") + (z_.msg ? z_.msg : "inflate failed"));
    }
    return static_cast<size_t>(before - z_.avail_out);
  }

 private:
  z_stream z_{};
  bool init_ = false;
};

class XzDecoder : public Decoder {
 public:
  using Decoder::Decoder;
  ~XzDecoder() override { lzma_end(&s_); }

 protected:
  Result<size_t> Step(std::span<std::byte> out) override {
    if (!init_) {
      if (lzma_stream_decoder(&s_, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK)
        return Bad("liblzma would not start");
      init_ = true;
    }
    s_.next_in = reinterpret_cast<const uint8_t*>(next_);
    s_.avail_in = avail_;
    s_.next_out = reinterpret_cast<uint8_t*>(out.data());
    s_.avail_out = out.size();
    const lzma_ret rc = lzma_code(&s_, in_eof_ && avail_ == 0 ? LZMA_FINISH : LZMA_RUN);
    next_ = reinterpret_cast<const std::byte*>(s_.next_in);
    avail_ = s_.avail_in;
    if (rc == LZMA_STREAM_END) {
      done_ = true;
    } else if (rc != LZMA_OK && rc != LZMA_BUF_ERROR) {
      return Bad(rc == LZMA_FORMAT_ERROR ? "not xz data" : "the xz data is damaged");
    }
    return out.size() - s_.avail_out;
  }

 private:
  lzma_stream s_ = LZMA_STREAM_INIT;
  bool init_ = false;
};

class ZstdDecoder : public Decoder {
 public:
  using Decoder::Decoder;
  ~ZstdDecoder() override { ZSTD_freeDStream(d_); }

 protected:
  Result<size_t> Step(std::span<std::byte> out) override {
    if (!d_) {
      d_ = ZSTD_createDStream();
      if (!d_) return Bad("zstd would not start");
    } else if (!frame_open_ && avail_ == 0 && in_eof_) {
      done_ = true;  // the last frame ended with the input
      return 0;
    }
    ZSTD_inBuffer in{next_, avail_, 0};
    ZSTD_outBuffer o{out.data(), out.size(), 0};
    const size_t rc = ZSTD_decompressStream(d_, &o, &in);
    next_ += in.pos;
    avail_ -= in.pos;
    if (ZSTD_isError(rc))
      return Bad(std::string("the zstd data is damaged: ") + ZSTD_getErrorName(rc));
    // rc == 0: a frame ended; another may follow (zstd allows concatenated frames).
    frame_open_ = rc != 0;
    return o.pos;
  }

 private:
  ZSTD_DStream* d_ = nullptr;
  bool frame_open_ = false;
};

class Plain : public ByteStream {
 public:
  explicit Plain(std::unique_ptr<ByteStream> in) : in_(std::move(in)) {}
  Result<size_t> Read(std::span<std::byte> out) override { return in_->Read(out); }

 private:
  std::unique_ptr<ByteStream> in_;
};

}  // namespace

Result<Codec> CodecOf(std::string_view name) {
  if (name.ends_with(".gz")) return Codec::kGzip;
  if (name.ends_with(".xz")) return Codec::kXz;
  if (name.ends_with(".zst")) return Codec::kZstd;
  if (name.ends_with(".bz2") || name.ends_with(".lzma") || name.ends_with(".lz4"))
    return Unsupported("`" + std::string(name) +
                       "`: ocifs reads .gz, .xz, .zst and uncompressed files");
  return Codec::kNone;
}

std::unique_ptr<ByteStream> Decompress(Codec codec, std::unique_ptr<ByteStream> compressed,
                                       std::string what) {
  switch (codec) {
    case Codec::kGzip:
      return std::make_unique<GzipDecoder>(std::move(compressed), std::move(what));
    case Codec::kXz:
      return std::make_unique<XzDecoder>(std::move(compressed), std::move(what));
    case Codec::kZstd:
      return std::make_unique<ZstdDecoder>(std::move(compressed), std::move(what));
    case Codec::kNone:
      break;
  }
  return std::make_unique<Plain>(std::move(compressed));
}

}  // namespace ocifs::debian
