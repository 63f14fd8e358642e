// The status file of a running mount: written by its daemon, read by `ocifs status`.
//
// One JSON file per mount in the runtime directory ($XDG_RUNTIME_DIR/ocifs, else
// /tmp/ocifs-<uid>, mode 0700), named after a hash of the mountpoint's real path, replaced
// atomically (temporary file + rename). It says which daemon (pid) wrote it, so a reader can tell
// a stale file from a live one.
//
// Thread safety: free functions; concurrent writers of one path each rename a whole file.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace ocifs {

std::string RuntimeDir();
// REQUIRES: `real_mountpoint` is absolute and canonical.
std::string StatusFilePath(const std::string& real_mountpoint);
Status WriteStatusFile(const std::string& path, const nlohmann::json& status);
Result<nlohmann::json> ReadStatusFile(const std::string& path);

}  // namespace ocifs
