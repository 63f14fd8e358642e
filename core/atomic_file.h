// Files that appear whole or not at all: written to a unique temp file beside their path,
// fsync'ed, then renamed over it. A failed write leaves the old file (or none) and no temp file.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"

namespace ocifs {

// `fill` writes the content to the temp file's descriptor.
Status WriteFileAtomically(const std::string& path, const std::function<Status(int fd)>& fill);
Status WriteFileAtomically(const std::string& path, std::string_view bytes);

// write(2) until every byte is written (EINTR retried). `what` names the file in errors.
Status WriteAll(int fd, std::span<const std::byte> bytes, std::string_view what);

}  // namespace ocifs
