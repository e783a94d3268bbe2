"""The runner's file commands: step outputs and the job summary."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path

SUMMARY_LIMIT = 1024 * 1024


def write_outputs(path: Path, values: Mapping[str, str]) -> None:
    """Append outputs; multi-line values use the heredoc form with a random delimiter."""
    with path.open("a", encoding="utf-8") as handle:
        for name, value in values.items():
            if "\n" in value or "\r" in value:
                delimiter = f"ghadelimiter_{secrets.token_hex(8)}"
                handle.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
            else:
                handle.write(f"{name}={value}\n")


def write_step_summary(path: Path, markdown: str) -> None:
    data = markdown.encode("utf-8")
    if len(data) > SUMMARY_LIMIT - 1024:
        data = data[: SUMMARY_LIMIT - 1024].decode("utf-8", errors="ignore").encode("utf-8")
    with path.open("ab") as handle:
        handle.write(data)
        handle.write(b"\n")
