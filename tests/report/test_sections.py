"""The comment as a to-do list: what to do first, vulnerabilities and hardening findings in
their own tables, the scorecard collapsed when it passes; rendered as GitHub renders it."""

from __future__ import annotations

import cmarkgfm

from hardening.model import (
    Epss,
    Finding,
    GateVerdict,
    Kind,
    Location,
    Package,
    Report,
    Severity,
)
from hardening.report.markdown import COMMENT_LIMIT, render_report
from hardening.report.sections import (
    UPGRADES,
    budgeted_tables,
    epss_text,
    scorecard_section,
    todo_section,
)
from tests.support.golden import scanner_runs

RUNS = scanner_runs()


def _vuln(i: int, fixed: str = "2.0", name: str = "") -> Finding:
    return Finding(
        f"CVE-2024-{1000 + i}", Kind.VULNERABILITY, Severity.MEDIUM, "t", f"vulnerability {i}",
        package=Package(name or f"pkg{i}", "1.0", fixed, "deb"), tools=("grype",),
        location=Location(path="Dockerfile", line=1),
    )  # fmt: skip


def test_a_passing_scorecard_is_collapsed_and_a_failing_one_is_not() -> None:
    passing = Report(
        findings=(), tool_runs=RUNS, checklist=(("C12", ".dockerignore excludes .git"),)
    )
    lines = scorecard_section(passing)
    assert lines[0] == "<details><summary>✅ Hardening scorecard: 2 pass, 16 not checked</summary>"
    failing = Report(tool_runs=RUNS, findings=(
        Finding("DH-D101", Kind.MISCONFIGURATION, Severity.HIGH, "runs as root", "m",
                location=Location(path="Dockerfile", line=2), checklist=("C03",)),
    ))  # fmt: skip
    assert scorecard_section(failing)[:3] == [
        "### Hardening scorecard",
        "",
        "1 fail, 1 pass, 16 not checked.",
    ]


def test_nothing_to_do_says_nothing() -> None:
    assert todo_section([]) == []
    text = render_report(
        Report(findings=(), tool_runs=RUNS, verdict=GateVerdict(True, "passed: no finding"))
    )
    assert "What to do first" not in text and "<details><summary>✅ Hardening scorecard" in text


def test_the_few_upgrades_that_fix_the_most_then_the_count_of_the_rest() -> None:
    findings = [_vuln(i, name="libssl3" if i < 3 else "") for i in range(UPGRADES + 4)]
    findings.append(_vuln(99, fixed=""))
    lines = todo_section(findings)
    assert lines[2] == "1. Upgrade **libssl3** from 1.0 to **2.0**: fixes 3 (3 medium)"
    assert "- 2 more upgrade(s) fix the rest; see the table below." in lines
    assert lines[-2] == (
        "- No fix exists yet for 1 vulnerability (1 medium); first: CVE-2024-1099 in pkg99 "
        "(no fix yet)."
    )


def test_user_text_cannot_break_out_of_the_to_do_list() -> None:
    evil = _vuln(1, name="@octocat/<img src=x onerror=alert(1)>|pkg")
    html = cmarkgfm.github_flavored_markdown_to_html("\n".join(todo_section([evil])))
    assert "<img" not in html and "@octocat" not in html


def test_tables_within_a_budget_drop_the_least_important_rows() -> None:
    findings = [_vuln(i) for i in range(50)]
    lines, shown, used = budgeted_tables(findings, 2_000)
    assert 0 < shown < 50 and used <= 2_000
    assert sum(len(line) + 1 for line in lines) <= 2_000
    assert lines[2].startswith("| medium | [CVE-2024-1000]")
    text = render_report(Report(findings=tuple(_vuln(i) for i in range(3000))), limit=COMMENT_LIMIT)
    assert len(text) <= COMMENT_LIMIT and "are not listed here" in text


def test_epss_is_a_probability_and_a_percentile() -> None:
    assert epss_text(Epss(0.99891, 0.99964)) == "EPSS 99.9% (p99.9)"
    assert epss_text(Epss(0.0002, 0.0361)) == "EPSS <0.1% (p3)"
    assert epss_text(Epss(0.0719, 0.91123)) == "EPSS 7.2% (p91)"
