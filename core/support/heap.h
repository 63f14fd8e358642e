// PrepareHeap: malloc set up for a process that builds large tables at its start.
//
// A mount lists the project's trees and builds a table of tar entries (a few megabytes for ten
// thousand files) before it can hash anything, and every generation builds them again. Each 4 KiB
// page of fresh memory costs a page fault when first written; on a virtual machine whose page
// tables the hypervisor keeps, a fault is an exit to it. With glibc's defaults a buffer of 128 KiB
// or more is a mapping of its own, new pages each time, and the heap gives freed memory back at
// once. Measured on the benchmark corpus (docs/benchmarks.md, eighth session): the daemon of a
// cold mount took about 2,200 page faults before `index.json`; with the heap below, about 1,000,
// and its cold mount took 259 ms instead of 273 (warm remount: 111 instead of 127), medians of 10
// interleaved rounds.
//
// So PrepareHeap, called once at the start of main() before any thread:
// - serves blocks under 32 MiB from the heap (M_MMAP_THRESHOLD), so that memory freed is reused;
// - grows the heap 64 MiB at a time and keeps up to 64 MiB free at its top (M_TOP_PAD,
//   M_TRIM_THRESHOLD); untouched pages cost nothing;
// - grows it once now and advises that region MADV_HUGEPAGE: where transparent huge pages are
//   allowed ("madvise" or "always"), the heap then faults 2 MiB at a time. Elsewhere the advice
//   does nothing. (With the kernel's defrag setting at its default, "madvise", such a fault may
//   compact memory first to find a free 2 MiB; the digest buffers of HashLayer take that risk
//   too, as glibc's own glibc.malloc.hugetlb=1 does.)
// A process's resident memory then grows in 2 MiB steps on the heap, and what it frees stays
// until 64 MiB of it are free at the top: the daemon's peak at 100,000 files was 82 MB (74
// before), against its 150 MB target. Threads other than the first allocate from arenas of their
// own, untouched here.
#pragma once

namespace ocifs {

void PrepareHeap();

}  // namespace ocifs
