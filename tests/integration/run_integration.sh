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
conformance="$root/../shared/conformance"

if [[ $(id -u) -ne 0 ]]; then
  echo "run_integration.sh: the integration tests need root (FUSE mounts, runc)" >&2
  exit 1
fi
[[ -e /dev/fuse ]] || { echo "run_integration.sh: /dev/fuse is missing" >&2; exit 1; }
[[ -f "$conformance/oci_layout_check.py" ]] || {
  echo "run_integration.sh: $conformance/oci_layout_check.py is missing (../shared must sit beside the checkout)" >&2
  exit 1
}

# The conformance checkers need jsonschema >= 4.18 with `referencing`; Debian 12's is 4.10, so
# take the first Python on this machine that has it.
python=""
for candidate in python3 /usr/local/bin/python3 /root/.pyenv/shims/python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import jsonschema, referencing' 2>/dev/null; then
    python=$(command -v "$candidate")
    break
  fi
done
[[ -n "$python" ]] || {
  echo "run_integration.sh: no python3 with jsonschema>=4.18 and referencing found (the conformance checkers need it)" >&2
  exit 1
}

base=$(bash "$root/tests/integration/make_base.sh")
deps=$(bash "$root/tests/integration/make_deps.sh")

export OCIFS_BIN="$ocifs_bin" OCIFS_BASE="$base" OCIFS_DEPS="$deps" OCIFS_CONFORMANCE="$conformance"
# The build tree (for `cmake --install` and the plugin fixtures): given by ctest, else the
# binary's tools/.. directory.
export OCIFS_BUILD_DIR="${OCIFS_BUILD_DIR:-$(dirname "$(dirname "$ocifs_bin")")}"
export OCIFS_PYTHON="$python" OCIFS_ROOT="$root"
# Every test module, unless the arguments name some (e.g. test_frameworks.FrameworksTest).
modules=(test_integration test_frameworks test_sbom test_registry test_push)
for arg in "$@"; do [[ $arg == test_* ]] && modules=(); done
cd "$root/tests/integration"
exec "$python" -m unittest -v "$@" "${modules[@]}"
