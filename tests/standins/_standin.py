"""Shared logic of the stand-in `trivy` and `grype` executables used in the tests.

A stand-in replays a REAL recorded report (from shared/fixtures/scanners) and rejects any flag
or argument that the real CLI of the pinned version does not accept, so the product's command
lines are checked against the real interface. It is a test double for the process boundary
only; the product never runs it on its own.

Behaviour is steered by environment variables:
  STANDIN_FIXTURE   recorded JSON report to write to the --output/--file path
  STANDIN_SLEEP     seconds to sleep before answering
  STANDIN_FAIL_TIMES fail this many invocations first (counted in STANDIN_STATE), with
  STANDIN_STDERR    this error text, and exit code STANDIN_EXIT (default 1)
  STANDIN_GARBAGE   write this text instead of the report
  STANDIN_LOG       append each invocation's argv as one JSON line
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path


def reject(tool: str, message: str) -> None:
    print(f"{tool} (stand-in): {message}", file=sys.stderr)
    raise SystemExit(2)


def parse(tool: str, argv: list[str], with_value: set[str], flags: set[str]) -> dict[str, str]:
    seen: dict[str, str] = {}
    positional: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("-"):
            name, eq, value = arg.partition("=")
            if name in with_value:
                if not eq:
                    i += 1
                    if i >= len(argv):
                        reject(tool, f"flag needs an argument: {name}")
                    value = argv[i]
                seen[name] = value
            elif name in flags and not eq:
                seen[name] = "true"
            else:
                reject(tool, f"unknown flag: {name}")
        else:
            positional.append(arg)
        i += 1
    seen["__positional__"] = "\x1f".join(positional)
    return seen


def maybe_fail(tool: str) -> None:
    log = os.environ.get("STANDIN_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"tool": tool, "argv": sys.argv[1:]}) + "\n")
    time.sleep(float(os.environ.get("STANDIN_SLEEP", "0")))
    times = int(os.environ.get("STANDIN_FAIL_TIMES", "0"))
    if times:
        state = Path(os.environ.get("STANDIN_STATE", f"/tmp/standin-{tool}-state"))
        count = int(state.read_text()) if state.exists() else 0
        state.write_text(str(count + 1))
        if count < times:
            print(os.environ.get("STANDIN_STDERR", "error"), file=sys.stderr)
            raise SystemExit(int(os.environ.get("STANDIN_EXIT", "1")))


def write_report(tool: str, output: str) -> None:
    garbage = os.environ.get("STANDIN_GARBAGE")
    if garbage is not None:
        Path(output).write_text(garbage)
        return
    fixture = os.environ.get("STANDIN_FIXTURE")
    if not fixture:
        reject(tool, "STANDIN_FIXTURE is not set")
    shutil.copyfile(fixture, output)
