"""What the action does with a finished report on GitHub. Nothing here changes the verdict."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from hardening.model import Notification, Report
from hardening.request import ScanRequest, relpath

if TYPE_CHECKING:
    from hardening.pipeline import PipelineResult, Publisher


def action_publisher(request: ScanRequest, environ: Mapping[str, str], token: str) -> Publisher:
    def publish(report: Report, markdown: str) -> list[Notification]:
        from hardening.github.context import context_from_env
        from hardening.github.files import write_step_summary
        from hardening.github.publish import PublishOptions, publish
        from hardening.report.annotations import workflow_commands

        notes: list[Notification] = []
        summary = environ.get("GITHUB_STEP_SUMMARY")
        if summary:
            try:
                write_step_summary(Path(summary), markdown)
            except OSError as exc:
                notes.append(
                    Notification("warning", "report", f"could not write the job summary: {exc}")
                )
        for line in workflow_commands(report.findings):
            print(line, flush=True)
        ctx = context_from_env(environ, token)
        if ctx is None:
            return notes
        options = PublishOptions(
            comment=request.extra.get("comment", "true") == "true",
            check_run=request.extra.get("check-run", "false") == "true",
        )
        return notes + publish(report, ctx, options)

    return publish


def write_action_outputs(result: PipelineResult, environ: Mapping[str, str]) -> None:
    from hardening.github.files import write_outputs

    path = environ.get("GITHUB_OUTPUT")
    if not path:
        return
    report = result.report
    workspace = Path(environ.get("GITHUB_WORKSPACE") or os.getcwd())
    values = {
        "sarif-file": relpath(result.sarif_path, workspace),
        "summary-file": relpath(result.summary_path, workspace),
        "passed": str(result.gate.passed).lower(),
        "image-id": report.image.image_id if report.image else "",
        "image-digest": report.image.digest if report.image else "",
        "sbom-file": relpath(Path(str(report.extras["sbom"]["path"])), workspace)
        if (report.extras.get("sbom") or {}).get("path")
        else "",
    }
    for severity, count in report.counts_by_severity().items():
        values[severity.value] = str(count)
    write_outputs(Path(path), values)
