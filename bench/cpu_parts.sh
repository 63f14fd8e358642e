#!/usr/bin/env bash
# Where a cold mount's CPU goes: ROUNDS cold mounts of the bench/run.sh corpus (empty digest cache,
# page cache warm, each read to the end of index.json and unmounted) under `perf record -a -g`,
# then bench/cpu_parts.py splits the samples of the ocifs processes by what they were doing.
# Results: docs/benchmarks.md.
#
#   sudo bench/cpu_parts.sh [OCIFS_BINARY] [ROUNDS]      (default build/tools/ocifs, 5 rounds)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
bench_init "bench/cpu_parts.sh" "$@"
command -v perf >/dev/null || { echo "bench/cpu_parts.sh: needs perf (apt-get install linux-perf)" >&2; exit 1; }
ensure_corpus

work=$(mktemp -d /tmp/ocifs-cpu-parts.XXXXXX)
mkdir "$work/mnt"
cleanup() { mountpoint -q "$work/mnt" && "$ocifs" umount "$work/mnt"; rm -rf "$work"; }
trap cleanup EXIT
find "$corpus" -type f -print0 | xargs -0 cat >/dev/null  # the page cache warm

cat >"$work/rounds.sh" <<EOS
for i in \$(seq $rounds); do
  rm -rf "$work/digests"
  "$ocifs" mount "$corpus/app" "$work/mnt" --base scratch --deps "$corpus/site-packages" \
    --python 3.11 --cache-dir "$work/digests" 2>/dev/null
  cat "$work/mnt/index.json" >/dev/null
  "$ocifs" umount "$work/mnt"
done
EOS
perf record -a -g -F 4999 -o "$work/perf.data" -- sh "$work/rounds.sh" 2>/dev/null >/dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r); $rounds cold mounts"
echo
python3 "$root/bench/cpu_parts.py" "$work/perf.data"
