#!/usr/bin/env bash
# Runs the whole job locally on the two bundled examples and writes their SARIF files and
# Markdown reports to out/. Trivy and Grype run when installed; otherwise the report says so.
source "$(dirname "${BASH_SOURCE[0]}")/_setup.sh"
setup_venv
"$VENV/bin/python" -m tests.support.engine ensure >/dev/null
mkdir -p out
build_args=()
# Use Docker Hub's Debian when it can be pulled; otherwise (no registry) the local Debian base.
if ! docker pull -q debian:bookworm-slim >/dev/null 2>&1 || ! docker pull -q debian:bookworm >/dev/null 2>&1; then
  echo "[demo] no registry reachable: building FROM the local Debian base instead" >&2
  build_args=(--build-arg BASE_IMAGE=docker-hardening.test/debian:bookworm)
fi
status=0
for example in insecure hardened; do
  echo "[demo] scanning examples/$example" >&2
  set +e
  HARDENING_HELPER_IMAGE="${HARDENING_HELPER_IMAGE:-docker-hardening.test/busybox:latest}" \
  "$VENV/bin/hardening" scan "examples/$example" "${build_args[@]}" \
    --sarif "out/$example.sarif" --summary "out/$example.md" --trial-grace 3
  code=$?
  set -e
  echo "[demo] examples/$example: exit $code (report: out/$example.md)" >&2
  # 0 passed and 1 gate failed are both results; 2 and 3 mean the job itself went wrong.
  if [ "$code" -ge 2 ]; then status=$code; fi
done
exit "$status"
