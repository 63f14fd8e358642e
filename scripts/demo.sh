#!/usr/bin/env bash
# The main job on the bundled example: installs what is needed, builds ocifs, mounts
# examples/hello as an OCI image layout, checks it, copies it out with skopeo, unpacks it with
# umoci and runs it with runc. Needs root (FUSE, runc).
#
#   sudo scripts/demo.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target ocifs
ocifs=$root/build/tools/ocifs

echo "== a Python base image (Debian bookworm, python3), made once and cached"
base=$(bash tests/integration/make_base.sh)
echo "== dependencies: Debian's python3-click and python3-pygments as a site-packages tree"
deps=$(bash tests/integration/make_deps.sh)

work=$(mktemp -d /tmp/ocifs-demo.XXXXXX)
mnt=$work/image
mkdir "$mnt"
cleanup() {
  if mountpoint -q "$mnt"; then "$ocifs" umount "$mnt"; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== ocifs mount examples/hello $mnt"
"$ocifs" mount examples/hello "$mnt" --base "oci:$base:3.11-slim" --deps "$deps"
find "$mnt" | sort
echo "== index.json"
cat "$mnt/index.json"
echo
echo "== skopeo copy oci:$mnt:latest oci:$work/copy:latest"
skopeo copy "oci:$mnt:latest" "oci:$work/copy:latest"
echo "== umoci unpack + runc run"
umoci unpack --image "$work/copy:latest" "$work/bundle" >/dev/null
sed -i 's/"terminal": *true/"terminal": false/' "$work/bundle/config.json"
(cd "$work/bundle" && runc run "ocifs-demo-$$" </dev/null)
echo "== done: the image ran; unmounting"
