"""PyGithub for real, against a local server that checks every request against GitHub's
published API description."""

from __future__ import annotations

from hardening.github.publish import PublishOptions, marker, publish
from hardening.model import Finding, GateVerdict, Kind, Location, Package, Report, Severity
from tests.support.fake_github import FakeGitHub, pull_request_context

CATEGORY = "docker-hardening/app/Dockerfile/"


def _report(n: int = 3, passed: bool = False) -> Report:
    findings = tuple(
        Finding(
            rule_id=f"CVE-2024-{1000 + i}",
            kind=Kind.VULNERABILITY,
            severity=[Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW][i % 4],
            title=f"vuln {i}",
            message=f"vulnerability {i} in pkg{i}",
            cvss_score=7.0,
            package=Package(f"pkg{i}", "1.0", "1.1", "deb"),
            location=Location(path="app/Dockerfile", line=3 + i % 5),
            tools=("trivy", "grype"),
        )  # fmt: skip
        for i in range(n)
    )
    return Report(
        findings=findings, category=CATEGORY, dockerfile="app/Dockerfile",
        verdict=GateVerdict(passed, "failed: 2 finding(s) at or above high"),
    )  # fmt: skip


FAST = PublishOptions(
    comment=True, check_run=False, retries=2, backoff_s=0.01, secondary_rate_wait_s=0.1
)


def test_comment_created_once_then_updated_in_place(github: FakeGitHub) -> None:
    notes = publish(_report(), pull_request_context(github), FAST)
    assert [n.message for n in notes] == ["PR comment created"]
    notes = publish(_report(5), pull_request_context(github), FAST)
    assert [n.message for n in notes] == ["PR comment updated"]
    comments = github.issue_comments(7)
    assert len(comments) == 1
    assert marker(CATEGORY) in comments[0]["body"]
    assert "CVE-2024-1004" in comments[0]["body"]
    assert not github.violations, github.violations


def test_marker_found_across_pages_of_comments(github: FakeGitHub) -> None:
    github.seed_comments(7, [f"unrelated comment {i}" for i in range(250)])
    github.seed_comments(7, [marker(CATEGORY) + "\nold report"])
    github.seed_comments(7, ["another after it"])
    publish(_report(), pull_request_context(github), FAST)
    ours = [c for c in github.issue_comments(7) if marker(CATEGORY) in c["body"]]
    assert len(ours) == 1 and "old report" not in ours[0]["body"]
    pages = [
        r.query.get("page", "1")
        for r in github.requests
        if r.method == "GET" and r.path.endswith("/comments")
    ]
    assert pages == ["1", "2", "3"]
    assert not github.violations, github.violations


def test_other_images_comments_are_left_alone(github: FakeGitHub) -> None:
    github.seed_comments(7, [marker("docker-hardening/other/Dockerfile/") + "\nother image"])
    publish(_report(), pull_request_context(github), FAST)
    assert len(github.issue_comments(7)) == 2


def test_fork_token_403_is_a_warning_with_the_fix(github: FakeGitHub) -> None:
    github.read_only = True
    notes = publish(_report(), pull_request_context(github, fork=True), FAST)
    assert len(notes) == 1 and notes[0].level == "warning"
    text = notes[0].message
    assert (
        "403" in text
        and "fork" in text
        and "pull-requests: write" in text
        and "workflow_run" in text
    )
    assert "ghs_test" not in text


def test_secondary_rate_limit_is_honoured_then_succeeds(github: FakeGitHub) -> None:
    github.failures[("POST", r"/repos/octo/app/issues/7/comments")] = [429]
    notes = publish(_report(), pull_request_context(github), FAST)
    assert [n.message for n in notes] == ["PR comment created"]
    posts = [r for r in github.requests if r.method == "POST"]
    assert len(posts) == 2


def test_bad_gateway_once_then_success(github: FakeGitHub) -> None:
    github.failures[("GET", r"/repos/octo/app/issues/7/comments")] = [502]
    notes = publish(_report(), pull_request_context(github), FAST)
    assert [n.message for n in notes] == ["PR comment created"]


def test_server_errors_after_retries_become_a_warning(github: FakeGitHub) -> None:
    github.failures[("GET", r"/repos/octo/app/issues/7/comments")] = [502, 502, 502, 502, 502]
    notes = publish(_report(), pull_request_context(github), FAST)
    assert notes[0].level == "warning" and "could not post" in notes[0].message


def test_check_run_with_annotations_in_batches_of_50(github: FakeGitHub) -> None:
    options = PublishOptions(comment=False, check_run=True, retries=1, backoff_s=0.01)
    notes = publish(_report(120), pull_request_context(github), options)
    assert notes[0].message == "check run created with 120 annotation(s)"
    run = next(iter(github.check_runs.values()))
    assert run["head_sha"] == "a" * 40 and run["conclusion"] == "failure"
    assert len(run["all_annotations"]) == 120
    batches = [r for r in github.requests if "check-runs" in r.path]
    assert [len(r.body["output"]["annotations"]) for r in batches] == [50, 50, 20]
    levels = {a["annotation_level"] for a in run["all_annotations"]}
    assert levels == {"failure", "warning", "notice"}
    assert not github.violations, github.violations


def test_not_a_pull_request_posts_no_comment(github: FakeGitHub) -> None:
    notes = publish(_report(), pull_request_context(github, pr=None), FAST)
    assert notes[0].message.startswith("not a pull request")
    assert not github.requests


def test_the_fake_rejects_what_githubs_description_does_not_have(github: FakeGitHub) -> None:
    import requests

    missing_body = requests.post(
        f"{github.url}/repos/octo/app/issues/7/comments", json={}, timeout=5
    )
    unknown_path = requests.get(f"{github.url}/repos/octo/app/secret-endpoint", timeout=5)
    bad_conclusion = requests.post(
        f"{github.url}/repos/octo/app/check-runs",
        json={"name": "x", "head_sha": "a" * 40, "conclusion": "great"},
        timeout=5,
    )
    assert missing_body.status_code == unknown_path.status_code == bad_conclusion.status_code == 404
    assert len(github.violations) == 3


def test_oversized_comment_is_refused_like_github_does(github: FakeGitHub) -> None:
    import requests

    response = requests.post(
        f"{github.url}/repos/octo/app/issues/7/comments", json={"body": "x" * 70_000}, timeout=5
    )
    assert response.status_code == 422
