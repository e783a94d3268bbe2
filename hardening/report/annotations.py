"""Workflow-command annotations (``::error file=...,line=...::``) for the most severe findings.

GitHub shows at most 10 error and 10 warning annotations per step, so the most severe findings
with a real file line are chosen; the count of the others goes into a notice.
"""

from __future__ import annotations

from collections.abc import Iterable

from hardening.model import Finding, Severity, sort_key

PER_LEVEL = 10


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def level(severity: Severity) -> str:
    return severity.workflow_level


def workflow_commands(findings: Iterable[Finding]) -> list[str]:
    chosen: dict[str, list[Finding]] = {"error": [], "warning": [], "notice": []}
    left_out = 0
    for finding in sorted((f for f in findings if not f.suppressed), key=sort_key):
        if not finding.location.path or not finding.location.line:
            continue
        bucket = chosen[level(finding.severity)]
        if len(bucket) < PER_LEVEL:
            bucket.append(finding)
        else:
            left_out += 1
    lines = []
    for name, bucket in chosen.items():
        for f in bucket:
            title = f"{f.rule_id}: {f.title}" if f.title and f.title != f.rule_id else f.rule_id
            props = (
                f"file={escape_property(f.location.path)},line={f.location.line},"
                f"title={escape_property(title[:200])}"
            )
            lines.append(f"::{name} {props}::{escape_data(f.message[:1000])}")
    if left_out:
        lines.append(
            f"::notice title=docker-hardening::{left_out} more finding(s) are in the SARIF file and the job summary"
        )
    return lines
