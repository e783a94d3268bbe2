"""GitLab's container-scanning report (schema 15.2.4), so the same scan shows in merge-request
widgets. Only vulnerabilities go in: the format has no place for hardening or runtime findings
(those stay in the SARIF file and the Markdown report).

Severity: GitLab has no "negligible"; Grype's Negligible is written as Info, Unknown stays
Unknown."""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

from hardening import INFORMATION_URI, TOOL_NAME, __version__
from hardening.model import Finding, Kind, Report, RunStatus, sort_key
from hardening.report.formats import OutputFormat, RenderInput

SCHEMA_VERSION = "15.2.4"
_NAMESPACE = uuid.UUID("6b2f3a4e-1c0d-4e7a-9f1b-2d3c4e5f6a7b")


def _identifier(value: str) -> dict[str, str]:
    upper = value.upper()
    if upper.startswith("CVE-"):
        return {
            "type": "cve",
            "name": upper,
            "value": upper,
            "url": f"https://nvd.nist.gov/vuln/detail/{upper}",
        }
    if upper.startswith("GHSA-"):
        return {
            "type": "ghsa",
            "name": value,
            "value": value,
            "url": f"https://github.com/advisories/{value}",
        }
    kind = value.split("-", 1)[0].lower() or "advisory"
    return {"type": kind, "name": value, "value": value}


def _vulnerability(finding: Finding, image: str, os_name: str) -> dict[str, Any]:
    pkg = finding.package
    assert pkg is not None
    identifiers = [_identifier(finding.rule_id), *(_identifier(a) for a in finding.aliases)]
    solution = (
        f"Upgrade {pkg.name} to {pkg.fixed_version} or later."
        if pkg.fixed_version
        else "No fix is available yet."
    )
    item: dict[str, Any] = {
        "id": str(uuid.uuid5(_NAMESPACE, finding.fingerprint)),
        "name": finding.title or finding.rule_id,
        "description": finding.message[:7000],
        "severity": finding.severity.gitlab_severity,
        "solution": solution,
        "identifiers": identifiers,
        "links": [
            {"url": r} for r in finding.references[:10] if r.startswith(("http://", "https://"))
        ],
        "location": {
            "dependency": {"package": {"name": pkg.name}, "version": pkg.version or "unknown"},
            "operating_system": os_name or "unknown",
            "image": image or "unknown",
        },
    }
    return item


def gitlab_report(
    report: Report, started: datetime.datetime | None = None, now: datetime.datetime | None = None
) -> dict[str, Any]:
    now = now or datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    start = started or now
    image = report.image.reference if report.image else ""
    os_name = report.image.os if report.image else ""
    scanners = [r for r in report.tool_runs if r.scanner]
    ok = [r for r in scanners if r.status is RunStatus.OK]
    scanner = ok[0] if ok else None
    vulnerabilities = [
        _vulnerability(f, image, os_name)
        for f in sorted(report.findings, key=sort_key)
        if f.kind is Kind.VULNERABILITY and f.package is not None and not f.suppressed
    ]
    messages = [
        {"level": "warn", "value": f"{r.name} failed: {r.reason}"}
        for r in scanners
        if r.status is RunStatus.FAILED
    ]
    return {
        "version": SCHEMA_VERSION,
        "scan": {
            "analyzer": {
                "id": TOOL_NAME,
                "name": "docker-hardening",
                "version": __version__,
                "vendor": {"name": TOOL_NAME},
                "url": INFORMATION_URI,
            },
            "scanner": {
                "id": scanner.name if scanner else TOOL_NAME,
                "name": " + ".join(r.title for r in ok) or "docker-hardening",
                "version": (scanner.version if scanner and scanner.version else __version__),
                "vendor": {"name": (scanner.vendor or scanner.title) if scanner else TOOL_NAME},
            },
            "type": "container_scanning",
            "status": "success" if ok and not messages else "failure",
            "start_time": start.strftime("%Y-%m-%dT%H:%M:%S"),
            "end_time": now.strftime("%Y-%m-%dT%H:%M:%S"),
            "messages": messages,
        },
        "vulnerabilities": vulnerabilities,
        "remediations": [],
    }


def render(given: RenderInput) -> bytes:
    return (
        json.dumps(gitlab_report(given.report, given.started, given.now), indent=1) + "\n"
    ).encode()


FORMAT = OutputFormat(
    "gitlab",
    "gl-container-scanning-report.json",
    "GitLab's container-scanning report (schema 15.2.4)",
    render,
)
