"""Reporting to GitHub is bounded: rate limits that ask for an hour, a GitHub that never
answers, and retries that run out end quickly, in one warning line each."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from hardening.github.publish import PublishOptions, publish
from hardening.model import Finding, GateVerdict, Kind, Location, Notification, Report, Severity
from tests.support.fake_github import FakeGitHub, pull_request_context

CATEGORY = "docker-hardening/app/Dockerfile/"
COMMENTS = r"/repos/octo/app/issues/7/comments"
QUICK = 15.0  # seconds a bounded publish may take in these tests, slow machines included


def _report() -> Report:
    finding = Finding(
        rule_id="CVE-2024-1000", kind=Kind.VULNERABILITY, severity=Severity.HIGH, title="vuln",
        message="vulnerability in pkg", location=Location(path="app/Dockerfile", line=3),
    )  # fmt: skip
    return Report(findings=(finding,), category=CATEGORY, verdict=GateVerdict(False, "failed"))


def within(seconds: float, work: Callable[[], list[Notification]]) -> list[Notification]:
    """Run ``work`` in a thread and fail the test if it has not ended after ``seconds``."""
    result: list[list[Notification]] = []
    worker = threading.Thread(target=lambda: result.append(work()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"publishing still waiting for GitHub after {seconds} s"
    return result[0]


@pytest.mark.parametrize(
    ("status", "retry_after", "reset_in_s"),
    [
        (403, "3600", 3600),  # primary limit with Retry-After and a reset an hour ahead
        (429, "3600", 3600),
        (403, None, 3600),  # primary limit: only X-RateLimit-Reset says how long
        (403, "3600", None),  # secondary limit
    ],
)
def test_a_rate_limit_of_an_hour_is_not_waited_for(
    github: FakeGitHub, status: int, retry_after: str | None, reset_in_s: int | None
) -> None:
    github.rate_limit(
        "GET", COMMENTS, status=status, retry_after=retry_after, reset_in_s=reset_in_s
    )
    options = PublishOptions(comment=True, check_run=True, retries=2, backoff_s=0.01)
    started = time.monotonic()
    notes = within(QUICK, lambda: publish(_report(), pull_request_context(github), options))
    assert time.monotonic() - started < 5
    comment = notes[0]
    assert comment.level == "warning" and "rate limit" in comment.message
    assert "could not post the pull-request comment" in comment.message
    assert "Traceback" not in comment.message and "\n" not in comment.message
    assert notes[1].message == "check run created with 1 annotation(s)"  # the next call still ran
    assert not github.violations, github.violations


def test_a_short_rate_limit_within_the_cap_is_waited_for(github: FakeGitHub) -> None:
    github.rate_limit("POST", COMMENTS, status=403, retry_after="1", count=1)
    notes = publish(
        _report(), pull_request_context(github), PublishOptions(retries=2, max_wait_s=10)
    )
    assert [n.message for n in notes] == ["PR comment created"]


def test_waits_of_all_calls_together_are_capped(github: FakeGitHub) -> None:
    github.rate_limit("GET", COMMENTS, status=429, retry_after="2", count=1)
    github.rate_limit("POST", r"/repos/octo/app/check-runs", status=429, retry_after="2", count=1)
    options = PublishOptions(comment=True, check_run=True, retries=2, max_wait_s=3)
    started = time.monotonic()
    notes = within(QUICK, lambda: publish(_report(), pull_request_context(github), options))
    assert time.monotonic() - started < 3.5
    assert notes[0].message == "PR comment created"  # waited 2 s of the 3
    assert notes[1].level == "warning" and "rate limit" in notes[1].message
    assert "cap on waiting for GitHub" in notes[1].message


def test_a_github_that_never_answers_is_left_behind_at_the_cap(github: FakeGitHub) -> None:
    github.stall_s = 600
    options = PublishOptions(comment=True, check_run=True, timeout_s=600, max_wait_s=1.5)
    started = time.monotonic()
    notes = within(QUICK, lambda: publish(_report(), pull_request_context(github), options))
    assert time.monotonic() - started < 4
    assert notes and all(n.level == "warning" for n in notes)
    assert "within the 1.5 s cap on waiting for GitHub" in notes[-1].message


def test_repeated_5xx_is_one_clear_line(github: FakeGitHub) -> None:
    github.failures[("GET", COMMENTS)] = [502] * 10
    options = PublishOptions(retries=2, backoff_s=0.01)
    [note] = publish(_report(), pull_request_context(github), options)
    assert note.level == "warning"
    assert note.message.startswith(
        "could not post the pull-request comment: GitHub answered 502 three times"
    ), note.message
    assert "RetryError" not in note.message and "Max retries" not in note.message
    assert "\n" not in note.message
