# Helpers shared by the benchmark scripts (sourced, not run).
now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }
median() { tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
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

# unmount OCIFS MOUNTPOINT: unmounts and waits until it is gone.
unmount() {
  "$1" umount "$2"
  while mountpoint -q "$2"; do sleep 0.05; done
}
