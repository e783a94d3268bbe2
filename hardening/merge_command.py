"""`hardening merge`: existing Trivy and Grype JSON reports into one de-duplicated SARIF file."""

from __future__ import annotations

import argparse
from pathlib import Path

from hardening.errors import ExitCode, UsageError
from hardening.lint_command import write_outputs
from hardening.model import Report, RunStatus, StageResult, ToolRun


def _run(tool: str, version: str) -> ToolRun:
    from hardening.scanners import registry

    scanner = registry.get(tool)
    return ToolRun(
        tool, RunStatus.OK, version=version, scanner=True,
        information_uri=scanner.information_uri if scanner else "",
        display_name=scanner.display_name if scanner else "",
        vendor=scanner.vendor if scanner else "",
    )  # fmt: skip


def run_merge(args: argparse.Namespace) -> int:
    from hardening.report.locate import locate_image_findings
    from hardening.scanners.load import load_report
    from hardening.scanners.merge import merge_findings
    from hardening.targets.dockerfile import parse_dockerfile

    workspace = Path.cwd().resolve()
    dockerfile = Path(args.dockerfile) if args.dockerfile else None
    if dockerfile is not None and not dockerfile.is_file():
        raise UsageError(f"Dockerfile {dockerfile} does not exist", "check --dockerfile")
    parsed = [load_report(Path(path)) for path in args.reports]
    findings = merge_findings(f for report in parsed for f in report.findings)
    index = None
    relative = ""
    if dockerfile is not None:
        from hardening.request import relpath

        relative = relpath(dockerfile, workspace)
        index = parse_dockerfile(dockerfile.read_text(errors="replace"), relative)
    located = locate_image_findings(findings, None, index)
    runs = tuple(_run(report.tool, report.version) for report in parsed)
    report = Report(
        findings=tuple(located),
        tool_runs=runs,
        stages=(StageResult("merge", RunStatus.OK, f"{len(parsed)} report(s)"),),
        dockerfile=relative,
        category=(args.category or f"docker-hardening/{relative or 'merge'}/").rstrip("/") + "/",
    )
    targets = [("sarif", Path(args.output))]
    if args.summary:
        targets.append(("markdown", Path(args.summary)))
    write_outputs(report, targets, workspace)
    print(f"{len(located)} finding(s) from {len(parsed)} report(s) written to {args.output}")
    return int(ExitCode.PASSED)
