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
#include <vector>

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
// Removes what daemons that are gone left in the runtime directory `dir`: status files whose pid
// is no process and whose mountpoint is not one of `mount_points` (a daemon killed with SIGKILL
// and its mount taken down with `fusermount3 -u` instead of `ocifs umount`), and their temporary
// files (`NAME.tmp-PID-...`, a daemon killed between write and rename). A mount calls it when it
// starts, so such files do not pile up. The file of a dead mount that is still mounted stays:
// `ocifs status` reads it to say that the daemon is gone and `ocifs umount` cleans up.
// Only names a status file can have are looked at; a file of a live pid stays, whatever process
// has that pid now, and so does one that is not a status file's JSON. Returns how many files it
// removed; a missing directory has none.
//
// A daemon that starts on the same mountpoint between this reading a dead daemon's file and
// removing it can lose its first file (the inode is compared first, so the window is the
// microseconds between that check and unlinkat); it writes the file again within a second.
Result<size_t> SweepStatusFiles(const std::string& dir,
                                const std::vector<std::string>& mount_points);

}  // namespace ocifs
