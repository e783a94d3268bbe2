"""The pull request's base commit, built and scanned in the same run, for the comparison.

The base is checked out as a detached git worktree in the run's own temporary folder, built
with the same build settings (the engine's build cache makes the shared layers cheap), scanned
with the same scanners and database files, and checked with the same rules; its findings get
the head's policy (ignores, VEX), so a suppression never looks like a fix. Whatever goes wrong
(no such commit in the checkout, no Dockerfile there, a build or scan that fails) is said in
one sentence, and every finding of the head then counts as new.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from hardening.model import Finding, RunStatus
from hardening.pipeline.context import ScanContext
from hardening.pipeline.recorder import Recorder, StageInfo
from hardening.request import ScanRequest, relpath

RunStages = Callable[[ScanContext], None]
FETCH_FIX = (
    "check out enough history for the base commit: actions/checkout with fetch-depth: 0 "
    "(or 2, for a pull request's merge commit and its first parent)"
)


@dataclass
class BaseRun:
    """What the base gave: its findings and its Dockerfile's lines, or why there are none."""

    label: str  # "base commit 1a2b3c4"
    findings: list[Finding]
    lines: dict[str, dict[int, str]]
    problem: str = ""


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


def scan_base(ctx: ScanContext, sha: str, run_stages: RunStages) -> BaseRun:
    """Build and scan the base commit; ``run_stages(base_ctx)`` runs the scan's own stages."""
    from hardening.compare import instruction_lines

    label = f"base commit {sha[:12]}"
    request = ctx.request
    with tempfile.TemporaryDirectory(prefix=f"docker-hardening-{ctx.run_id}-base-") as tmp:
        try:
            worktree = add_worktree(request.workspace, sha, Path(tmp))
        except (OSError, subprocess.SubprocessError) as exc:
            return BaseRun(label, [], {}, f"the base commit could not be checked out ({exc})")
        ctx.cleanups.append(lambda: remove_worktree(request.workspace, worktree))
        try:
            base_req, why = base_request(request, worktree)
            if base_req is None:
                return BaseRun(label, [], {}, why)
            base = ScanContext(
                request=base_req, rec=Recorder(log_sink=lambda m: ctx.rec.log(f"base: {m}"),
                                               redact=ctx.rec.redact),
                run_id=ctx.run_id, client=ctx.client, tag_suffix="-base",
            )  # fmt: skip
            run_stages(base)
            lines = {}
            if base.dockerfile is not None:
                lines[base.dockerfile.path] = instruction_lines(base.dockerfile)
            return BaseRun(label, base.findings, lines, _problem(base))
        finally:
            remove_worktree(request.workspace, worktree)


def compare_stage(ctx: ScanContext, info: StageInfo, run_stages: RunStages) -> None:
    """Classify the head's findings against the base commit's (or a baseline SARIF file)."""
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
    sha, why = resolve(request.workspace, request.compare_with)
    run = (
        scan_base(ctx, sha, run_stages) if sha else BaseRun(request.compare_with[:12], [], {}, why)
    )
    problem = run.problem if sha else f"{why} ({FETCH_FIX})"
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
    info.detail = ctx.comparison.line if not problem else f"not compared: {problem}"
