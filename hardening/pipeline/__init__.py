"""One pipeline, in stages, for the CLI and the action alike.

resolve inputs (request.py) -> read the Dockerfile once -> engine -> build -> export once ->
scanners, SBOM, checks and pins, probes side by side -> merge -> policy -> gate -> SARIF and
summary (always) -> publish. With a base commit to compare with, its own build and scan run
in a thread beside all of this from the Dockerfile on (pipeline/base.py), and the ``base
comparison`` stage after the policy waits for it.

Failures are data: once the pipeline has started, a stage that fails is recorded (a failed
stage, a notification, and an incomplete verdict: exit 3) and every later stage that can
still run does, so a complete SARIF file and summary are always written. On SIGTERM or SIGINT
the run stops its child processes, removes the containers and the temporary tag it made and
its temporary folder, and writes a complete SARIF file and summary saying it was cancelled.
Only usage errors stop a run, and they are raised before this package is entered.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from hardening import processes
from hardening.pipeline import stages
from hardening.pipeline.base import BeforeScan, compare_stage, start_base, stop_base
from hardening.pipeline.cancel import Cancelled, cancellable
from hardening.pipeline.context import ScanContext, read_dockerfile, redactor_for
from hardening.pipeline.finish import (
    PipelineResult,
    Publisher,
    all_rule_docs,
    finish,
    gate_policy,
    settings_in_force,
)
from hardening.pipeline.image import hand_over
from hardening.pipeline.recommend import recommend_stage
from hardening.pipeline.recorder import Log, Recorder, StageInfo, stderr_log
from hardening.request import ScanRequest

__all__ = [
    "PipelineResult",
    "Publisher",
    "all_rule_docs",
    "apply_ignore_unfixed",
    "gate_policy",
    "run_scan",
    "settings_in_force",
    "stderr_log",
]

# (stage name, function in stages): run side by side after the one export.
SIDE_BY_SIDE = (("scanners", "scanners"), ("sbom", "sbom"), ("runtime probes", "probes"))


def apply_ignore_unfixed(findings: list, request: ScanRequest) -> list:  # type: ignore[type-arg]
    """ignore-unfixed on a list of findings (kept for callers outside the pipeline)."""
    ctx = ScanContext(request=request, rec=Recorder())
    return stages.apply_ignore_unfixed(findings, ctx)


def run_scan(
    request: ScanRequest,
    *,
    publisher: Publisher | None = None,
    log: Log = stderr_log,
    run_id: str = "",
) -> PipelineResult:
    """One image's scan. ``run_id`` is given when the scan is one of several in one run
    (which then owns the run id of the child processes and the signals)."""
    ctx = ScanContext(request=request, rec=Recorder(log_sink=log, redact=redactor_for(request)))
    if run_id:
        ctx.run_id = run_id
    else:
        processes.set_run(ctx.run_id)
    ctx.rec.log(f"run {ctx.run_id}")
    with cancellable() if not run_id else contextlib.nullcontext():
        try:
            _stages(ctx)
        except Cancelled as cancelled:
            ctx.cancelled = cancelled.signal_name
            processes.cancel()
            ctx.rec.notify("error", "cancelled", f"the run was cancelled ({ctx.cancelled})")
        finally:
            stop_base(ctx)  # nothing to do unless the run ends before the base's work did
            stages.remove_temporary(ctx)
        result = finish(ctx, publisher)
        if ctx.cancelled:  # what a stage or the engine may still have been finishing
            shutil.rmtree(ctx.workdir, ignore_errors=True)
            stop_base(ctx, wait_s=0)
            stages.remove_temporary(ctx)
        return result


def _stages(ctx: ScanContext, head: bool = True, before_scan: BeforeScan | None = None) -> None:
    """The scan's stages; for the base commit (``head`` False) without the policy and the
    comparison, which the head's run applies to the base's findings itself. The base's work
    starts once the head's Dockerfile is read and runs beside the head's stages; its scanners
    start after ``before_scan`` (which waits for the head's)."""
    rec = ctx.rec
    prefix = stages.workdir_prefix(ctx.run_id)
    with tempfile.TemporaryDirectory(prefix=prefix, ignore_cleanup_errors=True) as tmp:
        ctx.workdir = Path(tmp)
        rec.run("dockerfile", lambda info: read_dockerfile(ctx))
        if head and ctx.request.compare_with:
            start_base(ctx, _base_stages)
        rec.run("engine", lambda info: stages.engine(ctx, info))
        rec.run("build", lambda info: stages.build(ctx, info), tool="docker build")
        rec.run("export", lambda info: stages.export(ctx, info))
        _side_by_side(ctx, before_scan)
        rec.run("merge", lambda info: stages.merge(ctx, info))
        if not head:
            return
        rec.run("exploit data", lambda info: stages.exploit_data(ctx, info))
        rec.run("policy", lambda info: stages.policy(ctx, info))
        if ctx.request.compare_with or ctx.request.config.baseline_sarif:
            rec.run("base comparison", lambda info: compare_stage(ctx, info, _base_stages))
        if ctx.request.settings.recommend_base:  # opt-in; informational, never the verdict
            rec.run("base recommendation", lambda info: recommend_stage(ctx, info))


def _base_stages(base: ScanContext, before_scan: BeforeScan) -> None:
    try:
        _stages(base, head=False, before_scan=before_scan)
    finally:
        stages.remove_temporary(base)


def _checks_then_pins(ctx: ScanContext) -> None:
    ctx.rec.run("hardening checks", lambda info: stages.checks(ctx, info))
    ctx.rec.run("digest pins", lambda info: stages.pins(ctx, info))
    ctx.rec.run("signatures", lambda info: stages.signatures(ctx, info))


def _one(ctx: ScanContext, name: str, function: str, before_scan: BeforeScan | None) -> None:
    body: Callable[[ScanContext, StageInfo], None] = getattr(stages, function)
    try:
        if function == "scanners" and before_scan is not None:
            before_scan(ctx)  # the base's scanners after the head's: one cache, one database
        ctx.rec.run(name, lambda info: body(ctx, info))
    finally:
        if function == "scanners":  # the SBOM waits for their package list, whatever happened
            hand_over(ctx.package_list, None)
            if ctx.base_job is not None:  # the base's scanners may start now
                ctx.base_job.head_scanned.set()


def _side_by_side(ctx: ScanContext, before_scan: BeforeScan | None = None) -> None:
    """After the one export, the scanners, the SBOM, the checks and the probes read the image
    independently. A cancellation does not wait for them: their children are stopped and
    their containers removed, so they end on their own."""
    pool = ThreadPoolExecutor(max_workers=len(SIDE_BY_SIDE) + 1, thread_name_prefix="stage")
    try:
        futures = [pool.submit(_one, ctx, name, body, before_scan) for name, body in SIDE_BY_SIDE]
        futures.append(pool.submit(_checks_then_pins, ctx))
        for future in futures:
            future.result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
