"""GitHub's security-severity always falls in the band of the severity we report, and the fix
status of both scanners reaches the finding, the report, the SARIF file and the policy."""

from __future__ import annotations

import json

import pytest

from hardening.model import (
    SECURITY_SEVERITY_BANDS,
    Cvss,
    Finding,
    FixStatus,
    Kind,
    Package,
    Report,
    Severity,
)
from hardening.pipeline import apply_ignore_unfixed
from hardening.report.markdown import findings_table
from hardening.report.sarif import build_sarif_text
from hardening.request import ScanRequest
from hardening.scanners.grype import parse_grype
from hardening.scanners.load import load_report
from hardening.settings import Settings
from tests.conftest import shared_dir

FIXTURES = shared_dir() / "fixtures" / "scanners"


def _vuln(severity: Severity, source: str, *cvss: Cvss, status: FixStatus | None = None) -> Finding:
    return Finding(
        rule_id="CVE-2005-2541",
        kind=Kind.VULNERABILITY,
        severity=severity,
        title="t",
        message="m",
        package=Package("tar", "1.34"),
        severity_source=source,
        cvss=cvss,
        fix_status=status,
    )


NVD_10 = Cvss("nvd", "2.0", "AV:N/AC:L/Au:N/C:C/I:C/A:C", 10.0)


@pytest.mark.parametrize(
    ("severity", "source", "cvss", "expected"),
    [
        # Debian says LOW; NVD's 10.0 belongs to another source and another band.
        (Severity.LOW, "debian", (NVD_10,), 2.0),
        (Severity.LOW, "debian", (Cvss("debian", "3.1", "", 3.1), NVD_10), 3.1),
        (Severity.CRITICAL, "nvd", (NVD_10,), 10.0),
        # NVD's own score outside NVD's own rating band: the band's fixed score.
        (Severity.HIGH, "nvd", (Cvss("nvd", "3.1", "", 6.5),), 8.0),
        (Severity.MEDIUM, "ghsa", (Cvss("ghsa", "3.1", "", 4.2),), 4.2),
        (Severity.MEDIUM, "", (Cvss("nvd", "3.1", "", 7.5),), 5.5),
        (Severity.NEGLIGIBLE, "debian", (NVD_10,), 0.0),
        (Severity.UNKNOWN, "nvd", (NVD_10,), None),
    ],
)
def test_score_is_in_the_band_of_the_reported_severity(
    severity: Severity, source: str, cvss: tuple[Cvss, ...], expected: float | None
) -> None:
    score = _vuln(severity, source, *cvss).security_severity
    assert score == expected
    if score is not None and severity in SECURITY_SEVERITY_BANDS:
        low, high = SECURITY_SEVERITY_BANDS[severity]
        assert low <= score <= high


def test_sarif_rule_has_no_score_for_unknown_and_keeps_every_source() -> None:
    report = Report(
        findings=(
            _vuln(Severity.LOW, "debian", NVD_10),
            Finding(
                "CVE-2099-0001",
                Kind.VULNERABILITY,
                Severity.UNKNOWN,
                "u",
                "u",
                package=Package("x", "1"),
            ),
        )
    )
    document, _ = build_sarif_text(report, {})
    rules = {r["id"]: r for r in document["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["CVE-2005-2541"]["properties"]["security-severity"] == "2.0"
    assert "security-severity" not in rules["CVE-2099-0001"]["properties"]
    result = next(r for r in document["runs"][0]["results"] if r["ruleId"] == "CVE-2005-2541")
    assert result["properties"]["severitySource"] == "debian"
    assert result["properties"]["cvss"] == [
        {"source": "nvd", "version": "2.0", "vector": "AV:N/AC:L/Au:N/C:C/I:C/A:C", "score": 10.0}
    ]


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("will_not_fix", FixStatus.WILL_NOT_FIX),
        ("wont-fix", FixStatus.WILL_NOT_FIX),
        ("not-fixed", FixStatus.AFFECTED),
        ("fix_deferred", FixStatus.FIX_DEFERRED),
        ("end_of_life", FixStatus.END_OF_LIFE),
        ("fixed", FixStatus.FIXED),
        ("something new", FixStatus.UNKNOWN),
        ("", None),
    ],
)
def test_both_tools_fix_states_parse(text: str, status: FixStatus | None) -> None:
    assert FixStatus.parse(text) is status


def test_grype_fix_states_from_a_real_report() -> None:
    findings = [
        f
        for name in ("nginx", "alpine", "traefik")
        for f in load_report(FIXTURES / f"grype-{name}-latest-msusel-v0.62.3.json").findings
    ]
    states = {f.fix_status for f in findings}
    assert {FixStatus.WILL_NOT_FIX, FixStatus.FIXED, FixStatus.AFFECTED} <= states
    for finding in findings:
        assert (finding.fix_status is FixStatus.FIXED) == bool(
            finding.package and finding.package.fixed_version
        )


def test_will_not_fix_is_unfixed_for_the_policy_and_the_report_says_so() -> None:
    wont = _vuln(Severity.HIGH, "debian", status=FixStatus.WILL_NOT_FIX)
    request = ScanRequest(workspace=shared_dir(), settings=Settings(ignore_unfixed=True))
    (suppressed,) = apply_ignore_unfixed([wont], request)
    assert suppressed.suppression is not None
    assert "will not fix" in suppressed.suppression.justification
    assert "will not fix" in "\n".join(findings_table([wont]))


def test_grype_match_without_fix_state_keeps_the_old_meaning() -> None:
    document = json.loads((FIXTURES / "grype-nginx-latest-msusel-v0.62.3.json").read_text())
    for match in document["matches"]:
        match["vulnerability"].pop("fix", None)
    parsed = parse_grype(document)
    assert {f.fix_status for f in parsed.findings} == {FixStatus.AFFECTED}
