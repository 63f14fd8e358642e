#!/usr/bin/env bash
# Start-up cost of shipping no bytecode: the time from `python3` to the application imported, in
# the image as ocifs makes it (no .pyc of the application or its dependencies,
# PYTHONDONTWRITEBYTECODE=1, a read-only root, so every start compiles them in memory), against
# the same bundle with every .py of /app and /opt/venv compiled ahead (`compileall
# --invalidation-mode unchecked-hash`, what an image that ships bytecode would hold).
#
#   sudo bench/bytecode.sh [OCIFS_BINARY] [ROUNDS]     (default build/tools/ocifs, 5 rounds)
#
# Each round runs the interpreter 10 times inside one runc container (read-only root, tmpfs on
# the image's Volumes) and takes the median; the result is the median of the rounds' medians,
# for the FastAPI and Django fixtures of the integration tests (Debian's python3-* packages).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
bench_init "bench/bytecode.sh" "$@"
base=$(bash "$root/tests/integration/make_base.sh")
work=$(mktemp -d /tmp/ocifs-bytecode-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

# runs BUNDLE MODULE: the median milliseconds of 10 starts that import MODULE, in one container.
runs() {
  local bundle=$1 module=$2
  python3 - "$bundle/config.json" "$module" "$base" <<'EOF'
import json, sys
path, module = sys.argv[1], sys.argv[2]
cfg = json.load(open(path))
cfg["process"]["terminal"] = False
cfg["root"]["readonly"] = True
cfg["mounts"] = [m for m in cfg["mounts"] if m["destination"] not in ("/tmp", "/home/nonroot")]
cfg["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                      "options": ["nosuid", "nodev", "mode=1777"]})
code = ("import statistics, subprocess, sys, time\n"
        "r = []\n"
        "for _ in range(10):\n"
        "    t = time.perf_counter()\n"
        f"    subprocess.run([sys.executable, '-c', 'import {module}'], check=True)\n"
        "    r.append(time.perf_counter() - t)\n"
        "print(round(statistics.median(r) * 1000))\n")
cfg["process"]["args"] = ["python3", "-c", code]
json.dump(cfg, open(path, "w"))
EOF
  runc run --bundle "$bundle" "ocifs-bytecode-$$" </dev/null
}

printf '%-8s %12s %12s %8s\n' app "no .pyc ms" "with .pyc ms" ratio
for spec in fastapi:greeter.main django:mysite.wsgi; do
  app=${spec%%:*} module=${spec#*:}
  deps=$(bash "$root/tests/integration/make_deps.sh" "$app")
  "$ocifs" build "$root/tests/integration/projects/$app" --output "$work/$app" \
    --base "oci:$base:3.11-slim" --python 3.11 --deps "$deps" 2>/dev/null
  umoci unpack --image "$work/$app:latest" "$work/$app-none" >/dev/null
  cp -a "$work/$app-none" "$work/$app-pyc"
  chroot "$work/$app-pyc/rootfs" /usr/bin/python3 -m compileall -q \
    --invalidation-mode unchecked-hash /app /opt/venv >/dev/null
  none=() pyc=()
  for ((i = 0; i < rounds; i++)); do
    none+=("$(runs "$work/$app-none" "$module")")
    pyc+=("$(runs "$work/$app-pyc" "$module")")
  done
  n=$(echo "${none[*]}" | median) p=$(echo "${pyc[*]}" | median)
  printf '%-8s %12s %12s %8s\n' "$app" "$n" "$p" "$(awk -v a="$n" -v b="$p" 'BEGIN {printf "%.2f", a / b}')"
done
