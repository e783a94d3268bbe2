"""The end of every run: the verdict, then the SARIF file and the summary (always), then
publishing (which never changes the verdict)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from hardening.errors import ExitCode
from hardening.gate import GatePolicy, GateResult, decide
from hardening.model import (
    Finding,
    Notification,
    Report,
    RuleDoc,
    RunStatus,
    StageResult,
)
from hardening.pipeline.context import ScanContext
from hardening.pipeline.facts import runtime_facts, sbom_facts
from hardening.request import ScanRequest

Publisher = Callable[[Report, str], list[Notification]]
STAGE_ORDER = (
    "dockerfile", "engine", "build", "export", "scanners", "sbom", "hardening checks",
    "digest pins", "runtime probes", "merge", "policy", "cancelled",
)  # fmt: skip
# Stages whose failure is reported but does not make the run incomplete: the SBOM is an
# extra output, not a check.
SOFT_STAGES = frozenset({"sbom"})


@dataclass(frozen=True, slots=True)
class PipelineResult:
    report: Report
    gate: GateResult
    sarif_path: Path
    summary_path: Path

    @property
    def exit_code(self) -> ExitCode:
        return self.gate.exit_code

    @property
    def cancelled(self) -> bool:
        return any(s.name == "cancelled" for s in self.report.stages)


def all_rule_docs() -> dict[str, RuleDoc]:
    from hardening.rules.registry import docs_by_id

    return docs_by_id()


def gate_policy(request: ScanRequest) -> GatePolicy:
    return GatePolicy(
        fail_on=request.fail_on,
        kinds=request.fail_on_kinds,
        per_kind=request.config.thresholds,
        on_tool_failure=request.on_tool_failure,
    )


def incomplete_stages(ctx: ScanContext) -> list[str]:
    """Stages that failed and are not already named by a failed tool (the build is)."""
    failed_tools = {r.name for r in ctx.rec.tool_runs if r.status is RunStatus.FAILED}
    names = []
    for stage in ctx.rec.stages:
        if stage.status is not RunStatus.FAILED or stage.name in SOFT_STAGES:
            continue
        if stage.name == "build" and "docker build" in failed_tools:
            continue
        names.append(f"the {stage.name} stage")
    if ctx.cancelled:
        names.append(f"the run (cancelled by {ctx.cancelled})")
    return names


def _findings(ctx: ScanContext) -> list[Finding]:
    if ctx.findings or not ctx.cancelled:
        return ctx.findings
    # Cancelled before the merge: what the stages had found so far, unmerged.
    return [*list(ctx.scanner_findings), *list(ctx.check_findings), *list(ctx.probe_findings)]


def _redacted(findings: list[Finding], ctx: ScanContext) -> list[Finding]:
    redact = ctx.rec.redact
    if not redact:
        return findings
    return [
        replace(f, message=redact(f.message), title=redact(f.title))
        if redact(f.message) != f.message or redact(f.title) != f.title
        else f
        for f in findings
    ]


def build_report(ctx: ScanContext) -> tuple[Report, GateResult]:
    request = ctx.request
    findings = _redacted(_findings(ctx), ctx)
    counted = findings
    if request.config.new_only and "baseline" in ctx.extras:
        from hardening.policy.baseline import new_only

        counted = new_only(findings)
    gate = decide(counted, ctx.rec.tool_runs, gate_policy(request), incomplete_stages(ctx))
    order = {name: i for i, name in enumerate(STAGE_ORDER)}
    stages = list(ctx.rec.stages)
    if ctx.cancelled:
        stages.append(StageResult("cancelled", RunStatus.FAILED, f"cancelled ({ctx.cancelled})"))
    report = Report(
        findings=tuple(findings),
        tool_runs=tuple(ctx.rec.tool_runs),
        stages=tuple(sorted(stages, key=lambda s: order.get(s.name, len(order)))),
        notifications=tuple(ctx.rec.notifications),
        image=ctx.image,
        dockerfile=request.dockerfile_relpath,
        context=str(request.context or ""),
        category=request.automation_category,
        settings=settings_in_force(request),
        verdict=gate.verdict(),
        runtime=runtime_facts(ctx.extras.get("probe")),
        sbom=sbom_facts(ctx.extras.get("sbom")),
        checklist=tuple(sorted((ctx.extras.get("checklist") or {}).items())),
        details=tuple(ctx.rec.details),
        baseline=tuple(sorted((ctx.extras.get("baseline") or {}).items())),
    )
    return report, gate


def settings_in_force(request: ScanRequest) -> tuple[tuple[str, str], ...]:
    source = dict(request.settings_source)

    def said(name: str, value: str) -> tuple[str, str]:
        return name, f"{value} ({source[name]})" if name in source else value

    settings = [
        said("fail-on", request.fail_on.value if request.fail_on else "none"),
        said("fail-on-kinds", ",".join(sorted(k.value for k in request.fail_on_kinds))),
        said("ignore-unfixed", str(request.ignore_unfixed).lower()),
        said("on-tool-failure", request.on_tool_failure),
        said("probes", str(request.probes).lower()),
        ("scanners", ",".join(request.scanners)),
        ("category", request.automation_category),
    ]
    for kind, level in request.config.thresholds:
        value = level.value if level else "none"
        settings.append((f"threshold.{kind.value}", f"{value} ({request.config.path})"))
    if request.config.new_only:
        settings.append(("new-only", f"true ({request.config.path})"))
    return tuple(settings)


def finish(ctx: ScanContext, publisher: Publisher | None) -> PipelineResult:
    """Write the SARIF file and the summary (always), then publish; the gate stands."""
    from hardening.report.markdown import render_report
    from hardening.report.sarif import write_sarif

    report, gate = build_report(ctx)
    request = ctx.request
    request.sarif_path.parent.mkdir(parents=True, exist_ok=True)
    write_sarif(report, request.sarif_path, all_rule_docs(), request.workspace)
    if request.gitlab_report is not None:
        from hardening.report.gitlab import write_gitlab_report

        request.gitlab_report.parent.mkdir(parents=True, exist_ok=True)
        write_gitlab_report(report, request.gitlab_report)
    markdown = render_report(report, limit=900_000)
    request.summary_path.parent.mkdir(parents=True, exist_ok=True)
    request.summary_path.write_text(markdown, encoding="utf-8")
    if publisher is not None:
        for note in publisher(report, markdown):
            ctx.rec.notify(note.level, note.stage, note.message)
    ctx.rec.log(f"SARIF: {request.sarif_path}  summary: {request.summary_path}")
    ctx.rec.log(gate.reason)
    return PipelineResult(report, gate, request.sarif_path, request.summary_path)
