#!/usr/bin/env bash
# Runs the whole job locally on the two bundled examples and writes their SARIF files and
# Markdown reports to out/. Trivy (the real one, installed into the venv with the test
# dependencies) and Grype run when installed; otherwise the report says so. Without internet,
# Trivy cannot fetch its database: the report says so at once, and secrets are still scanned.
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
  # 0 passed and 1 gate failed are both results; 2 and 3 mean the job itself went wrong,
  # except a vulnerability database that cannot be reached from this machine (offline).
  if [ "$code" = 3 ] && grep -q "could not fetch its vulnerability database" "out/$example.md" \
     && [ "$(grep -c "^| [a-z ]* | failed |" "out/$example.md")" -le 1 ]; then
    echo "[demo] examples/$example: Trivy could not fetch its vulnerability database (offline?);" \
         "the report says so, and its secret findings are in it" >&2
  elif [ "$code" -ge 2 ]; then status=$code; fi
done
exit "$status"
