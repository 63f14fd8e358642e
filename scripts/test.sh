#!/usr/bin/env bash
# Installs what is needed, builds with warnings as errors, checks formatting, and runs every test
# (unit tests and the integration tests on real FUSE mounts) through ctest. Needs root:
#
#   scripts/test.sh          in a root shell (a fresh Debian has no sudo)
#   sudo scripts/test.sh     as a user who has sudo
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [[ $(id -u) -ne 0 ]]; then
  echo "test.sh: needs root (apt-get, FUSE mounts, runc): run \`sudo scripts/test.sh\`, or \`scripts/test.sh\` in a root shell" >&2
  exit 1
fi

bash scripts/install-deps.sh

# Formatting: one .clang-format for every C++ file.
mapfile -t sources < <(git ls-files '*.cc' '*.h' '*.c' '*.hpp' 2>/dev/null || find core fs tools -name '*.cc' -o -name '*.h')
clang-format --dry-run --Werror "${sources[@]}"
# Layering: no include points from a library to one it does not link (core/CMakeLists.txt).
python3 scripts/check_layers.py

cmake -S . -B build -DOCIFS_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
# The pyproject and ignore-rule readers under libFuzzer, 60 s each (clang, from install-deps.sh).
bash scripts/fuzz.sh "${OCIFS_FUZZ_SECONDS:-60}"

# Layouts are checked by the tests' own checks, and by ../shared/conformance when it is beside
# the checkout; say which before the tests run (ctest shows a test's output only when it fails).
source tests/integration/conformance.sh
find_conformance "$root"
echo "$conformance_note"
ctest --test-dir build --output-on-failure
