// The status file of a running mount: written by its daemon, read by `ocifs status`.
//
// One JSON file per mount in the runtime directory, named after a hash of the mountpoint's real
// path and replaced atomically (temporary file + rename, not fsync'ed: it is runtime state,
// rewritten while the mount runs, and where the runtime directory is on a disk each sync was a
// disk write). It says which daemon (pid) wrote it, so a reader can tell a stale file from a live
// one.
//
// The runtime directory is $XDG_RUNTIME_DIR/ocifs, else /run/ocifs for root, else
// /tmp/ocifs-<uid>. It is a private directory (core/support/private_dir.h): made 0700, and refused
// unless it is a real directory of the user's with mode 0700, so that no other user can plant a
// link where the daemon writes or a file that `ocifs status` believes.
//
// Thread safety: free functions; concurrent writers of one path each rename a whole file.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/support/status.h"

namespace ocifs {

std::string RuntimeDir();
// REQUIRES: `real_mountpoint` is absolute and canonical.
std::string StatusFilePath(const std::string& real_mountpoint);
Status WriteStatusFile(const std::string& path, const nlohmann::json& status);
// NotFound when there is no file; an error naming the file (and the field) when it is not a JSON
// object of the shape the daemon writes (CheckStatusJson), or its directory is not private. A
// reader may then use json::value() on every field without a type error.
Result<nlohmann::json> ReadStatusFile(const std::string& path);
// The shape of a status file: each field the daemon writes, when present, has its type (pid an
// integer, layers an array of objects, ...). Fields it does not know are allowed.
Status CheckStatusJson(const nlohmann::json& status);
// Removes the file (a mount's daemon that died left it); a missing file is fine.
Status RemoveStatusFile(const std::string& path);

}  // namespace ocifs
