"""What matters first, on a merged Trivy + Grype report marked from the real KEV and EPSS
snapshots: the order everywhere (comment, summary, annotations, SARIF), the gate's verdicts,
the fix groups, and the SARIF properties."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cmarkgfm
import pytest
from pytest_httpserver import HTTPServer

from hardening.enrich import stage
from hardening.errors import ExitCode
from hardening.gate import GatePolicy, decide
from hardening.github.publish import check_annotations, marker
from hardening.model import (
    SECURITY_SEVERITY_BANDS,
    ExploitData,
    Finding,
    Kind,
    Location,
    Report,
    Severity,
    sort_key,
)
from hardening.report.annotations import workflow_commands
from hardening.report.fixes import fix_groups, needed, version_key, without_fix
from hardening.report.markdown import COMMENT_LIMIT, render_report
from hardening.report.sarif import build_sarif
from tests.enrich.test_stage import SCORE_DAY, merged, serve
from tests.support import golden
from tests.support.golden import scanner_runs

ORDER = [
    ("CVE-2023-46604", "org.apache.activemq:activemq-client"),  # KEV, EPSS p99.96, critical
    ("CVE-2023-4911", "libc6"),  # KEV, no EPSS
    ("CVE-2023-45288", "stdlib"),  # EPSS p99.8
    ("CVE-2023-45853", "zlib1g"),  # EPSS p88, critical, no fix
    ("CVE-2023-46218", "curl"),  # EPSS p76
    ("CVE-2023-46218", "libcurl4"),
    ("CVE-2023-46219", "curl"),  # EPSS p65
    ("CVE-2023-46219", "libcurl4"),
]


@pytest.fixture
def findings(httpserver: HTTPServer, tmp_path: Path) -> list[Finding]:
    outcome = stage.run(merged(), stage.Options(tmp_path, *serve(httpserver), SCORE_DAY))
    # Placed on Dockerfile lines as the locate step does: the base image's FROM, the app's COPY.
    on_line = [
        replace(
            f, location=Location(path="Dockerfile", line=9 if f.rule_id == "CVE-2023-46604" else 1)
        )
        for f in outcome.findings
    ]
    secret = Finding(
        "DH-D108", Kind.SECRET, Severity.HIGH, "A secret is set in ENV or ARG",
        "ENV API_TOKEN holds a literal value.", location=Location(path="Dockerfile", line=7),
        tools=("docker-hardening",), checklist=("C10",),
        fix="Pass it at run time or as a build secret (RUN --mount=type=secret), never in ENV or ARG.",
    )  # fmt: skip
    return [*on_line, secret]


def _report(findings: list[Finding], policy: GatePolicy | None = None) -> Report:
    verdict = decide(findings, (), policy or GatePolicy()).verdict()
    return Report(
        findings=tuple(findings), tool_runs=scanner_runs(), dockerfile="Dockerfile",  # type: ignore[arg-type]
        category="docker-hardening/Dockerfile/", verdict=verdict,
        exploit_data=ExploitData("CISA KEV catalog 2025.08.25, fetched 2026-09-30",
                                 "EPSS scores of 2026-09-29 (model v2026.06.15)"),
    )  # fmt: skip


def _ids(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.rule_id, f.package.name) for f in findings if f.package]


def test_known_exploited_then_epss_then_severity_then_fixable(findings: list[Finding]) -> None:
    assert _ids(sorted(findings, key=sort_key)) == ORDER


def test_the_same_order_in_sarif_annotations_and_check_runs(findings: list[Finding]) -> None:
    document = build_sarif(_report(findings), {})
    results = document["runs"][0]["results"]
    vulns = [
        (r["ruleId"], r["properties"]["package"]["name"])
        for r in results
        if "package" in r["properties"]
    ]
    assert vulns == ORDER
    annotations = [a["title"].split(":")[0] for a in check_annotations(findings)]
    assert annotations[:2] == ["CVE-2023-46604", "CVE-2023-4911"]
    errors = [line for line in workflow_commands(findings) if line.startswith("::error")]
    assert "CVE-2023-46604" in errors[0] and "CVE-2023-4911" in errors[1]


def test_sarif_carries_kev_and_epss_and_keeps_security_severity_in_band(
    findings: list[Finding],
) -> None:
    document = build_sarif(_report(findings), {})
    run = document["runs"][0]
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert "kev" in rules["CVE-2023-46604"]["properties"]["tags"]
    assert "kev" in rules["CVE-2023-4911"]["properties"]["tags"]
    assert "kev" not in rules["CVE-2023-45853"]["properties"]["tags"]
    first = run["results"][0]["properties"]
    assert first["kev"] == {"dateAdded": "2023-11-02", "dueDate": "2023-11-23",
                            "knownRansomwareCampaignUse": "Known",
                            "source": "CISA KEV catalog 2025.08.25"}  # fmt: skip
    assert first["epss"] == {"score": 0.99891, "percentile": 0.99964, "date": "2026-09-29",
                             "source": "EPSS scores of 2026-09-29"}  # fmt: skip
    for rule in run["tool"]["driver"]["rules"]:
        severity = Severity(_severity(rule, findings))
        low, high = SECURITY_SEVERITY_BANDS[severity]
        assert low <= float(rule["properties"]["security-severity"]) <= high, rule["id"]


def _severity(rule: dict[str, object], findings: list[Finding]) -> str:
    return max(f.severity for f in findings if f.rule_id == rule["id"]).value


def test_gate_verdicts(findings: list[Finding]) -> None:
    default = decide(findings, (), GatePolicy())
    assert default.exit_code is ExitCode.GATE_FAILED
    assert default.reason == "failed: 5 finding(s) at or above high (worst: critical)"
    kev_only = decide(findings, (), GatePolicy(fail_on=None, fail_on_kev=True))
    assert _ids(sorted(kev_only.blocking, key=sort_key)) == ORDER[:2]
    assert kev_only.reason == "failed: 2 finding(s): 2 on CISA's KEV catalog (worst: critical)"
    epss = decide(findings, (), GatePolicy(fail_on=Severity.CRITICAL, fail_on_epss=0.9))
    assert _ids(sorted(epss.blocking, key=sort_key)) == [ORDER[0], ORDER[2], ORDER[3]]
    assert epss.reason == (
        "failed: 3 finding(s): 2 with an EPSS score of 0.9 or more, 2 at or above critical "
        "(worst: critical)"
    )
    low_kev = [f for f in findings if f.rule_id in ("CVE-2023-46218",)]
    passed = decide(low_kev, (), GatePolicy(fail_on_kev=True, fail_on_epss=0.5))
    assert passed.passed and passed.reason == (
        "passed: no finding at or above high, none on CISA's KEV catalog, none with an EPSS "
        "score of 0.5 or more"
    )
    assert decide(findings, (), GatePolicy(fail_on=None)).reason == (
        "passed: the gate is off (fail-on none)"
    )


def test_a_suppressed_known_exploited_finding_does_not_block(findings: list[Finding]) -> None:
    from hardening.model import Suppression

    quiet = [f.with_suppression(Suppression("external", "not reachable")) if f.kev else f
             for f in findings]  # fmt: skip
    assert decide(quiet, (), GatePolicy(fail_on=None, fail_on_kev=True)).passed


def test_fix_groups_and_what_has_no_fix(findings: list[Finding]) -> None:
    groups = fix_groups(findings)
    assert [(g.package, g.target, g.summary()) for g in groups] == [
        ("org.apache.activemq:activemq-client", "5.18.3", "fixes 1 (1 critical, 1 KEV)"),
        ("libc6", "2.36-9+deb12u3", "fixes 1 (1 high, 1 KEV)"),
        ("stdlib", "1.21.9", "fixes 1 (1 high)"),
        ("curl", "7.88.1-10+deb12u5", "fixes 2 (2 medium)"),
        ("libcurl4", "7.88.1-10+deb12u5", "fixes 2 (2 medium)"),
    ]
    assert _ids(without_fix(findings)) == [("CVE-2023-45853", "zlib1g")]


@pytest.mark.parametrize(
    ("fixed", "installed", "target"),
    [
        ("5.18.3, 5.17.6, 5.16.7, 5.15.16", "5.18.2", "5.18.3"),
        ("5.18.3, 5.17.6, 5.16.7, 5.15.16", "5.17.1", "5.17.6"),
        ("1.21.9, 1.22.2", "1.22.0", "1.22.2"),
        ("2.36-9+deb12u10", "2.36-9+deb12u9", "2.36-9+deb12u10"),
    ],
)
def test_the_version_each_finding_needs(fixed: str, installed: str, target: str) -> None:
    assert needed(fixed, installed) == target


def test_versions_order_as_debian_and_semver_do() -> None:
    assert version_key("3.0.15-1~deb12u1") < version_key("3.0.15-1")
    assert version_key("2.36-9+deb12u3") < version_key("2.36-9+deb12u10")
    assert version_key("1:1.2.13") > version_key("1:1.2.9")


def test_the_comment_reads_as_a_to_do_list(findings: list[Finding]) -> None:
    report = _report(findings, GatePolicy(fail_on_kev=True))
    text = render_report(report, limit=COMMENT_LIMIT, marker=marker(report.category))
    html = cmarkgfm.github_flavored_markdown_to_html(text)
    golden.check("comment/exploited.md", text)
    golden.check("comment/exploited.html", html)
    order = ["**Failed**", "### What to do first", "### Vulnerabilities", "### Hardening findings",
             "### By severity and scanner", "### Hardening scorecard"]  # fmt: skip
    assert [text.index(part) for part in order] == sorted(text.index(part) for part in order)
    todo = text.split("### What to do first")[1].split("###")[0]
    assert (
        "1. Upgrade **org.apache.activemq:activemq-client** from 5.18.2 to **5.18.3**: fixes 1 (1 critical, 1 KEV)"
        in todo
    )
    assert "No fix exists yet for 1 vulnerability (1 critical)" in todo
    assert "Fix **DH-D108** at `Dockerfile:7`: Pass it at run time" in todo
    assert (
        "**KEV**, added 2023-11-02, due 2023-11-23, used by ransomware; EPSS 99.9% (p99.9)" in text
    )
