# Shared set-up for scripts/test.sh and scripts/demo.sh: a virtual environment with the pinned
# dependencies, and a Docker engine with the local base images. Safe to run again.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${HARDENING_VENV:-$ROOT/.venv}"

find_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; raise SystemExit(sys.version_info < (3, 11))' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  echo "error: Python 3.11 or newer is needed (apt-get install python3)" >&2
  return 1
}

setup_venv() {
  local stamp="$VENV/.installed" want
  want="$(cat pyproject.toml requirements/constraints.txt | sha256sum | cut -c1-16)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  if [ ! -x "$VENV/bin/python" ]; then
    local py; py="$(find_python)"
    "$py" -m venv "$VENV" 2>/dev/null || {
      if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
        "$py" -m venv "$VENV"
      else
        echo "error: cannot create a virtual environment (apt-get install python3-venv)" >&2
        return 1
      fi
    }
  fi
  echo "[setup] installing dependencies into $VENV" >&2
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -c requirements/constraints.txt -e ".[test]"
  echo "$want" > "$stamp"
}

setup_engine() {
  "$VENV/bin/python" -m tests.support.engine ensure
}
