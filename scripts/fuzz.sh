#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang in build-fuzz/ and runs each: first over every
# input that once crashed one (fuzz/regressions) and the seed corpus, then fuzzing for a bounded
# time. A crash fails the script; libFuzzer's crash-* file is the input to add to
# fuzz/regressions/NAME/ once fixed.
#
#   scripts/fuzz.sh [SECONDS]        (default 60 per target; scripts/test.sh runs it)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${1:-60}
if ! command -v clang++ >/dev/null; then
  echo "fuzz.sh: clang++ is not installed (scripts/install-deps.sh installs it); fuzzing skipped" >&2
  exit 0
fi

cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DOCIFS_FUZZ=ON \
  -DOCIFS_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_pyproject fuzz_ignore fuzz_python_source fuzz_debian_index fuzz_deb

work=$(mktemp -d /tmp/ocifs-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
for name in pyproject ignore python_source debian_index deb; do
  fuzzer=$root/build-fuzz/fuzz/fuzz_$name
  # New inputs go to a scratch copy of the corpus: the repository's stays as committed.
  mkdir -p "$work/$name"
  cp fuzz/corpus/"$name"/* "$work/$name/"
  echo "== fuzz_$name: the regressions and the seed corpus"
  "$fuzzer" -runs=0 fuzz/regressions/"$name" fuzz/corpus/"$name" 2>&1 | tail -n 2
  echo "== fuzz_$name: ${seconds} s"
  (cd "$work" && "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
     -print_final_stats=1 "$work/$name" 2>&1 | grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|==|SUMMARY|.*ERROR)' || true)
  if compgen -G "$work/crash-*" >/dev/null || compgen -G "$work/leak-*" >/dev/null || compgen -G "$work/timeout-*" >/dev/null; then
    mkdir -p "$root/build-fuzz/found"
    cp "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$root/build-fuzz/found/" 2>/dev/null || true
    echo "fuzz.sh: fuzz_$name found a failing input: build-fuzz/found/ (add it to fuzz/regressions/$name once fixed)" >&2
    exit 1
  fi
done
echo "fuzz.sh: no crash in ${seconds} s per target"
