"""One pipeline, in stages, for the CLI and the action alike.

resolve inputs (request.py) -> build or take the image -> export it once -> run the scanners ->
run the hardening checks and probes -> merge into one list of findings -> write SARIF and the
Markdown summary -> report to GitHub -> decide pass/fail.

Failures are data: once the pipeline has started, a stage that fails is recorded (a stage
result and a notification) and every later stage that can still run does, so a complete SARIF
file and summary are always written. Only usage errors stop a run, and they are raised before
this module is entered.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hardening.errors import ExitCode, HardeningError
from hardening.gate import GatePolicy, GateResult, decide
from hardening.model import (
    Finding,
    ImageInfo,
    Notification,
    Report,
    RuleDoc,
    RunStatus,
    StageResult,
    Suppression,
    ToolRun,
)
from hardening.request import ScanRequest

Log = Callable[[str], None]


def stderr_log(message: str) -> None:
    print(f"[docker-hardening] {message}", file=sys.stderr, flush=True)


@dataclass
class Recorder:
    """Collects what each stage did, so a failure never loses what came before it."""

    log: Log = stderr_log
    stages: list[StageResult] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    tool_runs: list[ToolRun] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def notify(self, level: str, stage: str, message: str) -> None:
        with self.lock:
            self.notifications.append(Notification(level, stage, message))
            self.log(f"{level}: {stage}: {message}")

    @contextlib.contextmanager
    def stage(self, name: str, tool: str = "") -> Iterator[dict[str, str]]:
        """Run a stage; an exception becomes a failed stage (and tool run) and a notification.

        The body may set ``info["status"]`` to "skipped"/"not-implemented" and ``info["detail"]``.
        """
        info: dict[str, str] = {}
        started = time.monotonic()
        self.log(f"{name}...")
        try:
            yield info
        except HardeningError as exc:
            elapsed = time.monotonic() - started
            self.stages.append(StageResult(name, RunStatus.FAILED, exc.one_line(), elapsed))
            self.notify("error", name, exc.one_line())
            if tool:
                self.tool_runs.append(ToolRun(tool, RunStatus.FAILED, reason=exc.one_line()))
            return
        except Exception as exc:  # a bug in one stage must not lose the others' results
            elapsed = time.monotonic() - started
            message = f"internal error: {type(exc).__name__}: {exc}"
            self.stages.append(StageResult(name, RunStatus.FAILED, message, elapsed))
            self.notify("error", name, message)
            if tool:
                self.tool_runs.append(ToolRun(tool, RunStatus.FAILED, reason=message))
            return
        status = RunStatus(info.get("status", RunStatus.OK.value))
        self.stages.append(
            StageResult(name, status, info.get("detail", ""), time.monotonic() - started)
        )


@dataclass(frozen=True, slots=True)
class PipelineResult:
    report: Report
    gate: GateResult
    sarif_path: Path
    summary_path: Path

    @property
    def exit_code(self) -> ExitCode:
        return self.gate.exit_code


Publisher = Callable[[Report, str], list[Notification]]
STAGE_ORDER = (
    "engine", "build", "export", "scanners", "sbom", "hardening checks", "digest pins",
    "runtime probes", "merge", "policy",
)  # fmt: skip


def all_rule_docs() -> dict[str, RuleDoc]:
    from hardening.probes import probe_docs
    from hardening.rules.registry import all_docs, register_doc
    from hardening.supply.pins import STALE

    register_doc(STALE)
    docs = {doc.id: doc for doc in all_docs()}
    docs.update({doc.id: doc for doc in probe_docs()})
    return docs


def gate_policy(request: ScanRequest) -> GatePolicy:
    return GatePolicy(
        fail_on=request.fail_on,
        kinds=request.fail_on_kinds,
        per_kind=request.config.thresholds,
        on_tool_failure=request.on_tool_failure,
    )


def apply_ignore_unfixed(findings: list[Finding], request: ScanRequest) -> list[Finding]:
    if not request.ignore_unfixed:
        return findings
    return [
        f.with_suppression(
            Suppression(
                "external", f"no fixed version is available ({f.fix_label}; ignore-unfixed)"
            )
        )
        if f.unfixed and not f.suppressed
        else f
        for f in findings
    ]


def run_scan(
    request: ScanRequest, *, publisher: Publisher | None = None, log: Log = stderr_log
) -> PipelineResult:
    rec = Recorder(log=log)
    run_id = uuid.uuid4().hex[:12]
    image: ImageInfo | None = None
    client: Any = None
    built_tag = ""
    with tempfile.TemporaryDirectory(prefix="docker-hardening-") as tmp:
        workdir = Path(tmp)
        archive: Path | None = None

        needs_engine = not request.image_archive or request.probes
        with rec.stage("engine") as info:
            if needs_engine:
                from hardening.adapters import docker_engine

                client = docker_engine.connect()
            else:
                info["status"] = RunStatus.SKIPPED.value

        with rec.stage("build", tool="docker build") as info:
            if request.image or request.image_archive:
                info["status"] = RunStatus.SKIPPED.value
                info["detail"] = "an existing image was given"
            elif client is None:
                raise HardeningError("no engine to build with")
            else:
                from hardening.adapters import docker_engine

                built_tag = f"docker-hardening.local/scan:{run_id}"
                outcome = docker_engine.build(request, built_tag, client)
                for warning in outcome.warnings:
                    rec.notify("warning", "build", warning)
                rec.tool_runs.append(
                    ToolRun(
                        "docker build",
                        RunStatus.OK,
                        version=outcome.mode,
                        duration_s=outcome.duration_s,
                    )
                )
                info["detail"] = f"built with {outcome.mode} in {outcome.duration_s:.1f}s"

        with rec.stage("export") as info:
            from hardening.adapters import docker_engine

            reference = built_tag or request.image
            if request.image_archive:
                archive = request.image_archive
                image = docker_engine.image_info(reference, archive, None)
                if client is not None and request.probes:
                    reference = docker_engine.load_archive(client, archive)
                    image = replace(image, reference=reference, image_id=reference)
                info["detail"] = f"read {archive.name}"
            elif reference and client is not None:
                archive = docker_engine.export_image(client, reference, workdir / "image.tar")
                image = docker_engine.image_info(reference, archive, client, built=bool(built_tag))
                if built_tag:
                    image = replace(image, reference=image.image_id or built_tag)
                info["detail"] = f"{archive.stat().st_size // 1024} KiB archive"
            else:
                info["status"] = RunStatus.SKIPPED.value
                info["detail"] = "no image"

        # After the one export, the scanners, the SBOM, the hardening checks (and the digest
        # lookups) and the runtime probes read the image independently: run them side by side.
        scanner_findings: list[Finding] = []
        check_findings: list[Finding] = []
        probe_findings: list[Finding] = []

        def scan_image() -> None:
            with rec.stage("scanners") as info:
                if archive is None:
                    info["status"] = RunStatus.SKIPPED.value
                    info["detail"] = "no image to scan"
                    for name in request.scanners:
                        rec.tool_runs.append(
                            ToolRun(name, RunStatus.FAILED, reason="no image to scan")
                        )
                else:
                    from hardening.scanners.runner import run_scanners

                    for scanned in run_scanners(request, archive, workdir):
                        rec.tool_runs.append(scanned.run)
                        scanner_findings.extend(scanned.findings)
                        for note in scanned.notifications:
                            rec.notify(note.level, note.stage, note.message)

        def describe_image() -> None:
            with rec.stage("sbom") as info:
                if request.sbom_format == "none":
                    info["status"] = RunStatus.SKIPPED.value
                    info["detail"] = "SBOM is off"
                elif archive is None:
                    info["status"] = RunStatus.SKIPPED.value
                    info["detail"] = "no image"
                else:
                    from hardening.supply.sbom import generate_sbom

                    suffix = ".cdx.json" if request.sbom_format == "cyclonedx" else ".spdx.json"
                    target = request.sbom_path or request.sarif_path.with_name(
                        request.sarif_path.name.removesuffix(".sarif") + suffix
                    )
                    target.parent.mkdir(parents=True, exist_ok=True)
                    sbom = generate_sbom(archive, target, request.sbom_format)
                    rec.extras["sbom"] = sbom.to_json()
                    if sbom.error:
                        info["status"] = RunStatus.FAILED.value
                        info["detail"] = sbom.error
                        rec.notify("warning", "sbom", sbom.error)
                    else:
                        kinds = ", ".join(f"{n} {t}" for t, n in sbom.by_type.items())
                        info["detail"] = f"{sbom.packages} packages ({kinds}) by {sbom.tool}"

        def check_image() -> None:
            with rec.stage("hardening checks") as info:
                from hardening.rules import LintInputs, lint

                facts = None
                if image is not None:
                    from hardening.targets.image import read_image_facts

                    facts = read_image_facts(image, archive)
                outcome_lint = lint(
                    LintInputs(
                        workspace=request.workspace,
                        dockerfile=request.dockerfile,
                        context=request.context,
                        compose_file=request.compose_file,
                        target=request.target,
                        image=facts,
                        min_uid=request.min_uid,
                        minimal_bases=request.config.minimal_bases,
                    )
                )
                check_findings.extend(outcome_lint.findings)
                rec.extras["checklist"] = dict(outcome_lint.checked)
                for note in outcome_lint.notifications:
                    rec.notify(note.level, note.stage, note.message)

            with rec.stage("digest pins") as info:
                if (
                    not request.resolve_pins
                    or request.dockerfile is None
                    or not request.dockerfile.is_file()
                ):
                    info["status"] = RunStatus.SKIPPED.value
                    info["detail"] = "off" if not request.resolve_pins else "no Dockerfile"
                else:
                    from hardening.supply.pins import apply_pins, resolve_pins
                    from hardening.targets.dockerfile import parse_dockerfile

                    pin_model = parse_dockerfile(
                        request.dockerfile.read_text(errors="replace"),
                        request.dockerfile_relpath,
                        request.target,
                    )
                    pins = resolve_pins(pin_model)
                    check_findings[:] = apply_pins(check_findings, pins, request.dockerfile_relpath)
                    resolved = sum(1 for p in pins if p.replacement or p.current)
                    info["detail"] = f"{resolved} of {len(pins)} base image(s) resolved"
                    for pin in pins:
                        if pin.note:
                            rec.notify("note", "digest pins", f"line {pin.line}: {pin.note}")

        def run_image() -> None:
            with rec.stage("runtime probes") as info:
                if not request.probes:
                    info["status"] = RunStatus.SKIPPED.value
                    info["detail"] = "probes are off"
                elif image is None or client is None:
                    info["status"] = RunStatus.SKIPPED.value
                    info["detail"] = "no image to run"
                else:
                    from hardening.probes import ProbeOptions, judge, probe_image

                    options = ProbeOptions(
                        grace_s=request.trial_grace_s,
                        min_uid=request.min_uid,
                        allowed_capabilities=request.config.allowed_capabilities,
                    )
                    result = probe_image(client, image.reference, options)
                    rec.extras["probe"] = result.to_json()
                    probe_findings.extend(judge(result, options, None))

        tasks = (scan_image, describe_image, check_image, run_image)
        with ThreadPoolExecutor(max_workers=len(tasks), thread_name_prefix="stage") as pool:
            for future in [pool.submit(task) for task in tasks]:
                future.result()
        rec.findings.extend([*scanner_findings, *check_findings, *probe_findings])

        with rec.stage("merge") as info:
            from hardening.scanners.merge import merge_findings

            merged = merge_findings(rec.findings)
            from hardening.report.locate import locate_image_findings
            from hardening.targets.dockerfile import parse_dockerfile

            model = None
            if request.dockerfile is not None and request.dockerfile.is_file():
                model = parse_dockerfile(
                    request.dockerfile.read_text(errors="replace"),
                    request.dockerfile_relpath,
                    request.target,
                )
            merged = locate_image_findings(merged, image, model)
            rec.findings = apply_ignore_unfixed(list(merged), request)
            info["detail"] = f"{len(rec.findings)} finding(s)"

        with rec.stage("policy") as info:
            from hardening.policy import apply_policy

            image_ref = request.image or (image.reference if image else "")
            rec.findings, notes, extras = apply_policy(
                rec.findings, request.config, request.workspace, image_ref
            )
            rec.extras.update(extras)
            for note in notes:
                rec.notify(note.level, note.stage, note.message)
            suppressed = sum(1 for f in rec.findings if f.suppressed)
            info["detail"] = f"{suppressed} suppressed" + (
                f"; policy file {request.config.path}"
                if request.config.path
                else "; no policy file"
            )

        if client is not None and built_tag and not request.keep_image:
            from hardening.adapters import docker_engine

            docker_engine.remove_image(client, built_tag)

    counted = rec.findings
    if request.config.new_only and "baseline" in rec.extras:
        from hardening.policy.baseline import new_only

        counted = new_only(rec.findings)
    gate = decide(counted, rec.tool_runs, gate_policy(request))
    rec.extras["gate"] = {"passed": gate.passed, "reason": gate.reason}
    order = {name: i for i, name in enumerate(STAGE_ORDER)}
    report = Report(
        findings=tuple(rec.findings),
        tool_runs=tuple(rec.tool_runs),
        stages=tuple(sorted(rec.stages, key=lambda s: order.get(s.name, len(order)))),
        notifications=tuple(rec.notifications),
        image=image,
        dockerfile=request.dockerfile_relpath,
        context=str(request.context or ""),
        category=request.automation_category,
        settings=settings_in_force(request),
        extras=rec.extras,
    )
    return finish(report, gate, request, publisher, rec)


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
        settings.append(
            (
                f"threshold.{kind.value}",
                f"{level.value if level else 'none'} ({request.config.path})",
            )
        )
    if request.config.new_only:
        settings.append(("new-only", f"true ({request.config.path})"))
    return tuple(settings)


def finish(
    report: Report,
    gate: GateResult,
    request: ScanRequest,
    publisher: Publisher | None,
    rec: Recorder,
) -> PipelineResult:
    """Write the SARIF file and the summary (always), then publish; the gate stands."""
    from hardening.report.markdown import render_report
    from hardening.report.sarif import write_sarif

    docs = all_rule_docs()
    request.sarif_path.parent.mkdir(parents=True, exist_ok=True)
    write_sarif(report, request.sarif_path, docs, request.workspace)
    if request.gitlab_report is not None:
        from hardening.report.gitlab import write_gitlab_report

        request.gitlab_report.parent.mkdir(parents=True, exist_ok=True)
        write_gitlab_report(report, request.gitlab_report)
    markdown = render_report(report, limit=900_000)
    request.summary_path.parent.mkdir(parents=True, exist_ok=True)
    request.summary_path.write_text(markdown, encoding="utf-8")
    if publisher is not None:
        for note in publisher(report, markdown):
            rec.notify(note.level, note.stage, note.message)
    rec.log(f"SARIF: {request.sarif_path}  summary: {request.summary_path}")
    rec.log(gate.reason)
    return PipelineResult(report, gate, request.sarif_path, request.summary_path)
