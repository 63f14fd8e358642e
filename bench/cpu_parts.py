#!/usr/bin/env python3
"""Splits the CPU samples of the ocifs processes in a `perf record -g` file by what they were doing.

    bench/cpu_parts.py PERF_DATA

Each sample goes to the first part, in the order of PARTS, that its call chain matches: SHA-256 is
a sample in libcrypto; a page store is one under the write to /dev/fuse; a file read one under the
kernel's page-cache read; then opens, stats, directory reads, inotify watches and closes by their
system calls; the other system calls and page faults; what is left, in user space or the kernel.
Prints a Markdown table: samples and share of each part. See bench/cpu_parts.sh.
"""
import collections
import subprocess
import sys


def under(*functions):
    names = set(functions)
    return lambda frames: any(sym in names for sym, _ in frames)


PARTS = [
    ("SHA-256 (libcrypto)", lambda frames: frames[0][1].startswith("libcrypto")),
    ("page stores: the write to /dev/fuse", under("fuse_dev_write", "fuse_dev_do_write")),
    ("file reads: the copy out of the page cache", under("filemap_read")),
    ("opens (files and directories)",
     under("io_openat2", "do_sys_openat2", "__x64_sys_openat2", "__x64_sys_openat")),
    ("stat, fstat", under("vfs_statx", "vfs_fstat", "__do_sys_newfstatat", "__do_sys_newfstat")),
    ("getdents64", under("iterate_dir", "__x64_sys_getdents64")),
    ("inotify_add_watch", under("__x64_sys_inotify_add_watch")),
    ("close", under("__x64_sys_close", "io_close", "__fput")),
    ("other system calls, and every call's entry and exit", under("do_syscall_64")),
    ("page faults", under("exc_page_fault", "asm_exc_page_fault")),
    ("user space, the rest", lambda frames: not frames[0][1].startswith("[kernel")),
    ("kernel, the rest", lambda frames: True),
]


def samples(path):
    """Yields (command, frames) per sample; frames leaf first, each (symbol, object file name)."""
    out = subprocess.run(["perf", "script", "-i", path, "-F", "comm,ip,sym,dso"],
                         capture_output=True, text=True, check=True).stdout
    comm, frames = None, []
    for line in out.splitlines() + [""]:
        if not line.strip():
            if comm is not None and frames:
                yield comm, frames
            comm, frames = None, []
        elif not line[0].isspace():
            comm = line.split()[0]
        else:
            fields = line.split()
            sym = fields[1].split("+")[0] if len(fields) > 2 else "[unknown]"
            frames.append((sym, fields[-1].strip("()").rsplit("/", 1)[-1]))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[2].strip())
    counts, total = collections.Counter(), 0
    for comm, frames in samples(sys.argv[1]):
        if not comm.startswith("ocifs"):
            continue
        total += 1
        counts[next(name for name, matches in PARTS if matches(frames))] += 1
    if total == 0:
        sys.exit(f"{sys.argv[1]}: no samples of an ocifs process")
    print("| part of the work | samples | share |")
    print("| --- | --- | --- |")
    for name, _ in PARTS:
        print(f"| {name} | {counts[name]} | {100 * counts[name] / total:.1f}% |")
    print(f"| all samples of the ocifs processes | {total} | 100% |")


if __name__ == "__main__":
    main()
