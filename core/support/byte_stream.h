// ByteStream: bytes read in order from their start (a layer being compressed for a push, a
// .deb's data.tar being decompressed).
//
// Thread safety: one reader at a time.
#pragma once

#include <cstddef>
#include <span>

#include "core/support/status.h"

namespace ocifs {

class ByteStream {
 public:
  virtual ~ByteStream() = default;
  // Fills the front of `out`; returns how many bytes (0 only at the end).
  virtual Result<size_t> Read(std::span<std::byte> out) = 0;
};

}  // namespace ocifs
