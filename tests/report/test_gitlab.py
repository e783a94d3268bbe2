"""GitLab's container-scanning report, validated against GitLab's published schema 15.2.4."""

from __future__ import annotations

import json
from dataclasses import replace

import jsonschema
import pytest

from hardening.model import Finding, ImageInfo, Kind, Package, Report, RunStatus, Severity
from hardening.report.gitlab import gitlab_report
from hardening.scanners.load import load_report
from hardening.scanners.merge import merge_findings
from tests.conftest import shared_dir
from tests.support.golden import scanner_runs

TRIVY_RUN, GRYPE_RUN = scanner_runs()

SCHEMA = json.loads(
    (shared_dir() / "schemas" / "gitlab-container-scanning-report-format-15.2.4.json").read_text()
)


def _validate(document: dict[str, object]) -> None:
    jsonschema.Draft7Validator(SCHEMA).validate(document)


@pytest.mark.parametrize("image", ["mysql", "nginx", "ubuntu"])
def test_real_merged_reports_are_valid(image: str) -> None:
    fixtures = shared_dir() / "fixtures" / "scanners"
    findings = merge_findings(
        load_report(fixtures / f"trivy-{image}-latest-msusel-2023.json").findings
        + load_report(fixtures / f"grype-{image}-latest-msusel-v0.62.3.json").findings
    )
    report = Report(
        findings=tuple(findings), image=ImageInfo(reference=f"{image}:latest", os="linux"),
        tool_runs=(TRIVY_RUN, GRYPE_RUN),
    )  # fmt: skip
    document = gitlab_report(report)
    _validate(document)
    assert len(document["vulnerabilities"]) == len(findings)
    assert document["scan"]["status"] == "success"
    ids = [v["id"] for v in document["vulnerabilities"]]
    assert len(set(ids)) == len(ids)


def test_edge_cases_and_only_vulnerabilities() -> None:
    findings = (
        Finding("CVE-2024-1", Kind.VULNERABILITY, Severity.NEGLIGIBLE, "t", "m", package=Package("a", "1")),
        Finding("GHSA-aaaa-bbbb-cccc", Kind.VULNERABILITY, Severity.UNKNOWN, "t", "m", package=Package("b", "2", "3")),
        Finding("DH-D101", Kind.MISCONFIGURATION, Severity.HIGH, "t", "m"),
    )  # fmt: skip
    report = Report(
        findings=findings,
        tool_runs=(replace(GRYPE_RUN, status=RunStatus.FAILED, version="", reason="no db"),),
    )
    document = gitlab_report(report)
    _validate(document)
    assert [v["severity"] for v in document["vulnerabilities"]] == ["Info", "Unknown"]
    assert document["scan"]["status"] == "failure"
    assert document["scan"]["messages"][0]["value"] == "grype failed: no db"
