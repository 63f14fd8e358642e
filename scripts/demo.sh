#!/usr/bin/env bash
# The main job on the bundled example: installs what is needed, builds ocifs, mounts
# examples/hello as an OCI image layout, checks it, copies it out with skopeo, unpacks it with
# umoci and runs it with runc. Needs root (apt-get, FUSE, runc):
#
#   scripts/demo.sh          in a root shell (a fresh Debian has no sudo)
#   sudo scripts/demo.sh     as a user who has sudo
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [[ $(id -u) -ne 0 ]]; then
  echo "demo.sh: needs root (apt-get, FUSE, runc): run \`sudo scripts/demo.sh\`, or \`scripts/demo.sh\` in a root shell" >&2
  exit 1
fi

bash scripts/install-deps.sh
# Everything `cmake --build` makes, the plugins included (the SBOM below is the sbom plugin's).
# The build type and options already in build/ (scripts/test.sh's) are kept.
cmake -S . -B build >/dev/null
cmake --build build -j"$(nproc)"
ocifs=$root/build/tools/ocifs
echo "== the plugins this ocifs finds (beside it in the build tree)"
"$ocifs" plugins

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
echo "== the layout checked: every descriptor's digest and size, diff_ids, tags, layer tars"
python3 tests/integration/ocicheck.py layout "$mnt" | tail -n 1
source tests/integration/conformance.sh
find_conformance "$root"
echo "$conformance_note"
if [[ -n $OCIFS_CONFORMANCE ]]; then
  "$OCIFS_CONFORMANCE_PYTHON" "$OCIFS_CONFORMANCE/oci_layout_check.py" "$mnt" | tail -n 1
fi
echo "== skopeo copy oci:$mnt:latest oci:$work/copy:latest"
skopeo copy "oci:$mnt:latest" "oci:$work/copy:latest"
echo "== the SBOM attached to it (latest.sbom.spdx): its packages"
skopeo copy "oci:$mnt:latest.sbom.spdx" "oci:$work/sbom:spdx"
python3 - "$work/sbom" <<'PY'
import json, sys
layout = sys.argv[1]
blob = lambda d: open(f"{layout}/blobs/sha256/{d[7:]}", "rb").read()
manifest = json.loads(blob(json.loads(open(f"{layout}/index.json").read())["manifests"][0]["digest"]))
doc = json.loads(blob(manifest["layers"][0]["digest"]))
kinds = {}
for p in doc["packages"]:
    kinds.setdefault(p["primaryPackagePurpose"], []).append(f"{p['name']} {p.get('versionInfo', '')}")
for kind, names in sorted(kinds.items()):
    print(f"{kind:16} {len(names):4}  {', '.join(sorted(names)[:4])}{', ...' if len(names) > 4 else ''}")
PY
echo "== umoci unpack + runc run"
umoci unpack --image "$work/copy:latest" "$work/bundle" >/dev/null
sed -i 's/"terminal": *true/"terminal": false/' "$work/bundle/config.json"
(cd "$work/bundle" && runc run "ocifs-demo-$$" </dev/null)
echo "== done: the image ran; unmounting"
