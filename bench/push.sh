#!/usr/bin/env bash
# Push benchmark: `ocifs push --mount` of the corpus image (bench/run.sh's, about 220 MB) to
# docker-registry on 127.0.0.1 against `skopeo copy oci:MNT:latest docker://...` of the same
# mount, in the same run; then a re-push after a one-file edit (seconds and bytes sent).
#
#   sudo bench/push.sh [OCIFS_BINARY] [ROUNDS]     (default build/tools/ocifs, 3 rounds)
#
# Both compress the layers with gzip (skopeo as containers/image does for a registry; ocifs at its
# default level 6). Each round pushes to new repositories, so nothing is in the registry yet, and
# ocifs starts with an empty cache, so it compresses (twice: once for the digest its HEAD needs,
# once while uploading). Medians of ROUNDS.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
bench_init "bench/push.sh" "${1:-}" "${2:-3}"
ensure_corpus

work=$(mktemp -d /tmp/ocifs-push-bench.XXXXXX)
mnt=$work/mnt
mkdir "$mnt"
registry_pid=""
cleanup() {
  mountpoint -q "$mnt" && "$ocifs" umount "$mnt"
  [[ -n "$registry_pid" ]] && kill "$registry_pid" 2>/dev/null && wait "$registry_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$work/registry.yml" <<EOF
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $work/registry}}
http: {addr: 127.0.0.1:$port}
EOF
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done

cp -a "$corpus/app" "$work/app"
"$ocifs" mount "$work/app" "$mnt" --base scratch --deps "$corpus/site-packages" --python 3.11 \
  --no-plugins --cache-dir "$work/digests"
cat "$mnt/index.json" >/dev/null
image_mb=$(du -sbL "$mnt/blobs" | awk '{printf "%d", $1 / 1000000}')

skopeo_t=() ocifs_t=() repush_t=() repush_bytes=() first_bytes=()
for r in $(seq "$rounds"); do
  t0=$(now)
  skopeo copy -q --dest-tls-verify=false "oci:$mnt:latest" "docker://127.0.0.1:$port/skopeo-$r:latest" >/dev/null
  t1=$(now)
  skopeo_t+=("$(ms "$t0" "$t1")")

  rm -rf "$work/push-cache"
  t0=$(now)
  "$ocifs" push --mount "$mnt" "127.0.0.1:$port/ocifs-$r:latest" --cache-dir "$work/push-cache" --json \
    >"$work/first.json" 2>/dev/null
  t1=$(now)
  ocifs_t+=("$(ms "$t0" "$t1")")
  first_bytes+=("$(python3 -c 'import json,sys; print(json.load(sys.stdin)["total_bytes_sent"])' <"$work/first.json")")

  # One application file edited: wait for the new generation, then push again.
  before=$(cat "$mnt/index.json")
  echo "# edit $r" >>"$work/app/src/hello/cli.py"
  for _ in $(seq 200); do [[ "$(cat "$mnt/index.json")" != "$before" ]] && break; sleep 0.05; done
  t0=$(now)
  "$ocifs" push --mount "$mnt" "127.0.0.1:$port/ocifs-$r:latest" --cache-dir "$work/push-cache" --json \
    >"$work/again.json" 2>/dev/null
  t1=$(now)
  repush_t+=("$(ms "$t0" "$t1")")
  repush_bytes+=("$(python3 -c 'import json,sys; print(json.load(sys.stdin)["total_bytes_sent"])' <"$work/again.json")")
done

echo "image: $image_mb MB uncompressed in the mount; $rounds rounds, medians"
echo "first push, skopeo copy oci:MNT docker://:  $(echo "${skopeo_t[@]}" | median) ms"
echo "first push, ocifs push --mount:            $(echo "${ocifs_t[@]}" | median) ms ($(echo "${first_bytes[@]}" | median) bytes sent)"
echo "re-push after a one-file edit:             $(echo "${repush_t[@]}" | median) ms ($(echo "${repush_bytes[@]}" | median) bytes sent)"
echo "ratio ocifs/skopeo (first push):           $(python3 -c "print(round($(echo "${ocifs_t[@]}" | median) / $(echo "${skopeo_t[@]}" | median), 2))")"
