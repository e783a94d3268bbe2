"""Start-up: importing the CLI, and the action entrypoint's time to its first log line."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Row, child_env, repeat, row

ROOT = Path(__file__).resolve().parents[1]


def _import_cli() -> None:
    subprocess.run(
        [sys.executable, "-c", "import hardening.cli"],
        check=True,
        cwd=ROOT,
        env=child_env(PYTHONPATH=str(ROOT)),
    )


def _entrypoint_first_line() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        env = child_env(PYTHONPATH=str(ROOT), GITHUB_WORKSPACE=tmp, INPUT_CONTEXT="missing")
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "entrypoint.py")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert proc.stdout is not None
        proc.stdout.readline()
        elapsed = time.perf_counter() - started
        proc.wait()
        return elapsed


def run(runs: int = 5) -> list[Row]:
    import_times = repeat(_import_cli, runs=runs)
    first_line = [_entrypoint_first_line() for _ in range(runs + 1)][1:]
    return [
        row(
            "start-up",
            "python -c 'import hardening.cli'",
            import_times,
            unit="ms",
            scale=1000,
            limit=300,
            target="< 300 ms",
        ),
        row(
            "start-up",
            "entrypoint to first log line",
            first_line,
            unit="ms",
            scale=1000,
            limit=300,
            target="< 300 ms",
        ),
    ]
