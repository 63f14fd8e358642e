#!/usr/bin/env bash
# Runs the integration tests: real FUSE mounts read by the conformance checkers, skopeo, umoci
# and runc. Needs root and the tools of scripts/install-deps.sh.
#
#   tests/integration/run_integration.sh OCIFS_BINARY [unittest args: -k PATTERN, or names such
#                                                      as test_frameworks.FrameworksTest]
#
# Fixtures are made once and cached in $OCIFS_TEST_CACHE (default /var/cache/ocifs-tests): a
# Debian bookworm Python base image (make_base.sh) and site-packages trees from Debian's python3-*
# packages (make_deps.sh: the example's here, the web frameworks' when test_frameworks asks).
set -euo pipefail

ocifs_bin=$(realpath "${1:?usage: run_integration.sh OCIFS_BINARY}")
shift
root=$(cd "$(dirname "$0")/../.." && pwd)
if [[ $(id -u) -ne 0 ]]; then
  echo "run_integration.sh: the integration tests need root (FUSE mounts, runc)" >&2
  exit 1
fi
[[ -e /dev/fuse ]] || { echo "run_integration.sh: /dev/fuse is missing" >&2; exit 1; }

# ../shared/conformance, when it is beside the checkout, checks every layout a second time.
source "$root/tests/integration/conformance.sh"
find_conformance "$root"
echo "run_integration.sh: $conformance_note" >&2
python=$(command -v python3)

base=$(bash "$root/tests/integration/make_base.sh")
deps=$(bash "$root/tests/integration/make_deps.sh")

export OCIFS_BIN="$ocifs_bin" OCIFS_BASE="$base" OCIFS_DEPS="$deps"
export OCIFS_CONFORMANCE OCIFS_CONFORMANCE_PYTHON
# The build tree (for `cmake --install` and the plugin fixtures): given by ctest, else the
# binary's tools/.. directory.
export OCIFS_BUILD_DIR="${OCIFS_BUILD_DIR:-$(dirname "$(dirname "$ocifs_bin")")}"
export OCIFS_PYTHON="$python" OCIFS_ROOT="$root"
# Every test module, unless the arguments name some (e.g. test_frameworks.FrameworksTest).
modules=(test_integration test_frameworks test_shapes test_sbom test_registry test_push test_system test_export test_variants)
for arg in "$@"; do [[ $arg == test_* ]] && modules=(); done
cd "$root/tests/integration"
exec "$python" -m unittest -v "$@" "${modules[@]}"
