#!/usr/bin/env bash
# Push benchmark: `ocifs push --mount` of the corpus image (bench/run.sh's, about 220 MB) to
# docker-registry on 127.0.0.1 against `skopeo copy oci:MNT:latest docker://...` of the same
# mount, in the same run; then a re-push after a one-file edit (seconds and bytes sent).
#
#   sudo bench/push.sh [OCIFS_BINARY] [ROUNDS]     (default build/tools/ocifs, 3 rounds)
#   PUSH_COMPRESSIONS="gzip gzip:6 zstd" sudo bench/push.sh ...   (first pushes with each)
#
# Both compress the layers: skopeo with gzip, as containers/image does for a registry (parallel
# pgzip at its default level); ocifs with each of PUSH_COMPRESSIONS (default: just its default,
# `gzip`). Each round pushes to new repositories, so nothing is in the registry yet, and ocifs
# starts with an empty cache, so it compresses every layer. Bytes sent are the compressed layers
# (skopeo's from the manifest it pushed, ocifs's from its --json report). Medians of ROUNDS.
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

# A registry of its own for each round, on a new port: skopeo remembers where it put a blob (its
# blob info cache, in /var/lib/containers/cache for root) and mounts it from there instead of
# compressing and uploading again, which a registry it has never seen cannot offer.
start_registry() {
  if [[ -n "$registry_pid" ]]; then
    kill "$registry_pid"
    wait "$registry_pid" 2>/dev/null || true
  fi
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  rm -rf "$work/registry"
  cat >"$work/registry.yml" <<EOF
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $work/registry}}
http: {addr: 127.0.0.1:$port}
EOF
  docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
  registry_pid=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && return; sleep 0.1; done
  echo "bench/push.sh: docker-registry did not start: $(cat "$work/registry.log")" >&2
  exit 1
}

cp -a "$corpus/app" "$work/app"
"$ocifs" mount "$work/app" "$mnt" --base scratch --deps "$corpus/site-packages" --python 3.11 \
  --no-plugins --cache-dir "$work/digests"
cat "$mnt/index.json" >/dev/null
image_mb=$(du -sbL "$mnt/blobs" | awk '{printf "%d", $1 / 1000000}')

read -r -a compressions <<<"${PUSH_COMPRESSIONS:-gzip}"
declare -A push_t push_bytes
skopeo_t=() skopeo_bytes=() repush_t=() repush_bytes=()
sent() { python3 -c 'import json,sys; print(json.load(sys.stdin)["total_bytes_sent"])' <"$1"; }
for r in $(seq "$rounds"); do
  start_registry
  t0=$(now)
  skopeo copy -q --dest-tls-verify=false "oci:$mnt:latest" "docker://127.0.0.1:$port/skopeo-$r:latest" >/dev/null
  t1=$(now)
  skopeo_t+=("$(ms "$t0" "$t1")")
  skopeo_bytes+=("$(skopeo inspect --raw --tls-verify=false "docker://127.0.0.1:$port/skopeo-$r:latest" |
    python3 -c 'import json,sys; print(sum(l["size"] for l in json.load(sys.stdin)["layers"]))')")

  for c in "${compressions[@]}"; do
    rm -rf "$work/push-cache-$c"
    t0=$(now)
    "$ocifs" push --mount "$mnt" "127.0.0.1:$port/ocifs-${c/:/-}-$r:latest" --compression "$c" \
      --cache-dir "$work/push-cache-$c" --json >"$work/first.json" 2>/dev/null
    t1=$(now)
    push_t[$c]+=" $(ms "$t0" "$t1")"
    push_bytes[$c]+=" $(sent "$work/first.json")"
  done

  # One application file edited: wait for the new generation, then push it again where the first
  # compression went, with that push's cache.
  c0=${compressions[0]}
  before=$(cat "$mnt/index.json")
  echo "# edit $r" >>"$work/app/src/hello/cli.py"
  for _ in $(seq 200); do [[ "$(cat "$mnt/index.json")" != "$before" ]] && break; sleep 0.05; done
  t0=$(now)
  "$ocifs" push --mount "$mnt" "127.0.0.1:$port/ocifs-${c0/:/-}-$r:latest" --compression "$c0" \
    --cache-dir "$work/push-cache-$c0" --json >"$work/again.json" 2>/dev/null
  t1=$(now)
  repush_t+=("$(ms "$t0" "$t1")")
  repush_bytes+=("$(sent "$work/again.json")")
done

skopeo_ms=$(echo "${skopeo_t[@]}" | median)
echo "image: $image_mb MB uncompressed in the mount; $rounds rounds, medians"
echo "first push, skopeo copy oci:MNT docker://:  $skopeo_ms ms ($(echo "${skopeo_bytes[@]}" | median) bytes of layers)"
for c in "${compressions[@]}"; do
  c_ms=$(echo "${push_t[$c]}" | median)
  printf 'first push, ocifs push --mount, %-9s  %s ms (%s bytes sent), ratio to skopeo %s\n' "$c:" "$c_ms" \
    "$(echo "${push_bytes[$c]}" | median)" "$(python3 -c "print(round($c_ms / $skopeo_ms, 2))")"
done
echo "re-push after a one-file edit ($c0):     $(echo "${repush_t[@]}" | median) ms ($(echo "${repush_bytes[@]}" | median) bytes sent)"
