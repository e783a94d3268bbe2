"""De-duplication on the fixture pairs where both tools scanned the same image."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from hardening.model import Severity
from hardening.scanners.load import load_report
from hardening.scanners.merge import merge_findings
from tests.conftest import shared_dir

FIXTURES = shared_dir() / "fixtures" / "scanners"
PAIRS = ["alpine", "busybox", "docker", "mysql", "nginx", "traefik", "ubuntu"]
ECO = {
    "deb": "deb", "debian": "deb", "ubuntu": "deb", "apk": "apk", "alpine": "apk",
    "rpm": "rpm", "oracle": "rpm", "python": "pypi", "python-pkg": "pypi",
    "go-module": "golang", "gobinary": "golang",
}  # fmt: skip


def _independent_triples(
    trivy: Path, grype: Path
) -> tuple[set[tuple[str, str, str, str]], set[str]]:
    """The union of both tools' (id, ecosystem, name, version), computed from the raw JSON."""
    triples: set[tuple[str, str, str, str]] = set()
    ids: set[str] = set()
    for result in json.loads(trivy.read_text()).get("Results") or []:
        for v in result.get("Vulnerabilities") or []:
            name = v["PkgName"].lower()
            eco = ECO[result["Type"]]
            if eco == "pypi":
                name = re.sub(r"[-_.]+", "-", name)
            triples.add((v["VulnerabilityID"].upper(), eco, name, v["InstalledVersion"]))
            ids.add(v["VulnerabilityID"])
    advisory_cves: dict[tuple[str, str, str, str], str] = {}
    for m in json.loads(grype.read_text())["matches"]:
        art, vid = m["artifact"], m["vulnerability"]["id"]
        ids.add(vid)
        name = art["name"].lower()
        eco = ECO[art["type"]]
        if eco == "pypi":
            name = re.sub(r"[-_.]+", "-", name)
        cves = [
            r["id"] for r in m.get("relatedVulnerabilities") or [] if r["id"].startswith("CVE-")
        ]
        for cve in cves if (cves and not vid.startswith("CVE-")) else [vid]:
            triples.add((cve.upper(), eco, name, art["version"]))
            ids.update(cves)
    del advisory_cves
    return triples, ids


@pytest.mark.parametrize("image", PAIRS)
def test_merged_count_equals_the_union_of_triples(image: str) -> None:
    trivy = FIXTURES / f"trivy-{image}-latest-msusel-2023.json"
    grype = FIXTURES / f"grype-{image}-latest-msusel-v0.62.3.json"
    merged = merge_findings(load_report(trivy).findings + load_report(grype).findings)
    union, ids = _independent_triples(trivy, grype)
    assert len(merged) == len(union)
    findable = {f.rule_id for f in merged} | {a for f in merged for a in f.aliases}
    assert ids <= findable, sorted(ids - findable)


def test_nginx_spot_check_seen_by_both() -> None:
    merged = merge_findings(
        load_report(FIXTURES / "trivy-nginx-latest-msusel-2023.json").findings
        + load_report(FIXTURES / "grype-nginx-latest-msusel-v0.62.3.json").findings
    )
    apt = [
        f for f in merged if f.rule_id == "CVE-2011-3374" and f.package and f.package.name == "apt"
    ]
    assert len(apt) == 1
    finding = apt[0]
    assert finding.tools == ("trivy", "grype")
    # Trivy says LOW, Grype says Negligible: both are kept, the finding takes the highest.
    assert dict(finding.tool_severities) == {"trivy": Severity.LOW, "grype": Severity.NEGLIGIBLE}
    assert finding.severity is Severity.LOW
    assert finding.property("severity-disagreement") == "grype=negligible,trivy=low"
    # libtiff6 CVE-2022-1056 is only in Grype's report: kept, marked as Grype's alone.
    tiff = [f for f in merged if f.rule_id == "CVE-2022-1056"]
    assert len(tiff) == 1 and tiff[0].tools == ("grype",)


def test_mysql_spot_check_elsa_meets_trivys_cves() -> None:
    merged = merge_findings(
        load_report(FIXTURES / "trivy-mysql-latest-msusel-2023.json").findings
        + load_report(FIXTURES / "grype-mysql-latest-msusel-v0.62.3.json").findings
    )
    gnutls = sorted(
        (f.rule_id, f.tools, f.aliases) for f in merged if f.package and f.package.name == "gnutls"
    )
    assert gnutls == [
        ("CVE-2021-20231", ("trivy", "grype"), ("ELSA-2022-9221",)),
        ("CVE-2021-20232", ("trivy", "grype"), ("ELSA-2022-9221",)),
        ("CVE-2021-3580", ("trivy", "grype"), ("ELSA-2022-9221",)),
    ]
    crypto = [f for f in merged if f.rule_id == "GHSA-5cpq-8wj7-hf2v"]
    assert len(crypto) == 1 and crypto[0].tools == ("trivy", "grype")


def test_merge_is_deterministic_and_idempotent() -> None:
    findings = (
        load_report(FIXTURES / "trivy-traefik-latest-msusel-2023.json").findings
        + load_report(FIXTURES / "grype-traefik-latest-msusel-v0.62.3.json").findings
    )
    once = merge_findings(findings)
    assert merge_findings(reversed(findings)) == once
    assert merge_findings(once) == once
