"""The PR comment and the check run, through PyGithub against GitHub's REST API.

Reporting never decides the gate: anything GitHub refuses (a read-only token on a fork pull
request, a missing permission, a rejected body, an outage after retries) becomes a warning
with the reason and the fix, and the scan's own verdict stands.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hardening.github.context import GitHubContext
from hardening.model import Finding, Notification, Report, Severity, sort_key
from hardening.report.markdown import CHECK_RUN_LIMIT, COMMENT_LIMIT, render_report

CHECK_NAME = "docker-hardening"
ANNOTATION_BATCH = 50
MAX_ANNOTATIONS = 1000


@dataclass(frozen=True, slots=True)
class PublishOptions:
    comment: bool = True
    check_run: bool = False
    retries: int = 3
    backoff_s: float = 1.0
    secondary_rate_wait_s: float = 60.0
    timeout_s: int = 30


def marker(category: str) -> str:
    return f"<!-- docker-hardening:report category={category} -->"


def client(ctx: GitHubContext, options: PublishOptions) -> Any:
    from github import Auth, Github, GithubRetry

    retry = GithubRetry(
        total=options.retries,
        backoff_factor=options.backoff_s,
        secondary_rate_wait=options.secondary_rate_wait_s,
    )
    return Github(
        auth=Auth.Token(ctx.token), base_url=ctx.api_url, retry=retry, timeout=options.timeout_s,
        per_page=100, seconds_between_requests=None, seconds_between_writes=None, lazy=True,
    )  # fmt: skip


def _explain(what: str, exc: Exception, ctx: GitHubContext, permission: str) -> Notification:
    from github import GithubException

    status = getattr(exc, "status", None)
    message = ""
    if isinstance(exc, GithubException) and isinstance(exc.data, dict):
        message = str(exc.data.get("message", ""))
    reason = f"{status} {message}".strip() if status else f"{type(exc).__name__}: {exc}"
    if status in (401, 403):
        fix = (
            f"the token cannot write ({'a pull request from a fork gets a read-only token; ' if ctx.is_fork else ''}"
            f"grant `{permission}` in the job's permissions, or post results from a separate "
            "workflow_run workflow; see the README)"
        )
    elif status == 404:
        fix = "check the repository and pull request, and that the token can see them"
    elif status == 422:
        fix = (
            "GitHub rejected the content; the full report is in the job summary and the SARIF file"
        )
    elif status is not None and status >= 500:
        fix = "GitHub had an outage; the report is in the job summary and the SARIF file"
    else:
        fix = "GitHub could not be reached; the report is in the job summary and the SARIF file"
    return Notification("warning", "report", f"could not {what}: {reason} ({fix})")


def post_comment(gh: Any, ctx: GitHubContext, report: Report) -> str:
    """Create or update the one comment for this image; returns what was done."""
    assert ctx.pr_number is not None
    tag = marker(report.category)
    body = render_report(report, limit=COMMENT_LIMIT, marker=tag)
    issue = gh.get_repo(ctx.repository).get_issue(ctx.pr_number)
    for comment in issue.get_comments():
        if tag in (comment.body or ""):
            comment.edit(body)
            return "updated"
    issue.create_comment(body)
    return "created"


def _annotation(finding: Finding) -> dict[str, str | int]:
    level = (
        "failure"
        if finding.severity >= Severity.HIGH
        else ("warning" if finding.severity is Severity.MEDIUM else "notice")
    )
    title = (
        f"{finding.rule_id}: {finding.title}"
        if finding.title != finding.rule_id
        else finding.rule_id
    )
    return {
        "path": finding.location.path,
        "start_line": finding.location.line,
        "end_line": max(finding.location.end_line, finding.location.line),
        "annotation_level": level,
        "title": title[:255],
        "message": (
            finding.message + (f"\n{finding.fix}" if finding.property("replacement") else "")
        )[:4000]
        or title,
    }


def check_annotations(findings: Sequence[Finding]) -> list[dict[str, str | int]]:
    located = [
        f
        for f in sorted(findings, key=sort_key)
        if not f.suppressed and f.location.path and f.location.line
    ]
    return [_annotation(f) for f in located[:MAX_ANNOTATIONS]]


def create_check_run(gh: Any, ctx: GitHubContext, report: Report) -> int:
    gate = report.extras.get("gate") or {}
    passed = bool(gate.get("passed"))
    text = render_report(report, limit=CHECK_RUN_LIMIT)
    items = check_annotations(report.findings)
    title = (
        "passed" if passed else "failed"
    ) + f": {len([f for f in report.findings if not f.suppressed])} finding(s)"
    summary = str(gate.get("reason", title))[:CHECK_RUN_LIMIT]
    repo = gh.get_repo(ctx.repository)
    run = repo.create_check_run(
        name=f"{CHECK_NAME} ({report.category.strip('/').removeprefix('docker-hardening/')})"[:100],
        head_sha=ctx.sha,
        status="completed",
        conclusion="success" if passed else "failure",
        output={
            "title": title,
            "summary": summary,
            "text": text,
            "annotations": items[:ANNOTATION_BATCH],
        },
    )
    for start in range(ANNOTATION_BATCH, len(items), ANNOTATION_BATCH):
        run.edit(
            output={
                "title": title,
                "summary": summary,
                "annotations": items[start : start + ANNOTATION_BATCH],
            }
        )
    return len(items)


def publish(
    report: Report,
    ctx: GitHubContext,
    options: PublishOptions,
    make_client: Callable[[GitHubContext, PublishOptions], Any] = client,
) -> list[Notification]:
    notes: list[Notification] = []
    if not ctx.token:
        if options.comment or options.check_run:
            notes.append(
                Notification(
                    "warning",
                    "report",
                    "no github-token: nothing posted to GitHub (the job summary has the report)",
                )
            )
        return notes
    gh = make_client(ctx, options)
    if options.comment:
        if ctx.pr_number is None:
            notes.append(Notification("note", "report", "not a pull request: no PR comment posted"))
        else:
            try:
                done = post_comment(gh, ctx, report)
                notes.append(Notification("note", "report", f"PR comment {done}"))
            except Exception as exc:  # reporting must never change the verdict
                notes.append(
                    _explain("post the pull-request comment", exc, ctx, "pull-requests: write")
                )
    if options.check_run:
        if not ctx.sha:
            notes.append(
                Notification("warning", "report", "no commit sha known: no check run created")
            )
        else:
            try:
                count = create_check_run(gh, ctx, report)
                notes.append(
                    Notification("note", "report", f"check run created with {count} annotation(s)")
                )
            except Exception as exc:
                notes.append(_explain("create the check run", exc, ctx, "checks: write"))
    return notes
