#include "core/support/uring.h"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "core/support/tree.h"

namespace ocifs {
namespace {

std::atomic<bool>& Enabled() {
  static std::atomic<bool> enabled = [] {
    const char* v = std::getenv("OCIFS_IO_URING");
    return v == nullptr || std::strcmp(v, "0") != 0;
  }();
  return enabled;
}

}  // namespace

void SetIoUringEnabled(bool enabled) { Enabled() = enabled; }
bool IoUringEnabled() { return Enabled(); }

Uring* Uring::ForThisThread() {
  struct Slot {
    std::unique_ptr<Uring> ring;
    bool tried = false;
  };
  thread_local Slot slot;
  if (!Enabled()) return nullptr;
  if (!slot.tried) {
    slot.tried = true;
    std::unique_ptr<Uring> ring(new Uring);
    // The completion queue is twice as long: Run reaps every completion before the next batch.
    ring->open_ = io_uring_queue_init(kEntries, &ring->ring_, 0) == 0;
    if (ring->open_) slot.ring = std::move(ring);
  }
  if (slot.ring != nullptr && slot.ring->broken_) slot.ring.reset();
  return slot.ring.get();
}

Uring::~Uring() {
  if (open_) io_uring_queue_exit(&ring_);
}

io_uring_sqe* Uring::Prepare(uint64_t user_data) {
  if (prepared_ == kEntries) return nullptr;
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) return nullptr;
  ++prepared_;
  io_uring_sqe_set_data64(sqe, user_data);
  return sqe;
}

bool Uring::Run(const std::function<void(uint64_t, int)>& done) {
  const unsigned want = prepared_;
  prepared_ = 0;
  if (want == 0) return true;
  // Submission does not wait, so no signal interrupts it; waiting may be, and is retried.
  const int submitted = io_uring_submit(&ring_);
  unsigned pending = submitted > 0 ? static_cast<unsigned>(submitted) : 0;
  while (pending > 0) {
    io_uring_cqe* cqe = nullptr;
    const int rc = io_uring_wait_cqe(&ring_, &cqe);
    if (rc == -EINTR) continue;
    if (rc < 0) {  // cannot happen with a ring of our own; the operations' results are lost
      broken_ = true;
      return false;
    }
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      done(io_uring_cqe_get_data64(cqe), cqe->res);
      ++seen;
    }
    io_uring_cq_advance(&ring_, seen);
    pending -= std::min(pending, seen);
  }
  if (submitted != static_cast<int>(want)) {
    broken_ = true;  // what was not submitted is still queued: the ring goes with it
    return false;
  }
  return true;
}

}  // namespace ocifs
