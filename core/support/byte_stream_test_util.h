// ByteStreams for tests: bytes of a string, handed out a few at a time so that every reader's
// handling of short reads is exercised.
#pragma once

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "core/support/byte_stream.h"

namespace ocifs {

class StringStream : public ByteStream {
 public:
  explicit StringStream(std::string bytes, size_t step = 7)
      : bytes_(std::move(bytes)), step_(step) {}
  Result<size_t> Read(std::span<std::byte> out) override {
    const size_t n = std::min({out.size(), bytes_.size() - at_, step_});
    std::memcpy(out.data(), bytes_.data() + at_, n);
    at_ += n;
    return n;
  }

 private:
  std::string bytes_;
  size_t step_;
  size_t at_ = 0;
};

inline std::unique_ptr<ByteStream> StreamOf(std::string bytes, size_t step = 7) {
  return std::make_unique<StringStream>(std::move(bytes), step);
}

// Everything `stream` gives, or the error that stopped it.
inline Result<std::string> ReadAllOf(ByteStream& stream) {
  std::string out;
  char buf[4096];
  while (true) {
    OCIFS_ASSIGN_OR_RETURN(size_t n, stream.Read(std::as_writable_bytes(std::span(buf))));
    if (n == 0) return out;
    out.append(buf, n);
  }
}

}  // namespace ocifs
