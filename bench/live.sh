#!/usr/bin/env bash
# Generations benchmark: edit -> new index.json, sequential read through the mount against cat of
# the same blob on disk, and the daemon's peak memory on a tree of 100,000 small files.
#
#   sudo bench/live.sh [OCIFS_BINARY] [ROUNDS]     (default build/tools/ocifs, 5 rounds)
#
# Uses the corpus of bench/run.sh (run that first) and makes the 100k-file tree once in
# $OCIFS_TEST_CACHE (default /var/cache/ocifs-tests). Medians of ROUNDS runs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
bench_init "bench/live.sh" "$@"
[[ -f "$corpus/.complete" ]] || { echo "bench/live.sh: run bench/run.sh first (it makes the corpus)" >&2; exit 1; }

work=$(mktemp -d /tmp/ocifs-live-bench.XXXXXX)
mnt=$work/mnt
mkdir "$mnt"
cleanup() {
  for m in "$mnt" "$work/mnt-np"; do mountpoint -q "$m" && "$ocifs" umount "$m"; done
  rm -rf "$work"
}
trap cleanup EXIT
cp -a "$corpus/app" "$work/app"
args=(--base scratch --deps "$corpus/site-packages" --python 3.11 --cache-dir "$work/digests")

# 1. Edit one application file -> a new index.json is readable. Two mounts side by side, edited in
# turn: one with the installed plugins (the frameworks plugin looks at every new plan), one with
# --no-plugins (the baseline).
edit_once() {  # edit_once PROJECT MOUNTPOINT N: prints the milliseconds until index.json changed
  local before t0 t1
  before=$(md5sum < "$2/index.json")
  t0=$(now)
  echo "# edit $3" >> "$1/src/hello/cli.py"
  while [[ $(md5sum < "$2/index.json") == "$before" ]]; do sleep 0.002; done
  t1=$(now)
  ms "$t0" "$t1"
}
cp -a "$corpus/app" "$work/app-np"
mkdir "$work/mnt-np"
"$ocifs" mount "$work/app" "$mnt" "${args[@]}" 2>/dev/null
"$ocifs" mount "$work/app-np" "$work/mnt-np" "${args[@]}" --no-plugins 2>/dev/null
cat "$mnt/index.json" "$work/mnt-np/index.json" >/dev/null
plugins=$("$ocifs" plugins | awk '$1 == "loaded" {print $2}' | paste -sd, -)
edit_t=() edit_np_t=()
for ((i = 0; i < rounds; i++)); do
  edit_t+=("$(edit_once "$work/app" "$mnt" "$i")")
  sleep 0.3
  edit_np_t+=("$(edit_once "$work/app-np" "$work/mnt-np" "$i")")
  sleep 0.3
done
unmount "$ocifs" "$mnt"
unmount "$ocifs" "$work/mnt-np"

# 2. Sequential read of the largest layer: through the mount vs cat of `ocifs build`'s copy.
"$ocifs" build "$work/app" --output "$work/built" "${args[@]}" 2>/dev/null
layer=$(ls -S "$work/built/blobs/sha256" | head -1)
bytes=$(stat -c %s "$work/built/blobs/sha256/$layer")
cat_t=() mount_t=() warm_cat_t=() warm_mount_t=() again_t=()
for ((i = 0; i < rounds; i++)); do
  # Page cache dropped: the built blob and the source files come from the disk.
  drop
  t0=$(now); cat "$work/built/blobs/sha256/$layer" >/dev/null; t1=$(now)
  cat_t+=("$(ms "$t0" "$t1")")
  "$ocifs" mount "$work/app" "$mnt" "${args[@]}" 2>/dev/null
  cat "$mnt/index.json" >/dev/null
  drop
  t0=$(now); cat "$mnt/blobs/sha256/$layer" >/dev/null; t1=$(now)
  mount_t+=("$(ms "$t0" "$t1")")
  unmount "$ocifs" "$mnt"
  # Page cache warm (the source files and the built blob cached), a fresh mount; then the same
  # blob a second time through that mount (keep_cache: from the mount's own page cache). The
  # last drop evicted the built blob: read it once untimed.
  cat "$work/built/blobs/sha256/$layer" >/dev/null
  t0=$(now); cat "$work/built/blobs/sha256/$layer" >/dev/null; t1=$(now)
  warm_cat_t+=("$(ms "$t0" "$t1")")
  "$ocifs" mount "$work/app" "$mnt" "${args[@]}" 2>/dev/null
  cat "$mnt/index.json" >/dev/null
  t0=$(now); cat "$mnt/blobs/sha256/$layer" >/dev/null; t1=$(now)
  cat "$mnt/blobs/sha256/$layer" >/dev/null; t2=$(now)
  warm_mount_t+=("$(ms "$t0" "$t1")")
  again_t+=("$(ms "$t1" "$t2")")
  unmount "$ocifs" "$mnt"
done

# 3. Peak memory of the daemon for 100,000 small files.
tree="$cache/bench-100k-v1"
if [[ ! -f "$tree/.complete" ]]; then
  rm -rf "$tree" && mkdir -p "$tree/app"
  python3 - "$tree/app" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(1000):
    os.makedirs(f"{root}/pkg{d:04d}", exist_ok=True)
    for f in range(100):
        with open(f"{root}/pkg{d:04d}/module_{f:03d}.py", "w") as fh:
            fh.write(f"# module {d}/{f}\nVALUE = {d * 100 + f}\n")
with open(f"{root}/main.py", "w") as fh:
    fh.write("print('hello')\n")
PY
  touch "$tree/.complete"
fi
cold100k=$(mount_until_index "$ocifs" "$tree/app" "$mnt" --base scratch --python 3.11 --cache-dir "$work/digests100k" 2>/dev/null)
pid=$(pgrep -f "ocifs mount $tree/app" | head -1)
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
"$ocifs" umount "$mnt"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r); $rounds rounds, medians"
echo
echo "| measure | value |"
echo "| --- | --- |"
echo "| edit one application file → new index.json readable (9.5k-file corpus, ms), plugins: ${plugins:-none} | $(echo "${edit_t[*]}" | median) (all: ${edit_t[*]}) |"
echo "| the same with --no-plugins (baseline, edited in turn with the above) (ms) | $(echo "${edit_np_t[*]}" | median) (all: ${edit_np_t[*]}) |"
c=$(echo "${cat_t[*]}" | median) m=$(echo "${mount_t[*]}" | median)
echo "| sequential read of the $((bytes / 1000000)) MB layer, page cache dropped: cat of the built blob / through the mount (ms) | $c / $m |"
echo "| throughput through the mount ÷ cat of the built blob | $(awk -v c="$c" -v m="$m" 'BEGIN {printf "%.2f", c / m}') |"
c=$(echo "${warm_cat_t[*]}" | median) m=$(echo "${warm_mount_t[*]}" | median) a=$(echo "${again_t[*]}" | median)
echo "| the same, page cache warm, fresh mount: cat of the built blob / through the mount (ms) | $c / $m ($(awk -v c="$c" -v m="$m" 'BEGIN {printf "%.2f", c / m}')×) |"
echo "| the same blob read again through that mount (keep_cache) (ms) | $a ($(awk -v c="$c" -v a="$a" 'BEGIN {printf "%.2f", c / a}')×) |"
echo "| 100,000-file tree: mount → end of index.json, cold (ms) | $cold100k |"
echo "| 100,000-file tree: daemon peak RSS (VmHWM, MB) | $((rss_kb / 1024)) |"
