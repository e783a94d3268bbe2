"""One image as Trivy and Grype report it: a Debian 12 base, a Java application and a Go
binary. The reports are written in the shapes of Trivy's (SchemaVersion 2) and Grype's
(v0.9x, with ``knownExploited``, ``epss`` and ``risk``) native JSON; the packages, versions,
fixed versions and CVEs are real, and the KEV and EPSS values Grype reports here are those
of the real snapshots in tests/fixtures/enrich (see SOURCES.md there).

What each scanner saw:

- CVE-2023-46604 (ActiveMQ, on CISA's KEV catalog): Trivy only, in a jar.
- CVE-2023-4911 (glibc, on the KEV catalog): both; Grype marks it known exploited.
- CVE-2023-45288 (Go's net/http): both; Grype gives its EPSS score.
- CVE-2023-45853 (zlib): both; no fix (Debian will not fix it); the tools disagree on severity.
- CVE-2023-46218 and CVE-2023-46219 (curl): Trivy, in curl and libcurl4.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "enrich"
KEV_FILE = FIXTURES / "known_exploited_vulnerabilities.json"
EPSS_FILE = FIXTURES / "epss_scores-2026-09-29.csv.gz"
LIBC_LAYER = "sha256:7cea17427f83f6c4706c74f94fb6d7925b06ea9a0701234f1a9d43f6af11432a"
APP_LAYER = "sha256:1f6d1b6f3e0a6a5c8d3c4bfa1d2e7b2c5f6a7e8d9c0b1a2f3e4d5c6b7a8f9e0d"


def _trivy_vuln(
    vid: str, name: str, installed: str, fixed: str, severity: str, *, status: str = "fixed",
    source: str = "nvd", score: float = 0.0, layer: str = LIBC_LAYER, path: str = "",
) -> dict[str, Any]:  # fmt: skip
    vuln: dict[str, Any] = {
        "VulnerabilityID": vid, "PkgName": name, "InstalledVersion": installed,
        "Status": status, "Layer": {"DiffID": layer}, "SeveritySource": source,
        "PrimaryURL": f"https://avd.aquasec.com/nvd/{vid.lower()}", "Title": f"{name}: {vid}",
        "Description": f"{vid} in {name}.", "Severity": severity,
        "CVSS": {"nvd": {"V3Vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "V3Score": score}},
    }  # fmt: skip
    if fixed:
        vuln["FixedVersion"] = fixed
    if path:
        vuln["PkgPath"] = path
    return vuln


def trivy_report() -> dict[str, Any]:
    debian = [
        _trivy_vuln("CVE-2023-4911", "libc6", "2.36-9+deb12u1", "2.36-9+deb12u3", "HIGH",
                    source="debian", score=7.8),
        _trivy_vuln("CVE-2023-45853", "zlib1g", "1:1.2.13.dfsg-1", "", "CRITICAL",
                    status="will_not_fix", score=9.8),
        *(
            _trivy_vuln(vid, name, "7.88.1-10+deb12u4", "7.88.1-10+deb12u5", "MEDIUM",
                        source="debian", score=score)
            for vid, score in (("CVE-2023-46218", 6.5), ("CVE-2023-46219", 5.3))
            for name in ("curl", "libcurl4")
        ),
    ]  # fmt: skip
    java = [
        _trivy_vuln("CVE-2023-46604", "org.apache.activemq:activemq-client", "5.18.2",
                    "5.18.3, 5.17.6, 5.16.7, 5.15.16", "CRITICAL", source="ghsa", score=9.8,
                    layer=APP_LAYER, path="opt/app/lib/activemq-client-5.18.2.jar"),
    ]  # fmt: skip
    go = [
        _trivy_vuln("CVE-2023-45288", "stdlib", "1.21.1", "1.21.9, 1.22.2", "HIGH", score=7.5,
                    layer=APP_LAYER),
    ]  # fmt: skip
    return {
        "SchemaVersion": 2, "ArtifactName": "app:pr", "ArtifactType": "container_image",
        "Metadata": {"OS": {"Family": "debian", "Name": "12.2"}},
        "Results": [
            {"Target": "app:pr (debian 12.2)", "Class": "os-pkgs", "Type": "debian", "Vulnerabilities": debian},
            {"Target": "Java", "Class": "lang-pkgs", "Type": "jar", "Vulnerabilities": java},
            {"Target": "usr/local/bin/app", "Class": "lang-pkgs", "Type": "gobinary", "Vulnerabilities": go},
        ],
    }  # fmt: skip


def _grype_match(
    vid: str, name: str, version: str, kind: str, severity: str, fixed: list[str], state: str,
    namespace: str, **extra: Any,
) -> dict[str, Any]:  # fmt: skip
    return {
        "vulnerability": {
            "id": vid, "dataSource": f"https://security-tracker.debian.org/tracker/{vid}",
            "namespace": namespace, "severity": severity, "urls": [], "description": f"{vid}.",
            "cvss": [], "fix": {"versions": fixed, "state": state}, "advisories": [], **extra,
        },
        "relatedVulnerabilities": [],
        "matchDetails": [],
        "artifact": {
            "name": name, "version": version, "type": kind,
            "locations": [{"path": "/var/lib/dpkg/status", "layerID": LIBC_LAYER}],
            "purl": f"pkg:{kind}/debian/{name}@{version}?distro=debian-12",
        },
    }  # fmt: skip


def grype_report() -> dict[str, Any]:
    kev = [{"cve": "CVE-2023-4911", "vendorProject": "GNU", "product": "GNU C Library",
            "dateAdded": "2023-11-21", "dueDate": "2023-12-12",
            "knownRansomwareCampaignUse": "Unknown"}]  # fmt: skip
    epss = [{"cve": "CVE-2023-45288", "epss": 0.91969, "percentile": 0.99817, "date": "2026-09-29"}]
    matches = [
        _grype_match("CVE-2023-4911", "libc6", "2.36-9+deb12u1", "deb", "High",
                     ["2.36-9+deb12u3"], "fixed", "debian:distro:debian:12", knownExploited=kev),
        _grype_match("CVE-2023-45853", "zlib1g", "1:1.2.13.dfsg-1", "deb", "Negligible", [],
                     "wont-fix", "debian:distro:debian:12"),
        _grype_match("CVE-2023-45288", "stdlib", "go1.21.1", "go-module", "High",
                     ["1.21.9", "1.22.2"], "fixed", "github:language:go", epss=epss, risk=68.97),
    ]  # fmt: skip
    matches[2]["artifact"]["purl"] = "pkg:golang/stdlib@1.21.1"
    matches[2]["artifact"]["version"] = "1.21.1"
    matches[2]["artifact"]["locations"] = [{"path": "/usr/local/bin/app", "layerID": APP_LAYER}]
    return {
        "matches": matches,
        "source": {"type": "image", "target": {"userInput": "app:pr"}},
        "descriptor": {"name": "grype", "version": "0.116.0"},
    }
