"""The report people read, rendered as GitHub renders it (cmarkgfm), within GitHub's limits."""

from __future__ import annotations

import json

import cmarkgfm

from hardening.github.publish import marker
from hardening.model import (
    Finding,
    GateVerdict,
    Kind,
    Location,
    Package,
    Report,
    Severity,
)
from hardening.pipeline.facts import runtime_facts
from hardening.report.markdown import COMMENT_LIMIT, render_report
from tests.conftest import shared_dir
from tests.support import golden
from tests.support.golden import scanner_runs

TRIVY_RUN, GRYPE_RUN = scanner_runs()

FIXTURES = shared_dir() / "fixtures" / "scanners"


def _report() -> Report:
    findings = (
        Finding("CVE-2023-4911", Kind.VULNERABILITY, Severity.HIGH, "glibc: buffer overflow in ld.so",
                "CVE-2023-4911 in libc6 2.36-9", 7.8, Package("libc6", "2.36-9", "2.36-9+deb12u3", "deb"),
                Location(path="Dockerfile", line=1, note="comes with the base image debian:12"),
                tools=("trivy", "grype")),
        Finding("CVE-2024-0001", Kind.VULNERABILITY, Severity.MEDIUM, "x", "CVE-2024-0001 in evil|pkg<script>",
                None, Package("evil|pkg<script>alert(1)</script>", "1.0", "", "npm"),
                Location(path="Dockerfile", line=4), tools=("grype",)),
        Finding("DH-D108", Kind.SECRET, Severity.HIGH, "A secret is set in ENV or ARG",
                "ENV DB_PASSWORD holds a literal value (hunt…(sha256:1234abcd))",
                location=Location(path="Dockerfile", line=3), tools=("docker-hardening",), checklist=("C10",),
                fix="Pass build-time secrets with `RUN --mount=type=secret,id=...` and runtime secrets as "
                    "files (/run/secrets) or from the orchestrator; rotate the exposed value."),
    )  # fmt: skip
    probe = {
        "user": {"uid": 10001, "gid": 10001, "name": "app", "groups": [10001]},
        "seccomp": 2,
        "hardened": {"no_new_privs": True},
        "trial": {"passed": True, "recommended_flags": ["--read-only", "--tmpfs /tmp", "--cap-drop ALL"],
                  "compose_snippet": "services:\n  app:\n    read_only: true\n"},
    }  # fmt: skip
    return Report(
        findings=findings,
        tool_runs=(TRIVY_RUN, GRYPE_RUN),
        dockerfile="Dockerfile", category="docker-hardening/Dockerfile/",
        verdict=GateVerdict(False, "failed: 2 finding(s) at or above high (worst: high)"),
        runtime=runtime_facts(probe), checklist=(("C12", ".dockerignore excludes .git and .env"),),
    )  # fmt: skip


def test_comment_golden_as_github_renders_it() -> None:
    text = render_report(
        _report(), limit=COMMENT_LIMIT, marker=marker("docker-hardening/Dockerfile/")
    )
    html = cmarkgfm.github_flavored_markdown_to_html(text)
    golden.check("comment/report.md", text)
    golden.check("comment/report.html", html)
    assert "<script>" not in html  # a crafted package name cannot inject HTML
    assert "runs as uid 10001 (app), seen by running the image" in text
    assert (  # what to do first right after the verdict, the scorecard after the findings
        text.index("Failed")
        < text.index("### What to do first")
        < text.index("### Vulnerabilities")
        < text.index("### Hardening findings")
        < text.index("| severity | total |")
        < text.index("Hardening scorecard")
    )


def test_no_secret_value_in_the_report() -> None:
    text = render_report(_report())
    assert "hunter2" not in text


def test_huge_report_stays_under_the_comment_limit_and_says_what_was_left_out() -> None:
    document = json.loads(
        (FIXTURES / "grype-defectdojo-django-1.13.1-defectdojo-v0.7.0.json").read_text()
    )
    findings = []
    for i in range(20):  # 327 matches, twenty times over: about 6,500 findings
        for m in document["matches"]:
            findings.append(Finding(
                f"{m['vulnerability']['id']}-{i}", Kind.VULNERABILITY,
                Severity.parse(m["vulnerability"]["severity"]), m["vulnerability"]["id"],
                (m["vulnerability"].get("description") or "")[:300],
                package=Package(m["artifact"]["name"], m["artifact"]["version"], "", m["artifact"]["type"]),
                location=Location(path="Dockerfile", line=1), tools=("grype",),
            ))  # fmt: skip
    report = Report(findings=tuple(findings), dockerfile="Dockerfile", category="c/",
                    verdict=GateVerdict(False, "failed"))  # fmt: skip
    text = render_report(report, limit=COMMENT_LIMIT)
    assert len(text) <= COMMENT_LIMIT < 65_536
    assert "lower-severity finding(s) are not listed here" in text
    assert "SARIF" in text
    summary = render_report(report, limit=900_000)
    assert len(summary.encode()) < 1024 * 1024


def test_package_names_cannot_mention_users() -> None:
    from hardening.report.markdown import esc

    html = cmarkgfm.github_flavored_markdown_to_html(f"| a |\n|---|\n| {esc('@octocat/pkg')} |")
    assert "@octocat" not in html and "@\u2060octocat" in html
