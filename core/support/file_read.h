// Reads that must fill their buffer: a file that ends early has changed under its reader.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "core/support/status.h"

namespace ocifs {

// Reads exactly out.size() bytes of `fd` at `offset` with pread, retrying short reads and
// EINTR. End of file before the buffer is full is kChanged ("WHAT shrank while read"): callers
// know the size the file had, so a short file is one that changed. Errors name `what`.
Status PreadFull(int fd, uint64_t offset, std::span<std::byte> out, std::string_view what);

}  // namespace ocifs
