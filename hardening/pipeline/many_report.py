"""One report, one verdict and one SARIF upload for several images."""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from hardening.errors import ExitCode
from hardening.gate import GateResult
from hardening.model import Notification, Report, RuleDoc, RunStatus, StageResult
from hardening.pipeline.finish import PipelineResult
from hardening.request import ScanRequest


def _part(request: ScanRequest, result: PipelineResult | str) -> tuple[Report, GateResult]:
    """An image's report and verdict; one that could not even start is incomplete."""
    if isinstance(result, PipelineResult):
        return result.report, result.gate
    reason = f"incomplete: {request.dockerfile_relpath} {result}"
    gate = GateResult(ExitCode.TOOL_FAILURE, False, reason)
    report = Report(
        findings=(), dockerfile=request.dockerfile_relpath, category=request.automation_category,
        stages=(StageResult("image", RunStatus.FAILED, result),),
        notifications=(Notification("error", "image", result),), verdict=gate.verdict(),
    )  # fmt: skip
    return report, gate


def _verdict(gates: Sequence[tuple[str, GateResult]]) -> GateResult:
    incomplete = [name for name, g in gates if g.exit_code is ExitCode.TOOL_FAILURE]
    failed = [name for name, g in gates if g.exit_code is ExitCode.GATE_FAILED]
    blocking = tuple(f for _, g in gates for f in g.blocking)
    total = len(gates)
    if incomplete:
        extra = f"; {len(failed)} failed the gate" if failed else ""
        return GateResult(ExitCode.TOOL_FAILURE, False,
                          f"incomplete: {len(incomplete)} of {total} image(s) could not be fully "
                          f"checked ({', '.join(incomplete)}){extra}", blocking)  # fmt: skip
    if failed:
        return GateResult(ExitCode.GATE_FAILED, False,
                          f"failed: {len(failed)} of {total} image(s) ({', '.join(failed)})", blocking)  # fmt: skip
    return GateResult(ExitCode.PASSED, True, f"passed: all {total} image(s)")


def combine(
    base: ScanRequest, requests: Sequence[ScanRequest], results: Sequence[PipelineResult | str]
) -> tuple[Report, GateResult]:
    parts, gates = [], []
    for request, result in zip(requests, results, strict=True):
        report, gate = _part(request, result)
        parts.append(report)
        gates.append(
            (request.dockerfile_relpath + (f" ({request.target})" if request.target else ""), gate)
        )
    gate = _verdict(gates)
    notes = tuple(
        replace(n, stage=f"{part.dockerfile}: {n.stage}")
        for part in parts
        for n in part.notifications
    )
    report = Report(
        findings=tuple(f for part in parts for f in part.findings),
        tool_runs=tuple(run for part in parts for run in part.tool_runs),
        notifications=notes,
        dockerfile=f"{len(parts)} images",
        context=str(base.workspace),
        category="docker-hardening/images/",
        verdict=gate.verdict(),
        scanners=tuple(dict.fromkeys(s for part in parts for s in part.scanners)),
        parts=tuple(parts),
    )
    return report, gate


def write_combined(base: ScanRequest, report: Report, docs: Mapping[str, RuleDoc]) -> list[Path]:
    """The SARIF file(s), the summary and the other outputs of several images."""
    from hardening.outputs import read_sources, write_outputs
    from hardening.report.formats import RenderInput
    from hardening.report.sarif import run_documents

    given = RenderInput(report, docs, read_sources(report.findings, base.workspace),
                        datetime.datetime.now(datetime.UTC))  # fmt: skip
    paths = []
    for index, document in enumerate(run_documents(given)):
        path = base.sarif_path if index == 0 else base.sarif_path.with_name(
            f"{base.sarif_path.stem}-{index + 1}{base.sarif_path.suffix}"
        )  # fmt: skip
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, separators=(",", ":")) + "\n", encoding="utf-8")
        path.chmod(0o644)
        paths.append(path)
    others = [(name, path) for name, path in base.outputs if name != "sarif"]
    write_outputs(report, others, docs, base.workspace)
    return paths
