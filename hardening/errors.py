"""Exit codes and the two kinds of error that stop a command."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Documented exit codes, shared by every command and the action."""

    PASSED = 0
    GATE_FAILED = 1
    USAGE = 2
    TOOL_FAILURE = 3


class HardeningError(Exception):
    """An error with one line for the user: what went wrong and how to fix it."""

    exit_code: ExitCode = ExitCode.TOOL_FAILURE

    def __init__(self, message: str, fix: str = "", details: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.details = details  # longer text for the report's details (a log tail), not the line

    def one_line(self) -> str:
        return f"{self.message} ({self.fix})" if self.fix else self.message


class UsageError(HardeningError):
    """Bad input or configuration, found before the pipeline starts; nothing is written."""

    exit_code = ExitCode.USAGE


class ToolError(HardeningError):
    """A tool or the infrastructure failed (no engine, a build that failed, a scanner crash)."""

    exit_code = ExitCode.TOOL_FAILURE
