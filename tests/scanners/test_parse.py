"""Every real Trivy and Grype JSON report in the fixtures parses into Findings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hardening.errors import UsageError
from hardening.model import Kind, Severity
from hardening.scanners.load import load_report
from tests.conftest import shared_dir

FIXTURES = shared_dir() / "fixtures" / "scanners"
JSON_REPORTS = sorted(p for p in FIXTURES.glob("*.json") if not p.name.endswith(".cdx.json"))


def _raw_count(path: Path) -> int:
    """Items in the file as the tool wrote them, counted without the product's code."""
    document = json.loads(path.read_text())
    if isinstance(document, dict) and "matches" in document:
        return len(document["matches"])
    results = document if isinstance(document, list) else document.get("Results") or []
    total = 0
    for result in results:
        total += len(result.get("Vulnerabilities") or [])
        total += len(result.get("Secrets") or [])
        total += sum(
            1 for m in result.get("Misconfigurations") or [] if m.get("Status", "FAIL") == "FAIL"
        )
    return total


@pytest.mark.parametrize("path", JSON_REPORTS, ids=lambda p: p.name)
def test_every_real_report_parses(path: Path) -> None:
    report = load_report(path)
    assert report.tool == ("grype" if path.name.startswith("grype") else "trivy")
    raw = _raw_count(path)
    if report.tool == "trivy":
        assert len(report.findings) == raw
    else:
        # Grype advisories that name several CVEs expand into one finding per CVE.
        assert len(report.findings) >= raw
    for finding in report.findings:
        assert finding.rule_id and finding.tools == (report.tool,)
        if finding.kind is Kind.VULNERABILITY:
            assert finding.package is not None and finding.package.name


@pytest.mark.parametrize(
    "name",
    [
        "trivy-alpine-310-trivyrepo-golden-2026.sarif",
        "trivy-pom-trivyrepo-golden-2026.cdx.json",
        "SOURCES.md",
    ],
)
def test_other_files_are_rejected_naming_the_file(name: str) -> None:
    with pytest.raises(UsageError) as error:
        load_report(FIXTURES / name)
    assert name in error.value.message
    assert "expected a scanner's own JSON report" in error.value.message or "not JSON" in error.value.message


def test_legacy_and_schema2_trivy_agree() -> None:
    legacy = load_report(FIXTURES / "trivy-alpine-310-trivyrepo-golden-2021-07-legacy.json")
    schema2 = load_report(FIXTURES / "trivy-alpine-310-trivyrepo-golden-2021-10-schema2.json")

    def key(r):  # type: ignore[no-untyped-def]
        return sorted((f.rule_id, f.package.name, f.package.version) for f in r.findings)

    assert key(legacy) == key(schema2)
    first = next(f for f in legacy.findings if f.rule_id == "CVE-2019-1549")
    assert first.package is not None and first.package.fixed_version == "1.1.1d-r0"
    assert first.location.layer.startswith("sha256:")


def test_grype_keeps_negligible_and_unknown() -> None:
    grype = load_report(FIXTURES / "grype-defectdojo-django-1.13.1-defectdojo-v0.7.0.json")
    severities = {f.severity for f in grype.findings}
    assert Severity.NEGLIGIBLE in severities and Severity.UNKNOWN in severities


def test_grype_advisory_expands_into_its_cves_with_the_advisory_as_alias() -> None:
    grype = load_report(FIXTURES / "grype-mysql-latest-msusel-v0.62.3.json")
    elsa = [f for f in grype.findings if "ELSA-2022-9221" in f.aliases]
    assert sorted(f.rule_id for f in elsa) == ["CVE-2021-20231", "CVE-2021-20232", "CVE-2021-3580"]
    assert all(f.package and f.package.name == "gnutls" for f in elsa)
    lone = [f for f in grype.findings if f.rule_id == "GHSA-5cpq-8wj7-hf2v"]
    assert len(lone) == 1 and lone[0].aliases == ()  # no CVE: the advisory stays itself


def test_grype_epss_and_layer_and_cvss() -> None:
    grype = load_report(FIXTURES / "grype-busybox-1.32.1-defectdojo-v0.94.0-epss.json")
    first = next(f for f in grype.findings if f.rule_id == "CVE-2022-28391")
    assert first.epss is not None and (first.epss.score, first.epss.percentile) == (0.0719, 0.91123)
    assert first.epss.date == "2025-06-18" and first.epss.source == "grype"
    assert first.property("grype-risk") == "5.62" and first.kev is None
    nginx = load_report(FIXTURES / "grype-nginx-latest-msusel-v0.62.3.json")
    tar = next(f for f in nginx.findings if f.package and f.package.name == "tar")
    # The layer of the package's own files, not the layer that last rewrote dpkg's status file.
    assert (
        tar.location.layer
        == "sha256:ac4d164fef90ff58466b67e23deb79a47b5abd30af9ebf1735b57da6e4af1323"
    )
    assert tar.severity is Severity.NEGLIGIBLE


def test_trivy_secret_never_carries_the_secret() -> None:
    path = FIXTURES / "trivy-secrets-trivyrepo-golden-2026.json"
    raw = path.read_text()
    assert "ghp_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" in raw  # the recording has it
    report = load_report(path)
    secrets = [f for f in report.findings if f.kind is Kind.SECRET]
    assert len(secrets) == 2
    for finding in secrets:
        text = repr(finding)
        assert "ghp_0123" not in text and "AWS_ACCESS_KEY_ID=" not in text
        assert finding.location.image_path == "deploy.sh"
    assert {f.property("secret-line") for f in secrets} == {"3", "7"}


def test_trivy_misconfiguration_and_lang_packages() -> None:
    report = load_report(FIXTURES / "trivy-fs-misconfig-secrets-defectdojo.json")
    kinds = {f.kind for f in report.findings}
    assert kinds == {Kind.VULNERABILITY, Kind.SECRET, Kind.MISCONFIGURATION}
    misconf = next(f for f in report.findings if f.kind is Kind.MISCONFIGURATION)
    assert misconf.rule_id == "trivy-config/DS002" or misconf.rule_id.startswith("trivy-config/")
