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
from hardening.settings import Settings

Publisher = Callable[[Report, str], list[Notification]]
STAGE_ORDER = (
    "dockerfile", "engine", "build", "export", "scanners", "sbom", "hardening checks",
    "digest pins", "signatures", "runtime probes", "merge", "exploit data", "policy", "cancelled",
)  # fmt: skip
# Stages whose failure is reported but does not make the run incomplete: the SBOM is an
# extra output, not a check; the base recommendation is informational.
SOFT_STAGES = frozenset({"sbom", "base recommendation"})


@dataclass(frozen=True, slots=True)
class PipelineResult:
    report: Report
    gate: GateResult
    sarif_path: Path
    summary_path: Path
    sarif_files: tuple[Path, ...] = ()  # every SARIF file written (several images: one per 20)

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
    return request.settings.gate_policy()


def expected_scanners(request: ScanRequest) -> tuple[str, ...]:
    """What checklist item C15 expects: the default scanners, and any other asked for."""
    from hardening.scanners import registry

    return tuple(dict.fromkeys((*registry.default_names(), *request.scanners)))


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
    if ctx.comparison is not None and ctx.comparison.scope_new_only:
        counted = [f for f in findings if f.baseline_state != "unchanged"]
    gate = decide(counted, ctx.rec.tool_runs, gate_policy(request), incomplete_stages(ctx))
    if ctx.comparison is not None and ctx.comparison.scope_new_only:
        gate = replace(gate, reason=f"{gate.reason} (new findings only: {ctx.comparison.line})")
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
        scanners=expected_scanners(request),
        exploit_data=ctx.extras.get("exploit-data"),
        comparison=ctx.comparison,
        base_recommendation=ctx.extras.get("base-recommendation"),
        signatures=tuple(ctx.signature_checks),
        signatures_configured=bool(request.config.signatures) and request.verify_signatures,
    )
    return report, gate


def _repositories(given: tuple[str, ...], settings: Settings, name: str) -> str:
    return f"{','.join(given) or 'mirror.gcr.io, then ghcr.io'} ({settings.source(name)})"


def settings_in_force(request: ScanRequest) -> tuple[tuple[str, str], ...]:
    settings = request.settings
    return (
        *settings.in_force(),
        ("scanners", ",".join(request.scanners)),
        ("category", request.automation_category),
        *(
            (f"{name}", f"({source})")
            for name, source in settings.sources
            if name.startswith("trivy-")
        ),
        *((("new-only", f"true ({request.config.path})"),) if request.config.new_only else ()),
    )


def finish(ctx: ScanContext, publisher: Publisher | None) -> PipelineResult:
    """Write the SARIF file, the summary and every other output (always), then publish; the
    gate stands."""
    from hardening.outputs import write_outputs

    report, gate = build_report(ctx)
    request = ctx.request
    written = write_outputs(
        report, request.outputs, all_rule_docs(), request.workspace, ctx.started
    )
    markdown = written["markdown"].decode()
    if publisher is not None:
        for note in publisher(report, markdown):
            ctx.rec.notify(note.level, note.stage, note.message)
    ctx.rec.log(f"SARIF: {request.sarif_path}  summary: {request.summary_path}")
    ctx.rec.log(gate.reason)
    return PipelineResult(report, gate, request.sarif_path, request.summary_path)
