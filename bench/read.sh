#!/usr/bin/env bash
# Read benchmark: copying the image out of the mount against the same commands on the layout
# `ocifs build` wrote for the same project, measured in one run. Results: docs/benchmarks.md.
#
#   sudo bench/read.sh [OCIFS_BINARY] [ROUNDS]      (default build/tools/ocifs, 5 rounds)
#
# Uses the corpus of bench/run.sh (made on first use). The page cache stays warm (the source
# files and the built layout are read once before timing), so each ratio compares the daemon's
# path with the kernel's page cache. Per round:
#   cold mount      an empty digest cache: the mount hashes every layer (and stores what it hashed
#                   in the page cache); then `cat` of every blob (goal: <= 2x the built layout's),
#                   then the same again (a second read: throughput >= 0.9x);
#   warm remount    the digest cache filled: nothing hashed; `cat` of every blob at once (<= 3x),
#                   while the daemon stores the layers behind (reads them once, hashes them, and
#                   puts the verified pages in the page cache); the same with OCIFS_IO_URING=0
#                   (a system call a step, the baseline of batched reads); and `cat` (and `cp -r`)
#                   of a fresh remount once stored behind, with the time it took;
#   READ floor      a project of one file as large as the corpus's blobs, warm remount, `cat` at
#                   once: every byte through FUSE READs with no per-file work (two copies in the
#                   daemon, one to the reader), against `cat` of its built layout;
#   per-file work   bench/open_close.cc (compiled here): the system calls a READ makes for each
#                   source file of the corpus and nothing else (openat2, fstat, close), one pass
#                   on one core: what the warm `cat` pays over the READ floor, unless the daemon
#                   does it beside the copying (its other core, batched in io_uring);
#   cp -r, skopeo   each on a fresh mount, cold and warm: `cp -r MNT DIR` and
#                   `skopeo copy oci:MNT:latest oci:DIR:latest` (<= 1.5x the built layout's).
#   /dev/shm        `cat` of the built layout copied to /dev/shm: a page cache of 4 KiB pages, as
#                   a FUSE file's is, against ext4's large folios (a comparison for the second
#                   read, not its floor: a second read through the mount has measured faster);
#                   and `cp -r` of that copy: the built layout's `cp -r` into /tmp copies each
#                   file inside ext4 (copy_file_range), which no other file system can, so this
#                   is the floor of a copy out of any mount (read and write).
# A ratio is "through the mount / built layout": time, so lower is better, except for the second
# read and the /dev/shm cat, given as throughput (built / other), higher is better.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
bench_init "bench/read.sh" "$@"
ensure_corpus
command -v skopeo >/dev/null || { echo "bench/read.sh: needs skopeo (apt-get install skopeo)" >&2; exit 1; }

work=$(mktemp -d /tmp/ocifs-read-bench.XXXXXX)
mnt=$work/mnt
mkdir "$mnt"
cleanup() {
  for m in "$mnt" "$work/one-mnt"; do mountpoint -q "$m" && "$ocifs" umount "$m"; done
  rm -rf "$work"
}
trap cleanup EXIT
args=(--base scratch --deps "$corpus/site-packages" --python 3.11)

"$ocifs" build "$corpus/app" --output "$work/built" "${args[@]}" --cache-dir "$work/build-digests" 2>/dev/null
built=$work/built
mb=$(du -sb "$built/blobs" | awk '{printf "%d", $1 / 1000000}')
timed() {  # timed COMMAND...: runs it, prints milliseconds
  local t0 t1
  t0=$(now)
  "$@" >/dev/null
  t1=$(now)
  ms "$t0" "$t1"
}
cat_blobs() { cat "$1"/blobs/sha256/*; }
cp_r() { cp -r "$1" "$2"; }
skopeo_copy() { skopeo copy -q "oci:$1:latest" "oci:$2:latest"; }
copy_out() {  # copy_out COMMAND SOURCE: times COMMAND SOURCE DEST, then removes DEST
  local t
  t=$(timed "$1" "$2" "$work/out")
  rm -rf "$work/out"
  echo "$t"
}
remount() {  # remount [VAR=VALUE...]: a fresh mount with the digest cache filled: nothing hashed
  mountpoint -q "$mnt" && unmount "$ocifs" "$mnt"
  env "$@" "$ocifs" mount "$corpus/app" "$mnt" "${args[@]}" --cache-dir "$work/digests" 2>/dev/null
  cat "$mnt/index.json" >/dev/null
}

stored_total() {  # the bytes of the served image's own layers (scratch base: every layer)
  python3 - "$mnt" <<'PY'
import json, sys
mnt = sys.argv[1]
index = json.load(open(f"{mnt}/index.json"))
manifest = json.load(open(f"{mnt}/blobs/sha256/{index['manifests'][0]['digest'][7:]}"))
print(sum(l["size"] for l in manifest["layers"]))
PY
}
stored_now() {
  "$ocifs" status "$mnt" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["serving"]["stored_bytes"])'
}
remount_stored() {  # remount, then wait until the layers are stored behind; prints the wait (ms)
  remount
  local t0 want
  t0=$(now)
  want=$(stored_total)
  for ((n = 0; n < 400; n++)); do
    [[ $(stored_now) -ge $want ]] && break
    sleep 0.025
  done
  ms "$t0" "$(now)"
}

cold_mount() {  # a fresh mount with an empty digest cache: every layer is hashed (and stored)
  mountpoint -q "$mnt" && unmount "$ocifs" "$mnt"
  rm -rf "$work/digests"
  "$ocifs" mount "$corpus/app" "$mnt" "${args[@]}" --cache-dir "$work/digests" 2>/dev/null
  cat "$mnt/index.json" >/dev/null
}

shm=$(mktemp -d /dev/shm/ocifs-read-bench.XXXXXX)
trap 'cleanup; rm -rf "$shm"' EXIT
cp -r "$built" "$shm/layout"
cat_blobs "$built" >/dev/null
tar -C "$corpus" -cf - site-packages app >/dev/null
declare -A t
keys="built.cat shm.cat shm.cp cold.cat cold.again warm.cat warm.syscalls stored.wait stored.cat stored.cp built.cp cold.cp warm.cp built.skopeo cold.skopeo warm.skopeo"
for ((i = 0; i < rounds; i++)); do
  t[built.cat]+=" $(timed cat_blobs "$built")"
  t[shm.cat]+=" $(timed cat_blobs "$shm/layout")"
  cold_mount
  t[cold.cat]+=" $(timed cat_blobs "$mnt")"
  t[cold.again]+=" $(timed cat_blobs "$mnt")"
  remount
  t[warm.cat]+=" $(timed cat_blobs "$mnt")"
  remount OCIFS_IO_URING=0
  t[warm.syscalls]+=" $(timed cat_blobs "$mnt")"
  t[stored.wait]+=" $(remount_stored)"
  t[stored.cat]+=" $(timed cat_blobs "$mnt")"
  # Each copy: from the built layout, then from a fresh cold mount and a fresh warm remount.
  for copy in cp:cp_r skopeo:skopeo_copy; do
    name=${copy%%:*} command=${copy#*:}
    t[built.$name]+=" $(copy_out "$command" "$built")"
    [[ $name == cp ]] && t[shm.cp]+=" $(copy_out cp_r "$shm/layout")"
    cold_mount
    t[cold.$name]+=" $(copy_out "$command" "$mnt")"
    remount
    t[warm.$name]+=" $(copy_out "$command" "$mnt")"
  done
  remount_stored >/dev/null
  t[stored.cp]+=" $(copy_out cp_r "$mnt")"
  echo "round $((i + 1)):$(for k in $keys; do printf ' %s=%s' "$k" "${t[$k]##* }"; done)" >&2
done
unmount "$ocifs" "$mnt"
rm -rf "$shm"

# After the rounds, on its own (its 400 MB of files, written and read, would disturb them).
# The READ floor's project: one file of the size of the corpus's blobs.
one=$work/one
mkdir -p "$one/app" "$work/one-mnt"
head -c "$(du -sb "$built/blobs" | cut -f1)" /dev/urandom >"$one/app/data.bin"
echo 'print("one")' >"$one/app/main.py"
"$ocifs" build "$one/app" --output "$one/built" --base scratch --cache-dir "$one/digests" 2>/dev/null
one_remount() {
  mountpoint -q "$work/one-mnt" && unmount "$ocifs" "$work/one-mnt"
  "$ocifs" mount "$one/app" "$work/one-mnt" --base scratch --cache-dir "$one/digests" 2>/dev/null
  cat "$work/one-mnt/index.json" >/dev/null
}
cat_blobs "$one/built" >/dev/null

for ((i = 0; i < rounds; i++)); do
  t[one.built]+=" $(timed cat_blobs "$one/built")"
  one_remount
  t[one.warm]+=" $(timed cat_blobs "$work/one-mnt")"
  unmount "$ocifs" "$work/one-mnt"
done
echo "READ floor: one.built=${t[one.built]} one.warm=${t[one.warm]}" >&2

# The per-file work of the corpus alone (see the header).
per_file=""
if "${CXX:-g++}" -O2 -std=c++20 "$root/bench/open_close.cc" -o "$work/open_close" 2>/dev/null; then
  read -r files per_file < <("$work/open_close" "$corpus/site-packages" "$corpus/app")
  echo "per-file work: $files files, $per_file ms" >&2
else
  echo "bench/read.sh: could not compile bench/open_close.cc (no C++ compiler?): no per-file row" >&2
fi

med() { echo "${t[$1]}" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
bc=$(med built.cat) bcp=$(med built.cp) bsk=$(med built.skopeo)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)"
echo "layout: $mb MB of blobs; $rounds rounds, medians; page cache warm"
echo
echo "| measure | built layout (ms) | through the mount (ms) | ratio | goal |"
echo "| --- | --- | --- | --- | --- |"
echo "| cat of every blob after a cold mount | $bc | $(med cold.cat) | $(ratio "$(med cold.cat)" "$bc") | ≤ 2 |"
echo "| cat of every blob after a warm remount | $bc | $(med warm.cat) | $(ratio "$(med warm.cat)" "$bc") | ≤ 3 |"
echo "| the same, OCIFS_IO_URING=0 (a system call a step) | $bc | $(med warm.syscalls) | $(ratio "$(med warm.syscalls)" "$bc") | |"
echo "| floor of the above: cat after a warm remount of one file as large, no per-file work | $(med one.built) | $(med one.warm) | $(ratio "$(med one.warm)" "$(med one.built)") | |"
if [[ -n $per_file ]]; then
  echo "| the corpus's per-file work alone: openat2, fstat and close of each of its $files source files, one pass on one core (the warm cat is $(( $(med warm.cat) - $(med one.warm) )) ms over the floor above) | — | $per_file | — | |"
fi
echo "| cat of every blob after a warm remount, once its layers are stored behind ($(med stored.wait) ms after index.json) | $bc | $(med stored.cat) | $(ratio "$(med stored.cat)" "$bc") | ≤ 3 |"
echo "| cp -r of a warm remount once stored behind | $bcp | $(med stored.cp) | $(ratio "$(med stored.cp)" "$bcp") | ≤ 1.5 |"
echo "| a second cat of every blob (throughput, built / mount) | $bc | $(med cold.again) | $(ratio "$bc" "$(med cold.again)") | ≥ 0.9 |"
echo "| for comparison: cat of the built layout's copy in /dev/shm, 4 KiB pages (throughput, built / shm) | $bc | $(med shm.cat) | $(ratio "$bc" "$(med shm.cat)") | |"
echo "| floor of the below: cp -r of the built layout in /dev/shm (no copy_file_range into ext4 from another file system: read and write) | $bcp | $(med shm.cp) | $(ratio "$(med shm.cp)" "$bcp") | |"
echo "| cp -r, fresh cold mount | $bcp | $(med cold.cp) | $(ratio "$(med cold.cp)" "$bcp") | ≤ 1.5 |"
echo "| cp -r, fresh warm remount | $bcp | $(med warm.cp) | $(ratio "$(med warm.cp)" "$bcp") | ≤ 1.5 |"
echo "| skopeo copy oci:…:latest oci:DIR:latest, fresh cold mount | $bsk | $(med cold.skopeo) | $(ratio "$(med cold.skopeo)" "$bsk") | ≤ 1.5 |"
echo "| skopeo copy, fresh warm remount | $bsk | $(med warm.skopeo) | $(ratio "$(med warm.skopeo)" "$bsk") | ≤ 1.5 |"
