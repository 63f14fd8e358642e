#!/usr/bin/env bash
# System packages: mount time and bytes fetched for a 10-package request against an apt archive on
# 127.0.0.1, cold (empty cache) and warm (remount: nothing resolved, nothing fetched), each against
# the same project without system packages mounted in the same round.
#
#   sudo bench/system.sh [OCIFS_BINARY] [ROUNDS]     (default build/tools/ocifs, 5 rounds)
#
# The archive holds the Debian .debs apt itself would install on the test base for the request
# (downloaded once into $OCIFS_TEST_CACHE), indexed by dpkg-scanpackages and apt-ftparchive and
# signed by a key made for the run. Medians of ROUNDS runs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
bench_init "bench/system.sh" "$@"
request=(libpq5 libmagic1 libxml2 libxslt1.1 libjpeg62-turbo libpng16-16 libfreetype6 libwebp7 libtiff6 libyaml-0-2)
base=$(bash "$root/tests/integration/make_base.sh")

work=$(mktemp -d /tmp/ocifs-system-bench.XXXXXX)
mnt=$work/mnt
mkdir "$mnt"
server=""
cleanup() {
  mountpoint -q "$mnt" && "$ocifs" umount "$mnt"
  [[ -n $server ]] && kill "$server" 2>/dev/null
  gpgconf --homedir "$work/gnupg" --kill gpg-agent 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The .debs, once: what `apt-get install --no-install-recommends` would add to the base.
debs="$cache/bench-apt-debs-v1"
if [[ ! -f "$debs/.complete" ]]; then
  index=$(python3 -c "import json,sys; print(json.load(open('$base/index.json'))['manifests'][0]['digest'][7:])")
  layer=$(python3 -c "import json; print(json.load(open('$base/blobs/sha256/$index'))['layers'][0]['digest'][7:])")
  tar -xzOf "$base/blobs/sha256/$layer" ./var/lib/dpkg/status > "$work/status"
  names=$(apt-get install -s --no-install-recommends -o Dir::State::status="$work/status" "${request[@]}" |
    awk '/^Inst /{print $2}')
  rm -rf "$debs" && mkdir -p "$debs"
  (cd "$debs" && apt-get download $names >/dev/null 2>&1)
  touch "$debs/.complete"
fi

# The archive, signed by a key of this run's.
repo=$work/www/debian
mkdir -p "$repo/pool/main" "$repo/dists/bookworm/main/binary-amd64" "$work/gnupg"
chmod 700 "$work/gnupg"
cp "$debs"/*.deb "$repo/pool/main/"
(cd "$repo" && dpkg-scanpackages --arch amd64 pool > dists/bookworm/main/binary-amd64/Packages 2>/dev/null)
xz -k "$repo/dists/bookworm/main/binary-amd64/Packages"
apt-ftparchive -o APT::FTPArchive::Release::Codename=bookworm -o APT::FTPArchive::Release::Suite=bookworm \
  -o APT::FTPArchive::Release::Architectures=amd64 -o APT::FTPArchive::Release::Components=main \
  release "$repo/dists/bookworm" > "$work/Release"
mv "$work/Release" "$repo/dists/bookworm/Release"
gpg=(gpg --homedir "$work/gnupg" --batch --pinentry-mode loopback --passphrase '')
"${gpg[@]}" --quick-gen-key 'bench <bench@ocifs.invalid>' ed25519 sign never 2>/dev/null
"${gpg[@]}" --clearsign -o "$repo/dists/bookworm/InRelease" "$repo/dists/bookworm/Release"
"${gpg[@]}" --export > "$work/archive.gpg"
port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work/www" 2> "$work/http.log" >/dev/null &
server=$!
until curl -sf "http://127.0.0.1:$port/debian/dists/bookworm/InRelease" >/dev/null; do sleep 0.1; done
: > "$work/http.log"

# Bytes the archive served since the log was emptied (every answer is a whole file).
served() {
  local total=0 path
  for path in $(awk '{print $7}' "$work/http.log"); do
    path=$(python3 -c "import sys, urllib.parse; print(urllib.parse.unquote(sys.argv[1]))" "$path")
    total=$((total + $(stat -c %s "$work/www$path")))
  done
  : > "$work/http.log"
  echo "$total"
}

for p in plain system; do
  mkdir -p "$work/$p/src/app"
  printf 'print("hello")\n' > "$work/$p/src/app/__main__.py"
  printf '[project]\nname = "app"\nversion = "1.0"\nrequires-python = ">=3.11"\n\n[tool.ocifs]\ncmd = ["python3", "-m", "app"]\n' \
    > "$work/$p/pyproject.toml"
done
packages=$(printf '"%s", ' "${request[@]}")
printf 'system-packages = [%s]\napt-mirror = "http://127.0.0.1:%s/debian"\n' "${packages%, }" "$port" >> "$work/system/pyproject.toml"
args=(--base "oci:$base:3.11-slim" --python 3.11 --apt-keyring "$work/archive.gpg")

cold_t=() warm_t=() plain_cold_t=() plain_warm_t=() cold_b=() warm_b=()
for ((i = 0; i < rounds; i++)); do
  for p in plain system; do
    rm -rf "$work/cache-$p"
    t=$(mount_until_index "$ocifs" "$work/$p" "$mnt" "${args[@]}" --cache-dir "$work/cache-$p")
    unmount "$ocifs" "$mnt"
    b=$(served)
    t2=$(mount_until_index "$ocifs" "$work/$p" "$mnt" "${args[@]}" --cache-dir "$work/cache-$p")
    unmount "$ocifs" "$mnt"
    b2=$(served)
    if [[ $p == plain ]]; then plain_cold_t+=("$t") plain_warm_t+=("$t2"); else cold_t+=("$t") warm_t+=("$t2") cold_b+=("$b") warm_b+=("$b2"); fi
  done
done

debs_bytes=$(cat "$debs"/*.deb | wc -c)
count=$(ls "$debs"/*.deb | wc -l)
c=$(echo "${cold_t[*]}" | median) w=$(echo "${warm_t[*]}" | median)
pc=$(echo "${plain_cold_t[*]}" | median) pw=$(echo "${plain_warm_t[*]}" | median)
cb=$(echo "${cold_b[*]}" | median) wb=$(echo "${warm_b[*]}" | median)
echo "system packages: ${#request[@]} requested, $count .debs ($((debs_bytes / 1024)) KiB) on 127.0.0.1; medians of $rounds"
printf '  cold mount -> index.json   %6d ms   (same project without them: %d ms, +%d ms)\n' "$c" "$pc" $((c - pc))
printf '  warm remount -> index.json %6d ms   (without them: %d ms; ratio %s)\n' "$w" "$pw" \
  "$(awk -v a="$w" -v b="$pw" 'BEGIN {printf "%.2f", a / b}')"
printf '  bytes fetched, cold        %6d KiB  (the .debs: %d KiB; index and signature: %d KiB)\n' \
  $((cb / 1024)) $((debs_bytes / 1024)) $(((cb - debs_bytes) / 1024))
printf '  bytes fetched, warm        %6d\n' "$wb"
