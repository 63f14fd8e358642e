#!/usr/bin/env bash
# Mount benchmark: cold mount-to-index.json, cp -r of the mount and warm remount, against the baseline
#   tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - TREES | openssl dgst -sha256
# over the same trees, measured in one run. Results: docs/benchmarks.md.
#
#   sudo bench/run.sh [OCIFS_BINARY] [ROUNDS]      (default build/tools/ocifs, 5 rounds)
#
# The corpus (made once, cached in $OCIFS_TEST_CACHE or /var/cache/ocifs-tests): the site-packages
# of Debian's python3-django, -numpy, -scipy, -pandas, -matplotlib, -sympy, -mpmath, -pygments
# (about 220 MB in 9,800 files) as the dependencies, and examples/hello as the application.
# Each figure is the median of ROUNDS runs, with the page cache dropped before each run ("cold
# cache") and without ("warm cache"). A cold mount gets an empty digest cache, so it hashes
# everything; a warm remount finds every digest in the cache the cold mount filled. A second table
# gives the CPU time (user + system) of the baseline and of the cold mount (the command's and its
# daemon's, up to the end of index.json), and the floor that CPU time sets on this many cores.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
bench_init "bench/run.sh" "$@"

ensure_corpus

files=$(find "$corpus/site-packages" "$corpus/app" -type f | wc -l)
bytes=$(du -sb "$corpus/site-packages" "$corpus/app" | awk '{s+=$1} END {print s}')

mnt=$(mktemp -d /tmp/ocifs-bench.XXXXXX)
out=$(mktemp -d /tmp/ocifs-bench-out.XXXXXX)
cleanup() { mountpoint -q "$mnt" && "$ocifs" umount "$mnt"; rm -rf "$mnt" "$out"; }
trap cleanup EXIT

declare -A results
for cachemode in cold warm; do
  base_t=() index_t=() cp_t=() remount_t=() base_cpu=() index_cpu=()
  for ((i = 0; i < rounds; i++)); do
    [[ $cachemode == cold ]] && drop
    t0=$(now)
    cpu=$(tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$corpus" -cf - site-packages app \
      | openssl dgst -sha256 >/dev/null; cpu_of_children)
    t1=$(now)
    base_t+=("$(ms "$t0" "$t1")")
    base_cpu+=("$cpu")

    digests=$(mktemp -d /tmp/ocifs-bench-cache.XXXXXX)
    args=(--base scratch --deps "$corpus/site-packages" --python 3.11 --cache-dir "$digests")
    [[ $cachemode == cold ]] && drop
    # As mount_until_index, with the CPU time of the command and of the daemon up to index.json.
    t0=$(now)
    cpu=$("$ocifs" mount "$corpus/app" "$mnt" "${args[@]}" >&2; cat "$mnt/index.json" >/dev/null; cpu_of_children)
    t1=$(now)
    index_t+=("$(ms "$t0" "$t1")")
    index_cpu+=("$((cpu + $(daemon_cpu "$ocifs" "$mnt")))")

    t0=$(now)
    cp -r "$mnt" "$out/copy"
    t1=$(now)
    cp_t+=("$(ms "$t0" "$t1")")
    rm -rf "$out/copy"
    unmount "$ocifs" "$mnt"

    # Warm remount: the same project, the digest cache filled by the mount above.
    [[ $cachemode == cold ]] && drop
    remount_t+=("$(mount_until_index "$ocifs" "$corpus/app" "$mnt" "${args[@]}")")
    unmount "$ocifs" "$mnt"
    rm -rf "$digests"
  done
  results[$cachemode.base]=$(echo "${base_t[*]}" | median)
  results[$cachemode.index]=$(echo "${index_t[*]}" | median)
  results[$cachemode.cp]=$(echo "${cp_t[*]}" | median)
  results[$cachemode.remount]=$(echo "${remount_t[*]}" | median)
  results[$cachemode.base_cpu]=$(echo "${base_cpu[*]}" | median)
  results[$cachemode.index_cpu]=$(echo "${index_cpu[*]}" | median)
  echo "$cachemode cache: baseline ${base_t[*]} ms (CPU ${base_cpu[*]}); mount->index.json ${index_t[*]} ms" \
    "(CPU ${index_cpu[*]}); cp -r ${cp_t[*]} ms; warm remount ${remount_t[*]} ms" >&2
done

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)"
echo "corpus: $files files, $((bytes / 1000000)) MB; $rounds rounds, medians"
echo
echo "| page cache | baseline tar \| openssl (ms) | cold mount → end of index.json (ms) | ratio | cp -r of the mount (ms) | warm remount → end of index.json (ms) | warm / cold |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for cachemode in cold warm; do
  b=${results[$cachemode.base]} x=${results[$cachemode.index]} c=${results[$cachemode.cp]} r=${results[$cachemode.remount]}
  echo "| $cachemode | $b | $x | $(awk -v x="$x" -v b="$b" 'BEGIN {printf "%.2f", x / b}') | $c | $r | $(awk -v r="$r" -v x="$x" 'BEGIN {printf "%.2f", r / x}') |"
done
echo
# A job that needs C ms of CPU takes at least C / cores ms: below that no ordering of its work helps.
cores=$(nproc)
echo "| page cache | baseline: CPU (ms) | cold mount → end of index.json: CPU, command and daemon (ms) | its floor on $cores cores: CPU / $cores (ms) | floor / baseline |"
echo "| --- | --- | --- | --- | --- |"
for cachemode in cold warm; do
  b=${results[$cachemode.base]} bc=${results[$cachemode.base_cpu]} xc=${results[$cachemode.index_cpu]}
  echo "| $cachemode | $bc | $xc | $((xc / cores)) | $(awk -v f="$((xc / cores))" -v b="$b" 'BEGIN {printf "%.2f", f / b}') |"
done
