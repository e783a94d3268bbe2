"""Shared pieces of the benchmarks: repeated timing and one row format for the table."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    group: str
    name: str
    unit: str
    median: float
    low: float
    high: float
    target: str  # e.g. "< 300 ms"
    met: bool | None  # None: a reference value with no target
    note: str = ""

    @property
    def failed(self) -> bool:
        return self.note.startswith("failed:")

    def cells(self) -> list[str]:
        verdict = "n/a" if self.met is None else ("met" if self.met else "MISSED")
        if self.failed:  # no time is shown for what did not run to the end
            return [self.group, self.name, "failed", "-", "-", self.target or "-", "FAILED", self.note]
        return [
            self.group,
            self.name,
            f"{self.median:.3f} {self.unit}",
            f"{self.low:.3f}",
            f"{self.high:.3f}",
            self.target or "-",
            verdict,
            self.note,
        ]


def repeat(fn: Callable[[], object], runs: int = 5, warmup: int = 1) -> list[float]:
    """Wall times of ``runs`` calls after ``warmup`` untimed ones, in seconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def row(
    group: str,
    name: str,
    times: list[float],
    *,
    unit: str = "s",
    scale: float = 1.0,
    limit: float | None = None,
    target: str = "",
    note: str = "",
) -> Row:
    values = [t * scale for t in times]
    median = statistics.median(values)
    met = None if limit is None else median < limit
    return Row(group, name, unit, median, min(values), max(values), target, met, note)


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a measured process, as an installed package would run: with its
    bytecode cached (a shell that sets PYTHONDONTWRITEBYTECODE would make every run recompile)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(extra)
    return env
