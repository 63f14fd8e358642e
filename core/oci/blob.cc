#include "core/oci/blob.h"

#include <cstring>

#include <fmt/format.h>

namespace ocifs {

Status MemoryBlob::ReadAt(uint64_t offset, std::span<std::byte> out) const {
  if (offset > data_.size() || out.size() > data_.size() - offset) {
    return Internal(fmt::format("read of {} bytes at {} past the end of a {}-byte blob", out.size(),
                                offset, data_.size()));
  }
  std::memcpy(out.data(), data_.data() + offset, out.size());
  return Status::Ok();
}

}  // namespace ocifs
