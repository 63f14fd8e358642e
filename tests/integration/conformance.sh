# Sourced by scripts/test.sh and run_integration.sh: finds ../shared/conformance, the independent
# checkers that sit beside a checkout in CI, and a Python that can run them. They are a second
# opinion: the tests' own checks (tests/integration/ocicheck.py) run whether they are here or not.
#
# Sets OCIFS_CONFORMANCE and OCIFS_CONFORMANCE_PYTHON (both empty when the checkers are skipped)
# and conformance_note, one line that says which.
find_conformance() {
  local root=$1 dir candidate
  dir=$(cd "$root/.." && pwd)/shared/conformance
  OCIFS_CONFORMANCE="" OCIFS_CONFORMANCE_PYTHON=""
  if [[ ! -f "$dir/oci_layout_check.py" ]]; then
    conformance_note="conformance: $dir is absent; its checkers are skipped and the tests' own checks (tests/integration/ocicheck.py) decide"
    return
  fi
  # They need jsonschema >= 4.18 with `referencing`; Debian 12's python3-jsonschema is 4.10.
  for candidate in python3 /usr/local/bin/python3 /root/.pyenv/shims/python3 /usr/bin/python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import jsonschema, referencing' 2>/dev/null; then
      OCIFS_CONFORMANCE=$dir OCIFS_CONFORMANCE_PYTHON=$(command -v "$candidate")
      conformance_note="conformance: $dir runs beside the tests' own checks (with $OCIFS_CONFORMANCE_PYTHON)"
      return
    fi
  done
  conformance_note="conformance: $dir is present but no python3 here has jsonschema >= 4.18 with referencing; its checkers are skipped and the tests' own checks decide"
}
