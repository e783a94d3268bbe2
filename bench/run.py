"""Run every benchmark, print one table, and write it to docs/benchmarks.md.

    python -m bench.run            # everything (5 timed runs after a warm-up)
    python -m bench.run startup    # only some groups

Benchmarks are not tests: nothing here fails on a number; each row states its target and
whether this run met it.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import os
import platform
import subprocess
import sys
from pathlib import Path

from bench.common import Row

ROOT = Path(__file__).resolve().parents[1]
GROUPS = ["startup", "pipeline", "peers", "compare", "many", "merge_scale", "lint_speed", "probes"]
HEADER = ["group", "benchmark", "median", "min", "max", "target", "result", "note"]


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    docker = subprocess.run(
        ["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True
    ).stdout.strip()
    return (
        f"{platform.system()} {platform.release()}, {os.cpu_count()} cores ({cpu}), {mem}, "
        f"Python {platform.python_version()}, Docker engine {docker or 'not running'}"
    )


def table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r.cells()) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("groups", nargs="*", choices=[*GROUPS, []], metavar="GROUP")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    rows: list[Row] = []
    notes: list[str] = []  # a group's NOTE: how it measures what it does, under the table
    for group in args.groups or GROUPS:
        print(f"[bench] {group}", file=sys.stderr, flush=True)
        module = importlib.import_module(f"bench.{group}")
        rows.extend(module.run(runs=args.runs))
        notes += [module.NOTE] if hasattr(module, "NOTE") else []
    text = table(rows)
    print(text)
    if not args.no_write:
        when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
        doc = (
            "# Benchmarks\n\n"
            "Produced by `python -m bench.run` (median of "
            f"{args.runs} runs after a warm-up, with min and max). Nothing here fails CI on a "
            "number; each row states its target and whether this run met it.\n\n"
            f"Measured {when} on: {machine()}.\n\n{text}\n"
        )
        doc += "".join(f"\n{note.strip()}\n" for note in notes)
        (ROOT / "docs" / "benchmarks.md").write_text(doc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
