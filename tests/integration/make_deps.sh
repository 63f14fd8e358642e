#!/usr/bin/env bash
# Builds (once) and caches a site-packages tree from Debian's python3-click and python3-pygments
# packages, for the example project and the integration tests. Prints its path.
#
#   tests/integration/make_deps.sh [CACHE_DIR]     (default: $OCIFS_TEST_CACHE or /var/cache/ocifs-tests)
set -euo pipefail

cache=${1:-${OCIFS_TEST_CACHE:-/var/cache/ocifs-tests}}
out="$cache/deps-click-pygments-v1"
if [[ -f "$out/.complete" ]]; then
  echo "$out/site-packages"
  exit 0
fi
mkdir -p "$cache"
work=$(mktemp -d "$cache/deps-work.XXXXXX")
trap 'rm -rf "$work"' EXIT
chmod 0777 "$work"  # apt-get download runs as _apt where it can
(cd "$work" && apt-get download python3-click python3-pygments >/dev/null 2>"$work/apt.log") || {
  cat "$work/apt.log" >&2
  echo "make_deps.sh: apt-get download failed (run apt-get update first?)" >&2
  exit 1
}
for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$work/root"; done
rm -rf "$out"
mkdir -p "$out"
cp -a "$work/root/usr/lib/python3/dist-packages" "$out/site-packages"
touch "$out/.complete"
echo "$out/site-packages"
