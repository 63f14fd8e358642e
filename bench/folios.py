#!/usr/bin/env python3
"""Which page-cache pages hold a file: 4 KiB pages or large folios. Needs root (/proc/kpageflags).

    sudo bench/folios.py FILE...

Reads the first 64 MiB of each file (which puts it in the page cache), maps it, touches each
page, and looks each one up: /proc/self/pagemap gives the physical frame, /proc/kpageflags the
frame's flags (COMPOUND_HEAD, COMPOUND_TAIL: part of a large folio). Prints per file how many
pages are order-0 and how many belong to large folios. docs/benchmarks.md uses it to show why a
second read through the mount stays at the speed of a 4 KiB-page cache.
"""
import mmap
import os
import struct
import sys

PAGE = os.sysconf("SC_PAGE_SIZE")
KPF_COMPOUND_HEAD, KPF_COMPOUND_TAIL = 15, 16
PFN_MASK = (1 << 55) - 1
PRESENT = 1 << 63


def count(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        size = min(os.fstat(fd).st_size, 64 << 20) // PAGE * PAGE
        if size == 0:
            return None
        with open(path, "rb") as f:
            f.read(size)
        with mmap.mmap(fd, size, prot=mmap.PROT_READ) as m:
            for offset in range(0, size, PAGE):
                m[offset]  # fault the page in
            # The mapping's address: its line in /proc/self/maps (the newest one of this file).
            start = None
            inode = os.fstat(fd).st_ino
            with open("/proc/self/maps") as maps:
                for line in maps:
                    fields = line.rstrip("\n").split(maxsplit=5)  # the path may hold spaces
                    if len(fields) >= 6 and int(fields[4]) == inode and fields[5] == path:
                        start = int(fields[0].split("-")[0], 16)
            if start is None:
                raise RuntimeError(f"{path}: its mapping is not in /proc/self/maps")
            heads = tails = order0 = absent = 0
            with open("/proc/self/pagemap", "rb") as pagemap, open("/proc/kpageflags", "rb") as flags:
                for i in range(size // PAGE):
                    pagemap.seek((start // PAGE + i) * 8)
                    (entry,) = struct.unpack("Q", pagemap.read(8))
                    if not entry & PRESENT:
                        absent += 1
                        continue
                    flags.seek((entry & PFN_MASK) * 8)
                    (f,) = struct.unpack("Q", flags.read(8))
                    if f >> KPF_COMPOUND_HEAD & 1:
                        heads += 1
                    elif f >> KPF_COMPOUND_TAIL & 1:
                        tails += 1
                    else:
                        order0 += 1
            return size // PAGE, order0, heads, tails, absent
    finally:
        os.close(fd)


def main():
    if len(sys.argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    for path in sys.argv[1:]:
        path = os.path.abspath(path)
        c = count(path)
        if c is None:
            print(f"{path}: empty")
            continue
        pages, order0, heads, tails, absent = c
        print(f"{path}: {pages} pages: {order0} order-0, {heads + tails} in {heads} large folios"
              + (f", {absent} not mapped" if absent else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
