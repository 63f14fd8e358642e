#include "core/registry/compress.h"

#include <atomic>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/registry/compress_test_util.h"

namespace ocifs {
namespace {

TEST(Compress, RoundTripsAndIsDeterministic) {
  struct Case {
    std::string spec;
    size_t size;
  };
  for (const Case& c : std::vector<Case>{{"gzip", 0},
                                         {"gzip", 5 << 20},
                                         {"gzip:1", 3 << 20},
                                         {"zstd", 0},
                                         {"zstd", 5 << 20},
                                         {"zstd:19", 1 << 20}}) {
    SCOPED_TRACE(fmt::format("{} of {} bytes", c.spec, c.size));
    auto spec = ParseCompression(c.spec, "test");
    ASSERT_TRUE(spec.ok());
    const std::string in = Sample(c.size, 7);
    const std::string once = CompressString(in, *spec), twice = CompressString(in, *spec);
    EXPECT_EQ(once, twice);
    EXPECT_EQ(spec->algorithm == Compression::kGzip ? Gunzip(once) : Unzstd(once), in);
    if (c.size > 0) {
      EXPECT_LT(once.size(), in.size() / 2);
    }
    if (spec->algorithm == Compression::kGzip) {
      // The gzip header: no mtime, no name, OS "unknown".
      ASSERT_GE(once.size(), 10u);
      EXPECT_EQ(once.substr(3, 5), std::string(5, '\0'));
      EXPECT_EQ(static_cast<unsigned char>(once[9]), 255);
    }
  }
}

TEST(Compress, ASourceThatDoesNotHashToItsDigestFails) {
  auto blob = std::make_shared<MemoryBlob>("the bytes");
  auto stream = Compress(ReadVerified(blob, Digest::Of("other bytes")), 9, {});
  ASSERT_TRUE(stream.ok());
  std::vector<std::byte> buf(1 << 20);
  Status s;
  for (;;) {
    auto n = (*stream)->Read(buf);
    if (!n.ok()) {
      s = n.status();
      break;
    }
    if (*n == 0) break;
  }
  EXPECT_EQ(s.code(), Code::kCorrupt);
}

// A source that gives a string's bytes as they are, in reads of at most `step` bytes.
class StringStream : public ByteStream {
 public:
  explicit StringStream(std::string bytes, size_t step = 1 << 20, int* reads = nullptr)
      : bytes_(std::move(bytes)), step_(step), reads_(reads) {}
  Result<size_t> Read(std::span<std::byte> out) override {
    if (reads_ != nullptr) ++*reads_;
    const size_t n = std::min({out.size(), bytes_.size() - pos_, step_});
    std::memcpy(out.data(), bytes_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string bytes_;
  size_t step_;
  int* reads_;  // counts the calls to Read when not null
  size_t pos_ = 0;
};

std::string CompressOn(const std::string& in, const CompressionSpec& spec, unsigned threads) {
  auto stream = Compress(std::make_unique<StringStream>(in, 100003), in.size(), spec, threads);
  EXPECT_TRUE(stream.ok());
  return ReadAll(**stream);
}

TEST(Compress, GzipBytesDoNotDependOnTheThreads) {
  // Around the 1 MiB blocks and the 32 KiB dictionary each gets from the one before.
  for (size_t size :
       {size_t{0}, size_t{1}, size_t{32 << 10}, size_t{(1 << 20) - 1}, size_t{1 << 20},
        size_t{(1 << 20) + 1}, size_t{(1 << 20) + (32 << 10)}, size_t{(3 << 20) + 12345}}) {
    SCOPED_TRACE(fmt::format("{} bytes", size));
    const std::string in = Sample(size, 3);
    const std::string one = CompressOn(in, {}, 1);
    EXPECT_EQ(Gunzip(one), in);
    for (unsigned threads : {2u, 3u, 8u}) EXPECT_EQ(CompressOn(in, {}, threads), one) << threads;
  }
}

TEST(Compress, AGzipStreamLeftHalfReadStopsItsThreads) {
  // The pusher drops a stream on a cancel or a failed chunk; its threads must not wait for a
  // reader that is gone (a hang here fails the test by its timeout).
  for (size_t read : {size_t{0}, size_t{100}, size_t{1 << 20}}) {
    SCOPED_TRACE(fmt::format("dropped after {} bytes", read));
    auto stream = Compress(std::make_unique<StringStream>(Sample(12 << 20, 9)), 12 << 20, {}, 4);
    ASSERT_TRUE(stream.ok());
    std::vector<std::byte> buf(read);
    for (size_t got = 0; got < read;) {
      auto n = (*stream)->Read(std::span(buf.data() + got, read - got));
      ASSERT_TRUE(n.ok());
      ASSERT_GT(*n, 0u);
      got += *n;
    }
  }
}

TEST(Compress, GoldenDigests) {
  // The bytes of a compressed layer name it in registries and in the digest cache: a change here
  // is a change of format, and CompressionSpec::CacheKey must change with it. (zlib 1.2.13 and
  // zstd 1.5.4, Debian 12's. The gzip digests were checked against an encoder of the same block
  // format written apart, with Python's zlib: compressobj(level, wbits=-15, zdict=the previous
  // block's last 32 KiB), flushed with Z_SYNC_FLUSH, the last with Z_FINISH.)
  struct Case {
    std::string spec;
    std::string digest;
  };
  const std::string in = Sample((2 << 20) + 777, 11);
  for (const Case& c : std::vector<Case>{
           {"gzip", "sha256:a760db518f9b6db58b018f095af64861c40a258b91b38b72b9a2ed8015151104"},
           {"gzip:6", "sha256:fa99aa0cb7c9e71b98dd697c1bea9052cc51ad0edf26f01deedc1e7e5741c904"},
           {"gzip:1", "sha256:a760db518f9b6db58b018f095af64861c40a258b91b38b72b9a2ed8015151104"},
           {"gzip:9", "sha256:f2ffee308b219fec6939441957d6e31b6e0fd5fde8de8a5a60036ddd40c12455"},
           {"zstd", "sha256:0191db72424eea7079528cd239665ffec1ca79c9009f3cec1c69794714b3c645"},
       }) {
    SCOPED_TRACE(c.spec);
    const std::string out = CompressOn(in, *ParseCompression(c.spec, "test"), 2);
    EXPECT_EQ(Digest::Of(out).str(), c.digest);
  }
}

TEST(Compress, ASourceOfTheWrongLengthFails) {
  struct Case {
    std::string spec;
    size_t actual;
    size_t declared;
    std::string error;
  };
  for (const Case& c : std::vector<Case>{
           {"gzip", 1000, 2000, "ended after 1000 of its 2000 bytes"},
           {"gzip", 3 << 20, (5 << 20) + 1, "ended after 3145728 of its 5242881 bytes"},
           {"gzip", 2000, 1000, "goes on past its 1000 bytes"},
           {"gzip", (2 << 20) + 1, 2 << 20, "goes on past its 2097152 bytes"},
           {"gzip", 5, 0, "goes on past its 0 bytes"},
           {"zstd", 1000, 2000, "ended after 1000 of its 2000 bytes"},
           {"zstd", 2000, 1000, "goes on past its 1000 bytes"},
       }) {
    SCOPED_TRACE(fmt::format("{}: {} bytes said to be {}", c.spec, c.actual, c.declared));
    int source_reads = 0;
    auto stream =
        Compress(std::make_unique<StringStream>(Sample(c.actual, 5), 1 << 20, &source_reads),
                 c.declared, *ParseCompression(c.spec, "test"), 3);
    ASSERT_TRUE(stream.ok());
    std::vector<std::byte> buf(64 << 10);
    Status failed;
    for (int reads = 0; failed.ok() && reads < 10000; ++reads) {
      auto n = (*stream)->Read(buf);
      if (!n.ok()) failed = n.status();
      if (n.ok() && *n == 0) break;
    }
    EXPECT_EQ(failed.code(), Code::kCorrupt);
    EXPECT_NE(failed.message().find(c.error), std::string::npos) << failed.message();
    // And it stays failed: no later read gives the bytes after the hole, or an end, nor asks the
    // source again.
    const int reads_at_failure = source_reads;
    auto again = (*stream)->Read(buf);
    EXPECT_FALSE(again.ok());
    EXPECT_EQ(again.status().message(), failed.message());
    EXPECT_EQ(source_reads, reads_at_failure);
  }
}

TEST(Compress, ParseCompression) {
  struct Case {
    std::string text;
    std::string str;  // "" for an error
    std::string media_type;
  };
  for (const Case& c : std::vector<Case>{
           {"gzip", "gzip", "application/vnd.oci.image.layer.v1.tar+gzip"},
           {"gzip:9", "gzip:9", "application/vnd.oci.image.layer.v1.tar+gzip"},
           {"zstd", "zstd", "application/vnd.oci.image.layer.v1.tar+zstd"},
           {"zstd:19", "zstd:19", "application/vnd.oci.image.layer.v1.tar+zstd"},
           {"none", "none", "application/vnd.oci.image.layer.v1.tar"},
           {"gzip:0", "", ""},
           {"gzip:10", "", ""},
           {"zstd:20", "", ""},
           {"gzip:", "", ""},
           {"gzip:x", "", ""},
           {"none:1", "", ""},
           {"brotli", "", ""},
           {"", "", ""},
       }) {
    SCOPED_TRACE(c.text);
    auto spec = ParseCompression(c.text, "--compression");
    if (c.str.empty()) {
      ASSERT_FALSE(spec.ok());
      EXPECT_EQ(spec.status().code(), Code::kInvalidArgument);
      EXPECT_NE(spec.status().message().find("--compression"), std::string::npos);
      continue;
    }
    ASSERT_TRUE(spec.ok()) << spec.status().message();
    EXPECT_EQ(spec->str(), c.str);
    EXPECT_EQ(spec->MediaType(), c.media_type);
  }
  // The cache key changes with everything the bytes depend on.
  EXPECT_NE(ParseCompression("gzip", "")->CacheKey(), ParseCompression("gzip:9", "")->CacheKey());
  EXPECT_EQ(ParseCompression("gzip", "")->CacheKey(), ParseCompression("gzip:1", "")->CacheKey());
}

}  // namespace
}  // namespace ocifs
