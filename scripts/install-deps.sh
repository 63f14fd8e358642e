#!/usr/bin/env bash
# Installs what ocifs needs to build, test and run, from Debian 12 packages only.
#   scripts/install-deps.sh            build and runtime dependencies, plus the test tools
# Needs root (apt-get). Safe to run again: apt-get skips what is installed.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config clang-format
  libfuse3-dev nlohmann-json3-dev libssl-dev libfmt-dev libtomlplusplus-dev libcli11-dev
  libcurl4-openssl-dev
  # the host tree batches its reads with io_uring
  liburing-dev
  libgtest-dev libgmock-dev
  # pushes compress layers (gzip, zstd); the sbom plugin reads gzip and zstd base layers
  zlib1g-dev libzstd-dev
  # system packages: .deb members are .xz, .zst or .gz
  liblzma-dev
  # the fuzzers (scripts/fuzz.sh): clang with libFuzzer and the sanitizers' runtime
  clang libclang-rt-14-dev
  # runtime
  fuse3
  # tests and the README demo: image tools, a Python base made with debootstrap, tar readers
  skopeo umoci runc debootstrap libarchive-tools tar python3 python3-jsonschema ca-certificates
  # the export tests load a docker-archive with `podman load` and run it (no Docker engine here)
  podman
  procps util-linux openssl iproute2 zstd
  # system packages: apt signatures are checked with gpgv; the tests sign their archive with gpg
  gpg gpgv
  # the system-packages tests build their apt archive: dpkg-scanpackages (dpkg-dev), apt-ftparchive
  dpkg-dev apt-utils xz-utils
  # a registry on 127.0.0.1 to pull bases from and copy artifacts to; htpasswd for its Basic auth
  docker-registry apache2-utils
)

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps.sh: needs root (apt-get): run \`sudo scripts/install-deps.sh\`, or run it in a root shell" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "install-deps.sh: ${#packages[@]} packages present"
