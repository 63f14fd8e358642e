// ocifs::vfs::Daemon: how `ocifs mount` becomes a daemon. It forks first, while the process is
// still one small thread, and the child does everything else: it resolves and plans the project,
// mounts, and serves. The parent only waits. Once the child is mounted, it detaches (Detach) and
// the parent exits 0; if the child exits before that, the parent exits with the child's code.
//
// Why before planning, not once mounted (as fuse_daemonize does): a child forked after planning
// shares the parent's pages copy-on-write, and every page of the plan it touched afterwards cost a
// fault (the cache key of the benchmark corpus's dependencies took 10-11 ms in such a child, 4.3 ms
// without a fork). Forking first, 16 interleaved rounds on that corpus: cold mount -> end of
// index.json 340 -> 317 ms (median), warm remount 176 -> 161 ms.
//
// Until it detaches, the child is in the caller's session and process group: its warnings and
// errors go to the caller's stderr, a Ctrl-C reaches it as it reaches the parent, and it gets
// SIGTERM if the parent dies first (PR_SET_PDEATHSIG), so that no mount outlives a command that
// was killed.
#pragma once

#include <sys/types.h>

#include "core/support/status.h"

namespace ocifs::vfs {

class Daemon {
 public:
  // Forks. The parent never returns: it waits for the child to detach (and exits 0) or to exit
  // (and exits with its code, or 128 + the signal that killed it). The child gets the Daemon.
  // REQUIRES: no other thread is running (only the calling thread survives a fork).
  static Result<Daemon> Fork();

  Daemon(Daemon&& other) noexcept;
  Daemon& operator=(Daemon&&) = delete;
  ~Daemon();

  // Leaves the caller's session (setsid), moves to "/" and sends stdin, stdout and stderr to
  // /dev/null, then lets the parent exit 0. Once; later calls do nothing.
  Status Detach();

 private:
  explicit Daemon(int parent_fd) : parent_fd_(parent_fd) {}
  int parent_fd_;  // the child's end of the socket pair the parent waits on; -1 once detached
};

}  // namespace ocifs::vfs
