# Helpers shared by the benchmark scripts (sourced, not run; the script sets `root` first).

# bench_init NAME [OCIFS_BINARY] [ROUNDS]: sets ocifs, rounds, cache and corpus; needs root.
bench_init() {
  local name=$1
  ocifs=$(realpath "${2:-$root/build/tools/ocifs}")
  rounds=${3:-5}
  cache=${OCIFS_TEST_CACHE:-/var/cache/ocifs-tests}
  corpus="$cache/bench-corpus-v1"
  [[ $(id -u) -eq 0 ]] || { echo "$name: needs root (FUSE, drop_caches)" >&2; exit 1; }
}
now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }
median() { tr -s ' ' '\n' | sed '/^$/d' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }

# mount_until_index OCIFS PROJECT MOUNTPOINT ARGS...: mounts and reads index.json (which waits for
# every digest); prints the milliseconds that took.
mount_until_index() {
  local ocifs=$1 project=$2 mnt=$3 t0 t1
  shift 3
  t0=$(now)
  "$ocifs" mount "$project" "$mnt" "$@"
  cat "$mnt/index.json" >/dev/null
  t1=$(now)
  ms "$t0" "$t1"
}

# cpu_of_children: in a subshell, after its commands, prints the CPU milliseconds (user + system)
# they used, from `times` (its second line: the children's "0m0.040s 0m0.080s"). `times` runs in
# this shell, not in a pipe's subshell, whose children are its own.
cpu_of_children() {
  local f
  f=$(mktemp)
  times >"$f"
  awk 'NR == 2 {
    t = 0
    for (i = 1; i <= 2; i++) { split($i, p, "m"); sub("s", "", p[2]); t += p[1] * 60 + p[2] }
    printf "%.0f\n", t * 1000 }' "$f"
  rm -f "$f"
}

# daemon_cpu OCIFS MOUNTPOINT: the CPU milliseconds (user + system, every thread's, joined ones
# too) the mount's daemon has used so far; 10 ms resolution (clock ticks).
daemon_cpu() {
  local pid
  pid=$("$1" status "$2" --json | grep -o '"pid": *[0-9]*' | grep -o '[0-9]*$')
  awk -v hz="$(getconf CLK_TCK)" '{sub(/.*\) /, ""); printf "%.0f\n", ($12 + $13) * 1000 / hz}' "/proc/$pid/stat"
}

# unmount OCIFS MOUNTPOINT: unmounts and waits until it is gone.
unmount() {  # (set -e does not reach into a function called from `a && unmount`: check here)
  "$1" umount "$2" || { echo "bench: could not unmount $2" >&2; exit 1; }
  while mountpoint -q "$2"; do sleep 0.05; done
}

# ensure_corpus: makes the corpus once (see bench/run.sh): the site-packages of a few large Debian
# Python packages as the dependencies, examples/hello as the application.
ensure_corpus() {
  [[ -f "$corpus/.complete" ]] && return
  local work deb
  work=$(mktemp -d "$cache/bench-work.XXXXXX")
  chmod 0777 "$work"
  (cd "$work" && apt-get download python3-django python3-numpy python3-scipy python3-pandas python3-pandas-lib \
     python3-matplotlib python3-sympy python3-mpmath python3-pygments >/dev/null 2>&1)
  for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$work/root"; done
  rm -rf "$corpus" && mkdir -p "$corpus"
  mv "$work/root/usr/lib/python3/dist-packages" "$corpus/site-packages"
  cp -a "$root/examples/hello" "$corpus/app"
  rm -rf "$work"
  touch "$corpus/.complete"
}
