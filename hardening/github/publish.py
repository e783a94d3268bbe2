"""The PR comment and the check run, through PyGithub against GitHub's REST API.

Reporting never decides the gate: anything GitHub refuses (a read-only token on a fork pull
request, a missing permission, a rejected body, a rate limit, an outage after retries) and
anything unusable in the run's own description (the event file, GITHUB_API_URL) becomes one
warning line with the reason and the fix, and the scan's own verdict stands. All waiting for
GitHub in one run is bounded by ``PublishOptions.max_wait_s`` (see ``bounded``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hardening.github.bounded import (
    DEFAULT_MAX_WAIT_S,
    BoundedRetry,
    Budget,
    GaveUp,
    is_rate_limited,
    run_bounded,
)
from hardening.github.context import GitHubContext, url_problem
from hardening.github.sticky import blocking_marker, newly_blocking, pointer_body
from hardening.model import Finding, Notification, Report, sort_key
from hardening.report.markdown import CHECK_RUN_LIMIT, COMMENT_LIMIT, render_report

CHECK_NAME = "docker-hardening"
ANNOTATION_BATCH = 50
MAX_ANNOTATIONS = 1000
STANDS = "the report is in the job summary and the SARIF file; the verdict stands"


@dataclass(frozen=True, slots=True)
class PublishOptions:
    comment: bool = True
    check_run: bool = False
    retries: int = 3
    backoff_s: float = 1.0
    secondary_rate_wait_s: float = 60.0
    timeout_s: int = 30
    max_wait_s: float = DEFAULT_MAX_WAIT_S  # all waiting for GitHub in one run, in seconds


def marker(category: str) -> str:
    return f"<!-- docker-hardening:report category={category} -->"


def client(ctx: GitHubContext, options: PublishOptions, budget: Budget) -> Any:
    from github import Auth, Github

    retry = BoundedRetry(
        budget=budget,
        total=options.retries,
        backoff_factor=options.backoff_s,
        secondary_rate_wait=options.secondary_rate_wait_s,
    )
    timeout = max(1, min(options.timeout_s, int(options.max_wait_s) + 1))
    return Github(
        auth=Auth.Token(ctx.token), base_url=ctx.api_url, retry=retry, timeout=timeout,
        per_page=100, seconds_between_requests=None, seconds_between_writes=None, lazy=True,
    )  # fmt: skip


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _reason(exc: Exception, ctx: GitHubContext) -> tuple[str, int | None, bool]:
    """What went wrong in words, the HTTP status when there was one, and whether it was a
    rate limit."""
    import requests
    from github import GithubException, RateLimitExceededException

    if isinstance(exc, GaveUp):
        return str(exc), exc.status, exc.rate_limited
    if isinstance(exc, GithubException):
        message = str(exc.data.get("message", "")) if isinstance(exc.data, dict) else ""
        limited = isinstance(exc, RateLimitExceededException) or is_rate_limited(
            exc.status, exc.headers or {}
        )
        return _one_line(f"{exc.status} {message}".strip()), exc.status, limited
    if isinstance(exc, requests.Timeout):
        return f"{ctx.api_url} did not answer in time", None, False
    if isinstance(exc, requests.ConnectionError):
        return f"{ctx.api_url} could not be reached", None, False
    return _one_line(f"{type(exc).__name__}: {exc}"), None, False


def _explain(what: str, exc: Exception, ctx: GitHubContext, permission: str) -> Notification:
    reason, status, limited = _reason(exc, ctx)
    if limited:
        fix = STANDS if "rate limit" in reason else f"GitHub's rate limit; {STANDS}"
    elif isinstance(exc, GaveUp) and status is None:
        fix = STANDS
    elif status in (401, 403):
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
        fix = f"GitHub had an outage; {STANDS}"
    else:
        fix = f"GitHub could not be reached; {STANDS}"
    return Notification("warning", "report", f"could not {what}: {reason} ({fix})")


def _status(exc: Exception) -> int | None:
    return getattr(exc, "status", None)


def _sticky_comments(issue: Any, tag: str) -> list[Any]:
    return [c for c in issue.get_comments() if tag in (c.body or "")]


def post_comment(gh: Any, ctx: GitHubContext, report: Report) -> str:
    """Create or update the one comment for this image; returns what was done.

    The oldest comment carrying the marker is updated and any later one (two runs that raced)
    is deleted; a comment deleted since it was listed is created again. When findings fail the
    gate that the last comment did not list, the report is posted anew instead (``sticky``)."""
    assert ctx.pr_number is not None
    tag = marker(report.category)
    body = render_report(report, limit=COMMENT_LIMIT, marker=f"{tag}\n{blocking_marker(report)}")
    issue = gh.get_repo(ctx.repository).get_issue(ctx.pr_number)
    comments = _sticky_comments(issue, tag)
    newly = newly_blocking(report, comments[0].body or "") if comments else 0
    if newly:  # worse than the last report: a new comment notifies the subscribers
        return _post_anew(issue, comments, body, report.category, newly)
    kept, gone, removed, left = None, 0, 0, []
    for comment in comments:
        try:
            if kept is None:
                comment.edit(body)
                kept = comment
            else:
                comment.delete()
                removed += 1
        except Exception as exc:
            if _status(exc) != 404:
                if kept is None:
                    raise
                left.append(str(_status(exc) or type(exc).__name__))
            elif kept is None:
                gone += 1  # deleted since it was listed
    if kept is None:
        issue.create_comment(body)
        return "created" + (" again (the earlier one was deleted meanwhile)" if gone else "")
    done = "updated"
    if removed:
        done += f", {removed} duplicate(s) deleted"
    if left:
        done += f"; {len(left)} duplicate(s) could not be deleted ({', '.join(left)})"
    return done


def _post_anew(issue: Any, comments: list[Any], body: str, category: str, newly: int) -> str:
    """Post the report as a new comment, then turn the last one into a one-line pointer to it
    (``sticky``); any other copy is deleted, so exactly one full report remains."""
    new = issue.create_comment(body)
    pointer = pointer_body(category, str(getattr(new, "html_url", "") or ""), newly)
    left = []
    for index, old in enumerate(comments):
        try:
            if index == 0:
                old.edit(pointer)
            else:
                old.delete()
        except Exception as exc:
            if _status(exc) == 404:
                continue  # deleted meanwhile
            try:
                old.delete()  # never two full reports
            except Exception as again:
                if _status(again) != 404:
                    left.append(str(_status(again) or type(again).__name__))
    done = (
        f"posted anew: {newly} finding(s) fail the gate that the last report did not list; "
        "the last report now points to it"
    )
    if left:
        done += f"; {len(left)} earlier report(s) could not be replaced ({', '.join(left)})"
    return done


def _annotation(finding: Finding) -> dict[str, str | int]:
    level = finding.severity.annotation_level
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
    passed = bool(report.verdict and report.verdict.passed)
    text = render_report(report, limit=CHECK_RUN_LIMIT)
    scoped = report.comparison is not None and report.comparison.scope_new_only
    items = check_annotations(
        [f for f in report.findings if not scoped or f.baseline_state != "unchanged"]
    )
    title = (
        "passed" if passed else "failed"
    ) + f": {len([f for f in report.findings if not f.suppressed])} finding(s)"
    summary = (report.verdict.reason if report.verdict else title)[:CHECK_RUN_LIMIT]
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


def _preflight(ctx: GitHubContext, options: PublishOptions) -> tuple[list[Notification], bool]:
    """Warnings about the run's own description, and whether GitHub can be called at all."""
    said = list(ctx.problems)
    if said and options.comment and ctx.pr_number is None:
        said[-1] += ": no PR comment posted"
    notes = [Notification("warning", "report", problem) for problem in said]
    if not (options.comment or options.check_run):
        return notes, False
    if not ctx.token:
        notes.append(
            Notification(
                "warning",
                "report",
                "no github-token: nothing posted to GitHub (the job summary has the report)",
            )
        )
        return notes, False
    problem = url_problem("GITHUB_API_URL", ctx.api_url)
    if problem:
        notes.append(Notification("warning", "report", f"{problem}: nothing posted to GitHub"))
        return notes, False
    return notes, True


def _comment_step(gh: Any, ctx: GitHubContext, report: Report) -> Notification | None:
    if ctx.pr_number is None:
        if ctx.problems:
            return None  # already said, with the reason, before anything was sent
        return Notification("note", "report", "not a pull request: no PR comment posted")
    try:
        return Notification("note", "report", f"PR comment {post_comment(gh, ctx, report)}")
    except Exception as exc:  # reporting must never change the verdict
        return _explain("post the pull-request comment", exc, ctx, "pull-requests: write")


def _check_run_step(gh: Any, ctx: GitHubContext, report: Report) -> Notification:
    if not ctx.sha:
        return Notification("warning", "report", "no commit sha known: no check run created")
    try:
        count = create_check_run(gh, ctx, report)
        return Notification("note", "report", f"check run created with {count} annotation(s)")
    except Exception as exc:
        return _explain("create the check run", exc, ctx, "checks: write")


def publish(
    report: Report,
    ctx: GitHubContext,
    options: PublishOptions,
    make_client: Callable[[GitHubContext, PublishOptions, Budget], Any] = client,
) -> list[Notification]:
    """Post the comment and the check run; never raises, never waits longer than
    ``options.max_wait_s`` in all."""
    notes, go = _preflight(ctx, options)
    if not go:
        return notes
    budget = Budget(options.max_wait_s)

    def work(done: list[Notification]) -> None:
        gh = make_client(ctx, options, budget)
        if options.comment and (note := _comment_step(gh, ctx, report)) is not None:
            done.append(note)
        if options.check_run:
            done.append(_check_run_step(gh, ctx, report))

    def fail(exc: Exception) -> str:
        return _explain("report to GitHub", exc, ctx, "pull-requests: write").message

    return notes + run_bounded(work, budget, fail)
