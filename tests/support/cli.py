"""Run the `hardening` command as a user would: a real process, real exit code and output."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Completed:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli(
    *args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None, timeout: float = 600
) -> Completed:
    environ = dict(os.environ)
    environ["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + environ.get("PYTHONPATH", "")
    environ.update(env or {})
    result = subprocess.run(
        [sys.executable, "-m", "hardening", *args],
        cwd=cwd or REPO_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Completed(result.returncode, result.stdout, result.stderr)
