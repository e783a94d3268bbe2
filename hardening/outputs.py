"""Writing a run's outputs: the caller's side of the output formats.

Here the files the findings point at are read (for GitHub's line fingerprints) and the clock
is read, once; every requested format renders from that, purely; each result is written
with permissions the runner's own user can read.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from hardening.errors import UsageError
from hardening.model import Finding, Report, RuleDoc
from hardening.report.formats import OutputFormat, RenderInput, formats, get


def parse_output(spec: str) -> tuple[str, Path]:
    """``FORMAT=PATH`` from ``--output``; an unknown format is a usage error naming the known."""
    name, sep, path = spec.partition("=")
    known = ", ".join(formats())
    if not sep or not name.strip() or not path.strip():
        raise UsageError(f"--output {spec!r} is not FORMAT=PATH", f"formats: {known}")
    if get(name) is None:
        raise UsageError(f"unknown output format {name.strip()!r}", f"use one of: {known}")
    return name.strip().lower(), Path(path.strip())


def read_sources(findings: Iterable[Finding], workspace: Path | None) -> dict[str, str]:
    """The text of every repository file a finding points at."""
    if workspace is None:
        return {}
    texts: dict[str, str] = {}
    for path in {f.location.path for f in findings if f.location.path and f.package is None}:
        source = workspace / path
        if source.is_file():
            texts[path] = source.read_text(encoding="utf-8", errors="replace")
    return texts


def write_outputs(
    report: Report,
    targets: Sequence[tuple[str, Path]],
    rule_docs: Mapping[str, RuleDoc],
    workspace: Path | None,
    started: datetime.datetime | None = None,
) -> dict[str, bytes]:
    """Render each (format, path) and write it; returns what was written, by format name."""
    given = RenderInput(
        report=report,
        rule_docs=rule_docs,
        sources=read_sources(report.findings, workspace),
        now=datetime.datetime.now(datetime.UTC),
        started=started,
    )
    written: dict[str, bytes] = {}
    for name, path in targets:
        fmt: OutputFormat | None = get(name)
        assert fmt is not None, name  # checked when the request was made
        data = written.get(name) or fmt.render(given)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(0o644)
        written[name] = data
    return written
