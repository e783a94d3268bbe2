"""The pull request's base commit, built and scanned in the same run, for the comparison.

The base's work starts in a thread of its own as soon as the head's Dockerfile is read, and
runs beside the head's stages: the commit resolved, checked out as a detached git worktree in
the run's own temporary folder, built beside the head's build with the same build settings
(the engine's build cache makes the shared layers cheap, and BuildKit builds a step both
builds need once), checked with the same rules and tried at run time beside the head's scan,
and scanned with the same scanners as soon as the head's scanners are done: one at a time on
a database cache, so both share Trivy's layer cache and read the same database files (where
they share the cache and the head's Trivy ran, the base's does not update the database
again). The ``base comparison`` stage only waits for it, applies the head's policy (ignores,
VEX) to the base's findings, so a suppression never looks like a fix, and classifies.
Whatever goes wrong (no such commit in the checkout, no Dockerfile there, a build or scan
that fails) is said in one sentence, and every finding of the head then counts as new; the
head's own findings never depend on it.

The base's containers and image carry their own label value (the run id and ``-base``), so
neither side's cleanup removes what the other is still using. On a cancellation its children
are stopped with the head's; the run waits a few seconds for its thread to unwind and then
removes whatever it may have left (its worktree, folders, tag and containers).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path

from hardening.model import Finding, RunStatus
from hardening.pipeline.context import ScanContext
from hardening.pipeline.recorder import Log, Recorder, StageInfo
from hardening.request import ScanRequest, relpath

# Called by the base's scanners stage before it scans (it waits for the head's scanners).
BeforeScan = Callable[[ScanContext], None]
# The scan's own stages, run on the base's context.
RunStages = Callable[[ScanContext, BeforeScan], None]
FETCH_FIX = (
    "check out enough history for the base commit: actions/checkout with fetch-depth: 0 "
    "(or 2, for a pull request's merge commit and its first parent)"
)
NO_DB_UPDATE = "could not update its vulnerability database"  # Trivy's warning, in part
STOP_WAIT_S = 3.0  # how long a cancelled run gives the base's thread to unwind on its own


@dataclass
class BaseRun:
    """What the base gave: its findings and its Dockerfile's lines, or why there are none."""

    label: str  # "base commit 1a2b3c4"
    findings: list[Finding]
    lines: dict[str, dict[int, str]]
    problem: str = ""


@dataclass
class BaseJob:
    """The base's work in its own thread: its result once done, and what it made on the way
    (so a cancelled run can remove it even when the thread has not unwound)."""

    result: Future[BaseRun] = field(default_factory=Future)
    # Set once the head's scanners are done; the base's start only then, so the two never
    # contend for a scanner's cache folder or database update and both read the same database
    # files (the base's build, checks and runtime trial need not wait).
    head_scanned: threading.Event = field(default_factory=threading.Event)
    reads_head_db: bool = False  # its Trivy reads the database the head's just fetched or checked
    started: float = field(default_factory=time.monotonic)
    duration_s: float = 0.0
    folders: list[Path] = field(default_factory=list)
    worktree: Path | None = None
    context: ScanContext | None = None
    thread: threading.Thread | None = None


def _git(workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(workspace), *args], capture_output=True, text=True, timeout=120
    )


def resolve(workspace: Path, ref: str) -> tuple[str, str]:
    """(commit sha, "") for ``ref``, falling back to the first parent of HEAD (a pull
    request's merge commit); ("", why) when neither is in the checkout."""
    for candidate in (ref, "HEAD^1"):
        if not candidate:
            continue
        found = _git(workspace, "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}")
        if found.returncode == 0 and found.stdout.strip():
            return found.stdout.strip(), ""
    return "", f"the base commit {ref[:12] or '(none given)'} is not in the checkout"


def add_worktree(workspace: Path, sha: str, folder: Path) -> Path:
    target = folder / "base"
    added = _git(workspace, "worktree", "add", "--detach", "--force", str(target), sha)
    if added.returncode != 0:
        raise OSError(added.stderr.strip()[:300] or "git worktree add failed")
    return target


def remove_worktree(workspace: Path, target: Path) -> None:
    _git(workspace, "worktree", "remove", "--force", str(target))
    _git(workspace, "worktree", "prune")


def base_request(request: ScanRequest, worktree: Path) -> tuple[ScanRequest | None, str]:
    """The head's request, pointed at the base's files; or why the base has nothing to build."""

    def moved(path: Path | None) -> Path | None:
        return None if path is None else worktree / relpath(path, request.workspace)

    dockerfile, context = moved(request.dockerfile), moved(request.context)
    if dockerfile is None or not dockerfile.is_file():
        return (
            None,
            f"{request.dockerfile_relpath or 'the Dockerfile'} does not exist at the base commit (added by this change)",
        )
    if context is None or not context.is_dir():
        return None, "the build context does not exist at the base commit"
    compose = moved(request.compose_file)
    return (
        replace(
            request,
            workspace=worktree,
            context=context,
            dockerfile=dockerfile,
            compose_file=compose if compose is not None and compose.is_file() else None,
            image="",
            image_archive=None,
            tags=(),
            sbom_format="none",
            resolve_pins=False,
            extra_outputs=(),
            keep_image=False,
            compare_with="",
            verify_signatures=False,
        ),  # fmt: skip
        "",
    )


def _problem(base: ScanContext) -> str:
    """Why the base's findings cannot be trusted, from what its stages recorded."""
    for stage in base.rec.stages:
        if stage.status is RunStatus.FAILED:
            return f"its {stage.name} stage failed: {stage.detail}"
    for run in base.rec.tool_runs:
        if run.status is RunStatus.FAILED:
            return f"{run.name} failed on it: {run.reason}"
    return ""


def scan_base(ctx: ScanContext, sha: str, run_stages: RunStages, job: BaseJob) -> BaseRun:
    """Build and scan the base commit; ``run_stages`` runs the scan's own stages."""
    from hardening.compare import instruction_lines

    label = f"base commit {sha[:12]}"
    request = ctx.request
    with tempfile.TemporaryDirectory(prefix=f"docker-hardening-{ctx.run_id}-base-") as tmp:
        job.folders.append(Path(tmp))
        try:
            worktree = job.worktree = add_worktree(request.workspace, sha, Path(tmp))
        except (OSError, subprocess.SubprocessError) as exc:
            return BaseRun(label, [], {}, f"the base commit could not be checked out ({exc})")
        try:
            base_req, why = base_request(request, worktree)
            if base_req is None:
                return BaseRun(label, [], {}, why)
            base = ScanContext(
                request=base_req, rec=Recorder(log_sink=_log_sink(ctx, job), redact=ctx.rec.redact),
                run_id=ctx.run_id, tag_suffix="-base",
            )  # fmt: skip
            job.context = base
            run_stages(base, lambda own: _after_head_scanners(ctx, job, own))
            lines = {}
            if base.dockerfile is not None:
                lines[base.dockerfile.path] = instruction_lines(base.dockerfile)
            return BaseRun(label, base.findings, lines, _problem(base))
        finally:
            remove_worktree(request.workspace, worktree)
            job.worktree = None


def _after_head_scanners(head: ScanContext, job: BaseJob, base: ScanContext) -> None:
    """Before the base's scanners: wait for the head's (one cache folder, one database update
    at a time). Where both share a database cache and the head's Trivy ran there, the base
    reads the database that run fetched or checked moments before: its own update is given no
    time, so Trivy uses the cached database as it is, and both read the same database files."""
    job.head_scanned.wait()
    trivy_ran = any(r.name == "trivy" and r.status is RunStatus.OK for r in head.rec.tool_runs)
    if head.request.db_cache_dir is not None and trivy_ran:
        base.request = replace(base.request, db_timeout_s=0.0)
        job.reads_head_db = True
        base.rec.log("scanners: Trivy reads the database the head's Trivy fetched or checked")


def _log_sink(head: ScanContext, job: BaseJob) -> Log:
    """The base's log lines in the run's log, marked as the base's; Trivy's warning that it did
    not update its database is left out where that was meant (said once instead)."""

    def log(message: str) -> None:
        if not (job.reads_head_db and NO_DB_UPDATE in message):
            head.rec.log(f"base: {message}")

    return log


def _base_run(ctx: ScanContext, run_stages: RunStages, job: BaseJob) -> BaseRun:
    request = ctx.request
    sha, why = resolve(request.workspace, request.compare_with)
    if not sha:
        return BaseRun(request.compare_with[:12], [], {}, f"{why} ({FETCH_FIX})")
    return scan_base(ctx, sha, run_stages, job)


def start_base(ctx: ScanContext, run_stages: RunStages) -> BaseJob:
    """Start the base's work (resolve, check out, build, scan, merge) in its own thread."""
    job = BaseJob()

    def work() -> None:
        try:
            run = _base_run(ctx, run_stages, job)
        except BaseException as exc:  # the comparison stage says it; the head's run goes on
            job.duration_s = time.monotonic() - job.started
            job.result.set_exception(exc)
        else:
            job.duration_s = time.monotonic() - job.started
            job.result.set_result(run)

    job.thread = threading.Thread(target=work, name="base-commit", daemon=True)
    ctx.base_job = job
    job.thread.start()
    return job


def stop_base(ctx: ScanContext, wait_s: float = STOP_WAIT_S) -> None:
    """When the run ends before the base's work did (a cancellation: its children are already
    stopped), wait up to ``wait_s`` for its thread to unwind, then remove what it may have left:
    its folders and worktree, and on the engine its tag, containers and cut-short images."""
    job = ctx.base_job
    if job is None or (job.result.done() and not ctx.cancelled):
        return  # its own cleanup ran before its result was set
    job.head_scanned.set()  # it must not wait for a head that will not scan
    if job.thread is not None:
        job.thread.join(wait_s)
    if not job.result.done():
        for folder in job.folders:
            shutil.rmtree(folder, ignore_errors=True)
        if (base := job.context) is not None and base.workdir.is_absolute():
            shutil.rmtree(base.workdir, ignore_errors=True)
        if (worktree := job.worktree) is not None:
            remove_worktree(ctx.request.workspace, worktree)
    base = job.context
    client = ctx.client or (base.client if base is not None else None)
    if base is None or client is None:
        return
    from hardening.adapters import docker_engine

    docker_engine.remove_image(client, base.temp_tag)
    docker_engine.remove_labelled_containers(client, base.labels)
    docker_engine.remove_dangling_images(client, base.labels)


def compare_stage(ctx: ScanContext, info: StageInfo, run_stages: RunStages) -> None:
    """Classify the head's findings against the base commit's (or a baseline SARIF file): wait
    for the base's work, started beside the head's, then apply the policy and compare."""
    from hardening.compare import classify, counts, instruction_lines, mark_all_new
    from hardening.model import Comparison
    from hardening.policy import apply_policy

    request = ctx.request
    scope_new = request.settings.fail_on_scope == "new"
    if request.config.baseline_sarif and not request.compare_with:
        new, unchanged, by_severity = counts(ctx.findings)
        gone = dict(ctx.extras.get("baseline") or {}).get("fixed", 0)
        ctx.comparison = Comparison(
            f"baseline file {request.config.baseline_sarif}", True, "", new, unchanged,
            scope_new_only=scope_new, new_by_severity=tuple(by_severity.items()), fixed_count=gone,
        )  # fmt: skip
        return
    job = ctx.base_job
    if job is None:  # not started beside the head's stages: start it now and wait
        job = start_base(ctx, run_stages)
        job.head_scanned.set()
    run = job.result.result()
    problem = run.problem
    if problem:
        ctx.findings = mark_all_new(ctx.findings)
        fixed: list[Finding] = []
        ctx.rec.notify(
            "warning",
            "base comparison",
            f"not compared with {run.label}: {problem}; every finding counts as new",
        )
    else:
        base_findings, _, _ = apply_policy(run.findings, request.config, request.workspace, "")
        lines = {ctx.dockerfile.path: instruction_lines(ctx.dockerfile)} if ctx.dockerfile else {}
        ctx.findings, fixed = classify(ctx.findings, base_findings, lines, run.lines)
    new, unchanged, by_severity = counts(ctx.findings)
    ctx.comparison = Comparison(
        run.label, not problem, problem, new, unchanged, tuple(fixed), scope_new,
        tuple(by_severity.items()),
    )  # fmt: skip
    beside = f"; the base's own work took {job.duration_s:.1f}s beside the head's"
    info.detail = (ctx.comparison.line if not problem else f"not compared: {problem}") + beside
