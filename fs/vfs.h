// ocifs::vfs: the libfuse3 low-level adapter that shows a Generation as an OCI image layout.
//
//   /oci-layout  /index.json  /blobs/sha256/<hex>
//
// The tree is read-only (mounted ro,nosuid,nodev) and holds only regular files and directories.
// Blobs are content-addressed: they keep the kernel page cache and long entry/attr timeouts.
// index.json is the one file whose content moves between generations; its attributes are never
// cached. An open file handle holds the Generation it was opened on until it is released.
//
// Until the first generation is ready (digests are computed in the background after mounting),
// requests that need it (opening or stat-ing index.json, a listing or lookup in blobs/sha256)
// wait for it; if making it failed, they fail with EIO and the error is logged. Later generations
// replace it live.
//
// Pages stored ahead: the bytes of a layer, as they are hashed, go into the kernel's page cache
// of the inode that will serve it (fuse_lowlevel_notify_store), so a read after a cold mount
// seldom reaches the daemon. A READ is the fallback for whatever the kernel evicted. See vfs.cc.
//
// Threads: libfuse's multithreaded loop calls the handlers concurrently; see vfs.cc for locks.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/image/image.h"
#include "core/live/live.h"
#include "core/support/status.h"
#include "fs/daemon.h"

namespace ocifs::vfs {

struct MountOptions {
  std::string mountpoint;
  bool foreground = false;   // the command stays in the foreground (else it forks a Daemon first)
  Daemon* daemon = nullptr;  // when set, Serve detaches it once mounted
  bool debug = false;        // libfuse's request trace
  bool allow_other = false;  // let other users read the mount (needs user_allow_other for non-root)
  unsigned max_threads = 16;
};

// Checks that `mountpoint` exists, is a directory and is empty.
Status CheckMountpoint(const std::string& mountpoint);

// Mounts, detaches options.daemon when set (its parent process exits 0 once the mount is up),
// runs source.Run() on a background thread and serves what it publishes: requests wait for the
// first generation; each later one replaces it (index.json is invalidated in the kernel) while
// the previous few stay reachable by digest and open handles keep theirs. Serves until unmounted
// or sent SIGTERM/SIGINT/SIGHUP, then calls source.Stop() and returns.
Status Serve(const MountOptions& options, GenerationSource& source);

// Where the daemon's messages go: always syslog and stderr (which is /dev/null once the daemon
// has daemonized), and, when set, a log file (appended, one timestamped line a message). Messages
// above `level` are dropped. Call before Serve.
void ConfigureLog(const std::string& file, LogLevel level);
void Log(LogLevel level, const std::string& message);

// The errno a FUSE reply carries for a Status (the one table).
int ErrnoFor(const Status& status);

}  // namespace ocifs::vfs
