"""What the action does with a finished report on GitHub. Nothing here changes the verdict.

Two steps, so that GitHub never holds up the verdict or the outputs: during the run the job
summary and the annotations are written (local files and lines, nothing waits); after the
step outputs are written, the PR comment and the check run are posted, bounded by the cap on
waiting for GitHub, and whatever goes wrong there is one warning line.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from hardening.model import Notification, PublishOutcome, Report
from hardening.request import ScanRequest, relpath

if TYPE_CHECKING:
    from hardening.pipeline import PipelineResult


def _warning(message: str) -> Notification:
    return Notification("warning", "report", message)


def max_wait(environ: Mapping[str, str]) -> tuple[float, list[Notification]]:
    """The cap on waiting for GitHub: HARDENING_GITHUB_MAX_WAIT seconds, or the default."""
    from hardening.github.bounded import DEFAULT_MAX_WAIT_S, MAX_WAIT_ENV

    raw = environ.get(MAX_WAIT_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_WAIT_S, []
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value <= 0:
        return DEFAULT_MAX_WAIT_S, [
            _warning(
                f"{MAX_WAIT_ENV}={raw[:40]!r} is not a positive number of seconds; "
                f"waiting for GitHub at most {DEFAULT_MAX_WAIT_S:g} s"
            )
        ]
    return value, []


def emit(notes: list[Notification]) -> None:
    """One line each: warnings as workflow commands, so they show on the run's page."""
    for note in notes:
        text = note.message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        if note.level in ("warning", "error"):
            print(f"::warning title=docker-hardening ({note.stage})::{text}", flush=True)
        else:
            print(f"[docker-hardening] {note.level}: {note.stage}: {text}", file=sys.stderr)


class ActionReporter:
    """``local`` is the pipeline's publisher; ``post_to_github`` runs after the outputs."""

    def __init__(self, request: ScanRequest, environ: Mapping[str, str], token: str) -> None:
        self.request = request
        self.environ = environ
        self.token = token
        self.pending: tuple[Report, str] | None = None

    def local(self, report: Report, markdown: str) -> list[Notification]:
        """The job summary and the workflow-command annotations; never raises."""
        from hardening.github.files import write_step_summary
        from hardening.report.annotations import workflow_commands

        self.pending = (report, markdown)
        notes: list[Notification] = []
        summary = self.environ.get("GITHUB_STEP_SUMMARY")
        try:
            if summary:
                write_step_summary(Path(summary), markdown)
        except OSError as exc:
            notes.append(_warning(f"could not write the job summary: {exc}"))
        try:
            for line in workflow_commands(report.findings):
                print(line, flush=True)
        except Exception as exc:  # annotations are reporting too: never the verdict
            notes.append(_warning(f"could not print the annotations: {type(exc).__name__}"))
        return notes

    def post_to_github(self) -> list[Notification]:
        """The PR comment and the check run: bounded, never raises, printed as it ends."""
        notes: list[Notification] = []
        if self.pending is not None:
            try:
                notes = self._post(*self.pending)
            except Exception as exc:  # the last guard: reporting never changes the verdict
                notes = [
                    _warning(
                        f"could not report to GitHub: {type(exc).__name__}: "
                        f"{' '.join(str(exc).split())[:200]} (the verdict stands)"
                    )
                ]
        emit(notes)
        self._record(notes)
        return notes

    def _record(self, notes: list[Notification]) -> None:
        """What publishing did, appended to the job summary after it was done."""
        from hardening.github.files import write_step_summary
        from hardening.report.markdown import publishing_section

        summary = self.environ.get("GITHUB_STEP_SUMMARY")
        outcomes = tuple(
            PublishOutcome("GitHub", note.level == "note", note.message)
            for note in notes
            if note.stage == "report"
        )
        if not summary or self.pending is None:
            return
        try:
            write_step_summary(Path(summary), "\n".join(publishing_section(outcomes)))
        except OSError as exc:
            emit([_warning(f"could not write the job summary: {exc}")])

    def _post(self, report: Report, markdown: str) -> list[Notification]:
        from hardening.github.context import context_from_env
        from hardening.github.publish import PublishOptions, publish

        ctx = context_from_env(self.environ, self.token)
        if ctx is None:
            return []
        seconds, notes = max_wait(self.environ)
        options = PublishOptions(
            comment=self.request.extra.get("comment", "true") == "true",
            check_run=self.request.extra.get("check-run", "false") == "true",
            max_wait_s=seconds,
        )
        return notes + publish(report, ctx, options)


def write_action_outputs(result: PipelineResult, environ: Mapping[str, str]) -> None:
    """The step outputs; a file that cannot be written is a warning, not a changed verdict."""
    from hardening.github.files import write_outputs

    path = environ.get("GITHUB_OUTPUT")
    if not path:
        return
    report = result.report
    workspace = Path(environ.get("GITHUB_WORKSPACE") or os.getcwd())
    values = {
        "sarif-file": relpath(result.sarif_path, workspace),
        "sarif-files": "\n".join(
            relpath(p, workspace) for p in (result.sarif_files or (result.sarif_path,))
        ),
        "images": json.dumps(
            [
                {"dockerfile": part.dockerfile, "category": part.category,
                 "passed": bool(part.verdict and part.verdict.passed),
                 "exit-code": part.verdict.exit_code if part.verdict else 3}  # fmt: skip
                for part in report.parts
            ]
        ),
        "summary-file": relpath(result.summary_path, workspace),
        "passed": str(result.gate.passed).lower(),
        "image-id": report.image.image_id if report.image else "",
        "image-digest": report.image.digest if report.image else "",
        "sbom-file": relpath(Path(report.sbom.path), workspace)
        if report.sbom is not None and report.sbom.path
        else "",
    }
    for severity, count in report.counts_by_severity().items():
        values[severity.value] = str(count)
    try:
        write_outputs(Path(path), values)
    except OSError as exc:
        emit([_warning(f"could not write the step outputs to {path}: {exc}")])
