// What the compression and push tests share: decompressors to check streams with, and samples.
#pragma once

#include <zlib.h>
#include <zstd.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/oci/blob.h"
#include "core/registry/compress.h"

namespace ocifs {

inline std::string Gunzip(const std::string& in) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  std::string out;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  char buf[1 << 16];
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof(buf);
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof(buf) - z.avail_out);
  }
  EXPECT_EQ(rc, Z_STREAM_END);
  inflateEnd(&z);
  return out;
}

inline std::string Unzstd(const std::string& in) {
  unsigned long long size = ZSTD_getFrameContentSize(in.data(), in.size());
  EXPECT_NE(size, ZSTD_CONTENTSIZE_UNKNOWN);  // the frame header names the size
  std::string out(size, '\0');
  size_t n = ZSTD_decompress(out.data(), out.size(), in.data(), in.size());
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

// Text that compresses, but not to nothing: words from a small vocabulary, seeded.
inline std::string Sample(size_t size, unsigned seed) {
  static const char* words[] = {"import ", "def ",   "return ", "self", ".venv ",
                                "ocifs\n", "layer ", "0x1f ",   "\t",   "registry "};
  std::mt19937 rng(seed);
  std::string s;
  while (s.size() < size) s += words[rng() % 10];
  s.resize(size);
  return s;
}

inline std::string ReadAll(ByteStream& stream) {
  std::string out;
  std::vector<std::byte> buf(4096 + 17);  // an odd size: reads need not line up with anything
  for (;;) {
    auto n = stream.Read(buf);
    EXPECT_TRUE(n.ok()) << n.status().message();
    if (!n.ok() || *n == 0) break;
    out.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
  return out;
}

inline std::string CompressString(const std::string& in, const CompressionSpec& spec) {
  auto blob = std::make_shared<MemoryBlob>(in);
  auto stream = Compress(ReadVerified(blob, Digest::Of(in)), in.size(), spec);
  EXPECT_TRUE(stream.ok());
  return ReadAll(**stream);
}

}  // namespace ocifs
