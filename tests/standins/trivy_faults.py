#!/usr/bin/env python3
"""A fault-injecting wrapper around the REAL trivy, for faults it cannot produce on demand.

Installed on PATH as ``trivy`` by the tests that need it; everything else runs the real binary
(found through FAULTS_TRIVY_REAL). Faults, chosen by FAULTS_TRIVY (only for ``trivy image`` calls
that scan, never for ``--download-db-only`` unless FAULTS_TRIVY_DB=1):

  garbage     run the real scan, then overwrite its report with FAULTS_TRIVY_TEXT
  crash       kill itself with SIGSEGV before scanning (a crashed scanner)
  hang        sleep for an hour (a scanner that never finishes)
  exit        print FAULTS_TRIVY_TEXT to stderr and exit with FAULTS_TRIVY_CODE (default 1)

Each invocation's argv is appended as one JSON line to FAULTS_TRIVY_LOG when it is set.
"""

import json
import os
import signal
import subprocess
import sys
import time

argv = sys.argv[1:]
real = os.environ["FAULTS_TRIVY_REAL"]
log = os.environ.get("FAULTS_TRIVY_LOG")
if log:
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(argv) + "\n")
fault = os.environ.get("FAULTS_TRIVY", "")
is_db = "--download-db-only" in argv
applies = argv[:1] == ["image"] and (not is_db or os.environ.get("FAULTS_TRIVY_DB") == "1")
if not fault or not applies:
    os.execv(real, [real, *argv])  # noqa: S606 (the real binary, as given)
if fault == "crash":
    os.kill(os.getpid(), signal.SIGSEGV)
if fault == "hang":
    time.sleep(3600)
if fault == "exit":
    print(os.environ.get("FAULTS_TRIVY_TEXT", "error"), file=sys.stderr)
    raise SystemExit(int(os.environ.get("FAULTS_TRIVY_CODE", "1")))
if fault == "garbage":
    code = subprocess.run([real, *argv], check=False).returncode
    output = argv[argv.index("--output") + 1]
    with open(output, "w", encoding="utf-8") as handle:
        handle.write(os.environ.get("FAULTS_TRIVY_TEXT", "not json"))
    raise SystemExit(code)
print(f"trivy_faults: unknown FAULTS_TRIVY {fault!r}", file=sys.stderr)
raise SystemExit(2)
