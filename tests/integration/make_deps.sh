#!/usr/bin/env bash
# Builds (once) and caches a site-packages tree from Debian's python3-* packages, for the example
# project and the integration tests. Prints its path.
#
#   tests/integration/make_deps.sh [SET] [CACHE_DIR]
#
# SET names the packages asked for (default: example):
#   example   python3-click python3-pygments                    (examples/hello)
#   fastapi   python3-fastapi python3-uvicorn python3-gunicorn  (gunicorn with uvicorn workers)
#   uvicorn   python3-fastapi python3-uvicorn                   (uvicorn alone)
#   flask     python3-flask                                     (Flask's own server)
#   flask-gunicorn  python3-flask python3-gunicorn              (Flask under gunicorn)
#   django    python3-django python3-gunicorn
# Their python3-* dependencies are added from apt's metadata (the closure); anything else they
# depend on (python3 itself, libc6, tzdata) is the base image's business. CACHE_DIR defaults to
# $OCIFS_TEST_CACHE or /var/cache/ocifs-tests. The .deb files are kept in CACHE_DIR/debs.
set -euo pipefail

set_name=${1:-example}
cache=${2:-${OCIFS_TEST_CACHE:-/var/cache/ocifs-tests}}
case "$set_name" in
  example) wanted=(python3-click python3-pygments) ;;
  fastapi) wanted=(python3-fastapi python3-uvicorn python3-gunicorn) ;;
  uvicorn) wanted=(python3-fastapi python3-uvicorn) ;;
  flask) wanted=(python3-flask) ;;
  flask-gunicorn) wanted=(python3-flask python3-gunicorn) ;;
  django) wanted=(python3-django python3-gunicorn) ;;
  *)
    echo "make_deps.sh: unknown set '$set_name' (example, fastapi, uvicorn, flask, flask-gunicorn, django)" >&2
    exit 2
    ;;
esac

out="$cache/deps-$set_name-v1"
if [[ -f "$out/.complete" ]]; then
  echo "$out/site-packages"
  exit 0
fi

# The python3-* closure of "$@": breadth first over apt-cache's Depends. In a group of
# alternatives ("A | B"), a group that a non-python3-* package can satisfy is left to the base.
closure() {
  local -A seen=()
  local queue=("$@") pkg line kind dep group_python group_base
  while ((${#queue[@]})); do
    pkg=${queue[0]}
    queue=("${queue[@]:1}")
    [[ -n ${seen[$pkg]:-} ]] && continue
    seen[$pkg]=1
    echo "$pkg"
    group_python=() group_base=0
    while read -r kind dep; do
      [[ $kind == Depends: || $kind == "|Depends:" ]] || continue
      dep=${dep%%:any}
      if [[ $dep == python3-* && $dep != python3-minimal ]]; then
        group_python+=("$dep")
      elif [[ $dep != \<* ]]; then
        group_base=1
      fi
      if [[ $kind == Depends: ]]; then  # the last alternative of its group
        if ((!group_base && ${#group_python[@]})); then queue+=("${group_python[0]}"); fi
        group_python=() group_base=0
      fi
    done < <(apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks \
      --no-replaces --no-enhances "$pkg" 2>/dev/null)
  done
}

packages=$(closure "${wanted[@]}" | sort)
[[ -n $packages ]] || { echo "make_deps.sh: apt-cache knows none of ${wanted[*]} (run apt-get update first?)" >&2; exit 1; }

debs="$cache/debs"
mkdir -p "$debs"
chmod 0777 "$debs"  # apt-get download runs as _apt where it can
# shellcheck disable=SC2086  # one package name per word
(cd "$debs" && apt-get download $packages >/dev/null 2>"$debs/apt.log") || {
  cat "$debs/apt.log" >&2
  echo "make_deps.sh: apt-get download failed (run apt-get update first?)" >&2
  exit 1
}

work=$(mktemp -d "$cache/deps-work.XXXXXX")
trap 'rm -rf "$work"' EXIT
for pkg in $packages; do
  deb=$(ls -t "$debs/${pkg}_"*.deb | head -n 1)
  dpkg-deb -x "$deb" "$work/root"
done
mkdir -p "$work/out"
cp -a "$work/root/usr/lib/python3/dist-packages" "$work/out/site-packages"
echo "$packages" >"$work/out/packages.txt"
rm -rf "$out"
mv "$work/out" "$out"
touch "$out/.complete"
echo "$out/site-packages"
