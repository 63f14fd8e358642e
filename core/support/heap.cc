#include "core/support/heap.h"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

namespace ocifs {

void PrepareHeap() {
  constexpr int kMmapThreshold = 32 << 20;  // glibc's largest (half its 64 MiB arena heaps)
  constexpr int kTopPad = 64 << 20;
  if (::mallopt(M_MMAP_THRESHOLD, kMmapThreshold) == 0) return;
  ::mallopt(M_TRIM_THRESHOLD, kTopPad);
  ::mallopt(M_TOP_PAD, kTopPad);
  // Grow the heap now: a block larger than what is free at its top makes malloc extend it by the
  // block and the pad. The barrier keeps the compiler from dropping the malloc/free pair.
  auto* const before = static_cast<char*>(::sbrk(0));
  void* grow = ::malloc(1 << 20);
  asm volatile("" : : "r"(grow) : "memory");
  const auto end = reinterpret_cast<uintptr_t>(::sbrk(0));
  constexpr uintptr_t kHuge = 2 << 20;
  const uintptr_t start = (reinterpret_cast<uintptr_t>(before) + kHuge - 1) & ~(kHuge - 1);
  if (end > start) {
    (void)::madvise(reinterpret_cast<void*>(start), end - start, MADV_HUGEPAGE);  // advice only
  }
  ::free(grow);
}

}  // namespace ocifs
