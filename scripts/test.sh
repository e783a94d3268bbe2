#!/usr/bin/env bash
# The whole test suite: lint, type-check, then every test (the Docker ones on a real engine,
# which this script installs and starts when none answers). Extra arguments go to pytest.
source "$(dirname "${BASH_SOURCE[0]}")/_setup.sh"
setup_venv
setup_engine
echo "[test] ruff" >&2
"$VENV/bin/ruff" check hardening tests bench entrypoint.py
echo "[test] mypy" >&2
"$VENV/bin/mypy"
echo "[test] pytest" >&2
set +e
"$VENV/bin/python" -m pytest "$@"
status=$?
set -e
# pytest's 5 means "no tests collected" (for example a -k that selects nothing): not a failure.
if [ "$status" = 5 ]; then status=0; fi
exit "$status"
