#!/usr/bin/env bash
# Installs what is needed, builds with warnings as errors, checks formatting, and runs every test
# (unit tests and the integration tests on real FUSE mounts) through ctest. Needs root.
#
#   sudo scripts/test.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/install-deps.sh

# Formatting: one .clang-format for every C++ file.
mapfile -t sources < <(git ls-files '*.cc' '*.h' '*.c' '*.hpp' 2>/dev/null || find core fs tools -name '*.cc' -o -name '*.h')
clang-format --dry-run --Werror "${sources[@]}"

cmake -S . -B build -DOCIFS_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure
