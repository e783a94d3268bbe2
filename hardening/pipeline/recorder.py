"""What each stage of a run did, recorded as data so a failure never loses what came before.

Every text the recorder keeps or prints passes through the run's redactor first: a build
argument's or build secret's value never reaches a log line, a notification, a stage detail
or a tool's failure reason.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from hardening.errors import HardeningError
from hardening.model import Notification, RunStatus, StageResult, ToolRun
from hardening.redact import Redactor

Log = Callable[[str], None]


_LOG_LOCK = threading.Lock()


def stderr_log(message: str) -> None:
    """One whole line per message: stages run in threads (the base commit's beside the
    head's), and print() writes the text and its newline apart, so lines could interleave."""
    with _LOG_LOCK:
        sys.stderr.write(f"[docker-hardening] {message}\n")
        sys.stderr.flush()


@dataclass
class StageInfo:
    """What a stage's body may say about itself."""

    status: RunStatus = RunStatus.OK
    detail: str = ""

    def skip(self, detail: str) -> None:
        self.status, self.detail = RunStatus.SKIPPED, detail


@dataclass
class Recorder:
    log_sink: Log = stderr_log
    redact: Redactor = field(default_factory=Redactor)
    stages: list[StageResult] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    tool_runs: list[ToolRun] = field(default_factory=list)
    details: list[tuple[str, str]] = field(default_factory=list)  # (stage, long text)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def log(self, message: str) -> None:
        self.log_sink(self.redact(message))

    def notify(self, level: str, stage: str, message: str) -> None:
        message = self.redact(message)
        with self.lock:
            self.notifications.append(Notification(level, stage, message))
        self.log_sink(f"{level}: {stage}: {message}")

    def tool(self, run: ToolRun) -> None:
        with self.lock:
            self.tool_runs.append(replace(run, reason=self.redact(run.reason)))

    def failed(self, name: str) -> bool:
        return any(s.name == name and s.status is RunStatus.FAILED for s in self.stages)

    def finished(self, name: str, status: RunStatus, detail: str, started: float) -> None:
        with self.lock:
            self.stages.append(
                StageResult(name, status, self.redact(detail), time.monotonic() - started)
            )

    def run(self, name: str, body: Callable[[StageInfo], None], tool: str = "") -> bool:
        """Run one stage; an exception becomes a failed stage (and tool run) and a notification,
        never a lost run. True when the stage completed."""
        info = StageInfo()
        started = time.monotonic()
        self.log(f"{name}...")
        try:
            body(info)
        except HardeningError as exc:
            self._fail(name, tool, exc.one_line(), started, exc.details)
            return False
        except Exception as exc:  # a bug in one stage must not lose the others' results
            self._fail(name, tool, f"internal error: {type(exc).__name__}: {exc}", started, "")
            return False
        self.finished(name, info.status, info.detail, started)
        return info.status is not RunStatus.FAILED

    def _fail(self, name: str, tool: str, message: str, started: float, details: str) -> None:
        self.finished(name, RunStatus.FAILED, message, started)
        self.notify("error", name, message)
        if details:
            with self.lock:
                self.details.append((name, self.redact(details)))
        if tool:
            self.tool(ToolRun(tool, RunStatus.FAILED, reason=message))
