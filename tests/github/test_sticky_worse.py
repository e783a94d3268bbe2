"""The sticky comment is edited in place when the results are the same or better, and posted
anew when they are worse (findings fail the gate that the last comment did not list), with
the last one replaced by a one-line pointer: never two full reports. Against the fake GitHub,
which checks every request against GitHub's published API description."""

from __future__ import annotations

from hardening.gate import GatePolicy, decide
from hardening.github.publish import PublishOptions, marker, publish
from hardening.github.sticky import blocking_marker, newly_blocking, read_blocking
from hardening.model import Finding, GateVerdict, Kev, Kind, Location, Package, Report, Severity
from tests.support.fake_github import FakeGitHub, pull_request_context

CATEGORY = "docker-hardening/app/Dockerfile/"
FAST = PublishOptions(retries=2, backoff_s=0.01, secondary_rate_wait_s=0.1, max_wait_s=20)
POLICY = GatePolicy(fail_on=Severity.HIGH, fail_on_kev=True)


def _vuln(cve: str, severity: Severity, kev: bool = False) -> Finding:
    return Finding(
        cve, Kind.VULNERABILITY, severity, cve, f"{cve} in pkg", package=Package("pkg", "1.0", "1.1"),
        location=Location(path="app/Dockerfile", line=1), tools=("trivy",),
        kev=Kev("2023-11-02", "2023-11-23", "Known", "CISA KEV catalog") if kev else None,
    )  # fmt: skip


def _report(*findings: Finding) -> Report:
    return Report(
        findings=findings, category=CATEGORY, dockerfile="app/Dockerfile",
        verdict=decide(findings, (), POLICY).verdict(),
    )  # fmt: skip


def _reports(fake: FakeGitHub) -> list[dict[str, object]]:
    return [c for c in fake.issue_comments(7) if marker(CATEGORY) in str(c["body"])]


def _methods(fake: FakeGitHub) -> list[str]:
    return [r.method for r in fake.requests if r.method != "GET"]


OLD_HIGH = _vuln("CVE-2024-1000", Severity.HIGH)
LOW = _vuln("CVE-2024-1001", Severity.LOW)
LOW_BUT_KEV = _vuln("CVE-2024-1002", Severity.LOW, kev=True)


def test_same_or_better_edits_in_place_worse_posts_anew(github: FakeGitHub) -> None:
    ctx = pull_request_context(github)
    assert [n.message for n in publish(_report(OLD_HIGH, LOW), ctx, FAST)] == ["PR comment created"]
    assert [n.message for n in publish(_report(OLD_HIGH, LOW), ctx, FAST)] == ["PR comment updated"]
    [first] = _reports(github)

    [note] = publish(_report(OLD_HIGH, LOW, LOW_BUT_KEV), ctx, FAST)  # a new KEV finding blocks
    assert note.message.startswith("PR comment posted anew: 1 finding(s) fail the gate")
    [current] = _reports(github)  # one full report, the new one
    assert current["id"] != first["id"] and "CVE-2024-1002" in str(current["body"])
    pointer = github.comments[int(str(first["id"]))]
    assert str(pointer["body"]).count("\n") == 1  # the marker line and one line of text
    assert str(current["html_url"]) in str(pointer["body"])
    assert "docker-hardening:replaced" in str(pointer["body"])

    [note] = publish(_report(LOW_BUT_KEV), ctx, FAST)  # better: nothing new blocks
    assert note.message == "PR comment updated"
    [after] = _reports(github)
    assert after["id"] == current["id"] and "CVE-2024-1000" not in str(after["body"])
    assert _methods(github) == ["POST", "PATCH", "POST", "PATCH", "PATCH"]
    assert not github.violations, github.violations


def test_a_comment_from_before_the_marker_is_edited_in_place(github: FakeGitHub) -> None:
    github.seed_comments(7, [marker(CATEGORY) + "\nan older report without the blocking list"])
    [note] = publish(_report(OLD_HIGH, LOW_BUT_KEV), pull_request_context(github), FAST)
    assert note.message == "PR comment updated"
    assert _methods(github) == ["PATCH"]


def test_when_the_pointer_cannot_be_written_the_old_report_is_deleted(github: FakeGitHub) -> None:
    ctx = pull_request_context(github)
    publish(_report(OLD_HIGH), ctx, FAST)
    [old] = _reports(github)
    github.failures[("PATCH", rf"/repos/octo/app/issues/comments/{old['id']}")] = [500] * 10
    [note] = publish(_report(OLD_HIGH, LOW_BUT_KEV), ctx, FAST)
    assert note.message.startswith("PR comment posted anew")
    assert len(github.issue_comments(7)) == 1 and len(_reports(github)) == 1
    assert int(str(old["id"])) not in github.comments


def test_the_hidden_list_and_what_counts_as_worse() -> None:
    report = _report(OLD_HIGH, LOW_BUT_KEV)
    body = f"{marker(CATEGORY)}\n{blocking_marker(report)}\nthe report"
    listed = read_blocking(body)
    assert listed is not None and listed[1] == 2 and len(listed[0]) == 2
    assert newly_blocking(report, body) == 0
    assert newly_blocking(_report(OLD_HIGH), body) == 0
    worse = _report(OLD_HIGH, LOW_BUT_KEV, _vuln("CVE-2024-1003", Severity.CRITICAL))
    assert newly_blocking(worse, body) == 1
    passed = Report(findings=(), category=CATEGORY, verdict=GateVerdict(True, "passed"))
    assert blocking_marker(passed) == "<!-- docker-hardening:blocking total=0 -->"
    assert newly_blocking(worse, blocking_marker(passed)) == 3
