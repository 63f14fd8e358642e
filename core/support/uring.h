// Uring: a per-thread io_uring that batches system calls.
//
// The host tree's ReadFiles reads the small files of one request (a FUSE READ of 1 MiB holds a
// few dozen of them) with three io_uring_enter calls, to open, read and close them all, instead
// of a system call for each step of each file: on a virtual machine a system call costs
// microseconds, as much as the copy of a small file.
//
// A ring is made on a thread's first use and closed when the thread ends. Where the kernel
// refuses io_uring (too old, a seccomp profile, a sysctl), or OCIFS_IO_URING=0 is set, there is
// none, and callers make the system calls themselves.
//
// Thread safety: a ring belongs to the thread that made it; nothing is shared.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <functional>

namespace ocifs {

class Uring {
 public:
  // How many operations one Run takes at most.
  static constexpr unsigned kEntries = 64;

  // This thread's ring; null when there is none (see above) or it failed before.
  static Uring* ForThisThread();

  // A submission entry for the next operation, tagged with `user_data`; null when kEntries
  // are prepared already.
  io_uring_sqe* Prepare(uint64_t user_data);
  // Submits what was prepared and waits for all of it, calling done(user_data, result) for each
  // operation (result: what the system call returns, or -errno). Returns false when the ring
  // failed: operations that were not submitted get no call, and the ring is closed.
  bool Run(const std::function<void(uint64_t, int)>& done);

  Uring(const Uring&) = delete;
  Uring& operator=(const Uring&) = delete;
  ~Uring();

 private:
  Uring() = default;
  io_uring ring_ = {};
  bool open_ = false;  // io_uring_queue_init succeeded
  unsigned prepared_ = 0;
  bool broken_ = false;
};

}  // namespace ocifs
