#!/usr/bin/env bash
# Builds (once) and caches a small Debian bookworm Python base image as an OCI layout, for the
# integration tests and the README demo. The result is printed on stdout: the layout path.
#
#   tests/integration/make_base.sh [CACHE_DIR]      (default: $OCIFS_TEST_CACHE or /var/cache/ocifs-tests)
#
# The layout has one tag, `3.11-slim`, one gzip layer (the debootstrap minbase rootfs with
# python3 and its standard library) and a config whose Env PATH and Cmd are what python:3.11-slim users expect.
# A finished layout is marked with a `.complete` file; a half-made one is thrown away and redone.
set -euo pipefail

cache=${1:-${OCIFS_TEST_CACHE:-/var/cache/ocifs-tests}}
layout="$cache/bookworm-python3-v1"
tag="3.11-slim"
if [[ -f "$layout/.complete" ]]; then
  echo "$layout"
  exit 0
fi

for tool in debootstrap umoci tar; do
  command -v "$tool" >/dev/null || { echo "make_base.sh: '$tool' is missing (run scripts/install-deps.sh)" >&2; exit 1; }
done

mkdir -p "$cache"
work=$(mktemp -d "$cache/base-work.XXXXXX")
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"

echo "make_base.sh: debootstrap bookworm into $rootfs (about 90 s)" >&2
debootstrap --variant=minbase --include=python3 bookworm "$rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  echo "make_base.sh: debootstrap failed (log above)" >&2
  exit 1
}
# What a slim image leaves out: package lists, caches, docs. dpkg's status database stays.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/cache/debconf/*-old \
  "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/log/*
# Device nodes belong to the runtime (runc mounts its own /dev).
find "$rootfs/dev" -mindepth 1 -delete

tar --numeric-owner --sort=name --mtime=@0 -C "$rootfs" -cf "$work/layer.tar" .
rm -rf "$layout.tmp"
umoci init --layout "$layout.tmp"
umoci new --image "$layout.tmp:$tag"
umoci raw add-layer --image "$layout.tmp:$tag" "$work/layer.tar"
umoci config --image "$layout.tmp:$tag" --os linux --architecture amd64 \
  --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --config.env LANG=C.UTF-8 --config.cmd python3 --history.created_by "make_base.sh: debootstrap bookworm minbase + python3"
umoci gc --layout "$layout.tmp"
rm -rf "$layout"
mv "$layout.tmp" "$layout"
touch "$layout/.complete"
echo "$layout"
