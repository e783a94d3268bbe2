"""Grype's native JSON (0.7 to 0.114, with or without EPSS) into Findings.

One Grype match is one (vulnerability, package). Where Grype reports an advisory (GHSA-,
ELSA-, ALAS-, ...) whose ``relatedVulnerabilities`` name CVEs, the match becomes one finding per
related CVE, keeping the advisory id as an alias: that is where Trivy, which reports by CVE,
meets it. An id with no related CVE stays itself. Negligible stays negligible and Unknown stays
unknown. Where Grype says a CVE is on CISA's KEV catalog or has an EPSS score (v0.88 and
later), the finding carries it (``Finding.kev``, ``Finding.epss``, source "grype").
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from hardening.model import (
    Cvss,
    Epss,
    Finding,
    FixStatus,
    Kev,
    Kind,
    Location,
    Package,
    Severity,
)
from hardening.policy import ignores
from hardening.scanners.base import ScanJob, Scanner, ScanOutput
from hardening.scanners.common import CVE_RE, ParsedReport
from hardening.scanners.reports import read_report

TOOL = "grype"
# Package databases: a package's files in other layers say more about where it came from.
_DB_PATHS = (
    "/var/lib/dpkg/status",
    "/lib/apk/db/installed",
    "/var/lib/rpm/",
    "/usr/lib/sysimage/rpm/",
    "/var/lib/dpkg/status.d/",
)


def _score(entries: Any) -> float | None:
    best: float | None = None
    best_version = ""
    for entry in entries or []:
        if not isinstance(entry, dict):
            continue
        metrics = entry.get("metrics") or {}
        score = metrics.get("baseScore") if isinstance(metrics, dict) else None
        version = str(entry.get("version", ""))
        if isinstance(score, int | float) and (best is None or version > best_version):
            best, best_version = float(score), version
    return best


def _cvss_entries(entries: Any, namespace: str) -> list[Cvss]:
    out = []
    for entry in entries or []:
        if not isinstance(entry, dict):
            continue
        metrics = entry.get("metrics") or {}
        score = metrics.get("baseScore") if isinstance(metrics, dict) else None
        out.append(
            Cvss(
                str(entry.get("source") or namespace),
                str(entry.get("version", "")),
                str(entry.get("vector", "") or ""),
                float(score) if isinstance(score, int | float) and score > 0 else None,
            )
        )
    return out


def _fix_status(fix: Any, fixed_versions: list[str]) -> FixStatus:
    status = FixStatus.parse(fix.get("state") if isinstance(fix, dict) else None)
    if status is None:
        return FixStatus.FIXED if fixed_versions else FixStatus.AFFECTED
    if status is FixStatus.FIXED and not fixed_versions:
        return FixStatus.UNKNOWN
    return status


def _location(artifact: dict[str, Any]) -> Location:
    locations = [loc for loc in artifact.get("locations") or [] if isinstance(loc, dict)]
    chosen = next(
        (loc for loc in locations if not str(loc.get("path", "")).startswith(_DB_PATHS)),
        locations[0] if locations else {},
    )
    return Location(layer=str(chosen.get("layerID", "")), image_path=str(chosen.get("path", "")))


def _package(artifact: dict[str, Any], location: Location) -> Package:
    return Package(
        name=str(artifact.get("name", "")),
        version=str(artifact.get("version", "")),
        type=str(artifact.get("type", "")),
        purl=str(artifact.get("purl", "") or ""),
        path=location.image_path
        if str(artifact.get("type", "")) not in ("deb", "apk", "rpm")
        else "",
    )


def _ids(vid: str, related: list[dict[str, Any]]) -> list[tuple[str, tuple[str, ...]]]:
    """One (id, aliases) per CVE an advisory relates to; a CVE or a lone advisory as itself."""
    related_cves = [str(r["id"]) for r in related if CVE_RE.match(str(r.get("id", "")))]
    if CVE_RE.match(vid) or not related_cves:
        return [(vid, ())]
    return [(cve, (vid,)) for cve in dict.fromkeys(related_cves)]


def _details(
    vuln: dict[str, Any], related: list[dict[str, Any]]
) -> tuple[str, float | None, list[Cvss]]:
    """Description, best score and every source's CVSS, the match's own first."""
    description = str(vuln.get("description", "") or "")
    score = _score(vuln.get("cvss"))
    cvss = _cvss_entries(vuln.get("cvss"), str(vuln.get("namespace", "") or ""))
    for r in related:
        description = description or str(r.get("description", "") or "")
        if score is None:
            score = _score(r.get("cvss"))
        cvss += _cvss_entries(r.get("cvss"), str(r.get("namespace", "") or ""))
    return description, score, cvss


def _match(match: dict[str, Any]) -> list[Finding]:
    vuln = match.get("vulnerability") or {}
    artifact = match.get("artifact") or {}
    if not isinstance(vuln, dict) or not isinstance(artifact, dict) or not vuln.get("id"):
        return []
    related = [r for r in match.get("relatedVulnerabilities") or [] if isinstance(r, dict)]
    fix = vuln.get("fix") or {}
    fixed_versions = [str(v) for v in (fix.get("versions") or []) if v]
    location = _location(artifact)
    package = _package(artifact, location)
    if fixed_versions:
        package = replace(package, fixed_version=", ".join(fixed_versions))
    severity = Severity.parse(vuln.get("severity"))
    description, score, cvss = _details(vuln, related)
    references = [str(u) for u in vuln.get("urls") or [] if u]
    if vuln.get("dataSource"):
        references.insert(0, str(vuln["dataSource"]))
    status = _fix_status(fix, fixed_versions)
    kevs, epss = _entries(vuln, related, "knownExploited"), _entries(vuln, related, "epss")
    risk = vuln.get("risk")
    properties = (("grype-risk", f"{risk:.2f}"),) if isinstance(risk, int | float) else ()
    fixed = (
        f" Fixed in {package.fixed_version}."
        if package.fixed_version
        else f" {status.label[:1].upper()}{status.label[1:]}."
    )
    text = description or "see the references"
    return [
        Finding(
            rule_id=rule_id,
            kind=Kind.VULNERABILITY,
            severity=severity,
            title=rule_id if not aliases else f"{rule_id} ({aliases[0]})",
            message=f"{rule_id} in {package.name} {package.version}: {text}"[:2000] + fixed,
            cvss_score=score,
            package=package,
            location=location,
            tools=(TOOL,),
            tool_severities=((TOOL, severity),),
            references=tuple(dict.fromkeys(references)),
            aliases=aliases,
            checklist=("C15",),
            properties=properties,
            fix_status=status,
            severity_source=str(vuln.get("namespace", "") or "").split(":", 1)[0],
            cvss=tuple(cvss),
            kev=_kev(kevs, rule_id),
            epss=_epss(epss, rule_id),
        )
        for rule_id, aliases in _ids(str(vuln["id"]).strip(), related)
    ]


# KEV and EPSS as Grype reports them (since v0.88): ``knownExploited`` and ``epss`` lists on
# the vulnerability and on each related one, every entry naming its CVE.


def _entries(vuln: dict[str, Any], related: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    found = [e for e in vuln.get(key) or [] if isinstance(e, dict)]
    for other in related:
        found += [e for e in other.get(key) or [] if isinstance(e, dict)]
    return found


def _entry_for(entries: list[dict[str, Any]], rule_id: str) -> dict[str, Any] | None:
    """The entry of this CVE; an entry that names no CVE belongs to the match's own id."""
    named = [e for e in entries if str(e.get("cve", "")).strip().upper() == rule_id.upper()]
    return next(iter(named), next((e for e in entries if not e.get("cve")), None))


def _date(value: Any) -> str:
    text = str(value or "")[:10]
    return "" if text.startswith("0001-") else text  # Go's zero time: no date known


def _kev(entries: list[dict[str, Any]], rule_id: str) -> Kev | None:
    entry = _entry_for(entries, rule_id)
    if entry is None:
        return None
    ransomware = str(entry.get("knownRansomwareCampaignUse", "") or "")
    return Kev(_date(entry.get("dateAdded")), _date(entry.get("dueDate")), ransomware, TOOL)


def _epss(entries: list[dict[str, Any]], rule_id: str) -> Epss | None:
    entry = _entry_for(entries, rule_id)
    score = entry.get("epss") if entry is not None else None
    if entry is None or isinstance(score, bool) or not isinstance(score, int | float):
        return None
    percentile = entry.get("percentile")
    if isinstance(percentile, bool) or not isinstance(percentile, int | float):
        percentile = 0.0
    return Epss(float(score), float(percentile), _date(entry.get("date")), TOOL)


def parse_grype(document: Any, source: str = "") -> ParsedReport:
    findings: list[Finding] = []
    if not isinstance(document.get("matches") or [], list):
        raise ValueError("matches is not a list")
    for match in document.get("matches") or []:
        if isinstance(match, dict):
            findings.extend(_match(match))
    descriptor = document.get("descriptor") or {}
    version = str(descriptor.get("version", "") if isinstance(descriptor, dict) else "")
    target = document.get("source") or {}
    name = ""
    if isinstance(target, dict):
        inner = target.get("target")
        name = str(inner.get("userInput", "") if isinstance(inner, dict) else inner or "")
    return ParsedReport(TOOL, version, tuple(findings), source, name)


def looks_like_grype(document: Any) -> bool:
    return (
        isinstance(document, dict)
        and "matches" in document
        and isinstance(document.get("descriptor"), dict)
        and str(document["descriptor"].get("name", "grype")).lower() == "grype"
    )


# Running it.

RETRYABLE = re.compile(
    r"TOOMANYREQUESTS|429 Too Many Requests|rate limit|i/o timeout|TLS handshake timeout|"
    r"connection reset|context deadline exceeded|\b50[0234]\b|Service Unavailable",
    re.IGNORECASE,
)
ATTEMPTS = 3
MAX_WAIT_S = 10.0


def command(executable: str, source: str, output: Path, extra: list[str]) -> list[str]:
    return [
        executable, source,
        "-o", "json",
        "--file", str(output),
        "--quiet",
        *extra,
    ]  # fmt: skip


def _attempts(job: ScanJob, cmd: list[str], env: dict[str, str]) -> tuple[str, list[str]]:
    """Run with retries of what can succeed later; why it failed, or ""."""
    from hardening.scanners.trivy_exec import exit_reason, retry_backoff_s, run_process, tail

    timeout = job.request.scanner_timeout_s
    warnings: list[str] = []
    started = time.monotonic()
    for attempt in range(1, ATTEMPTS + 1):
        remaining = timeout - (time.monotonic() - started)
        if remaining <= 0:
            return f"did not finish within {timeout:.0f}s", warnings
        try:
            code, stderr = run_process(cmd, env, remaining, job.workdir)
        except subprocess.TimeoutExpired:
            return (
                f"did not finish within {timeout:.0f}s "
                "(raise the scanner timeout, or persist the database cache between runs)"
            ), warnings
        except OSError as exc:
            return f"could not be started: {exc}", warnings
        if code == 0:
            return "", warnings
        if code > 0 and attempt < ATTEMPTS and RETRYABLE.search(stderr):
            wait = min(MAX_WAIT_S, retry_backoff_s() * (2 ** (attempt - 1)))
            warnings.append(
                f"grype: attempt {attempt} failed ({tail(stderr)}); retrying in {wait:.0f}s"
            )
            time.sleep(wait)
            continue
        return f"{exit_reason(code)}: {tail(stderr) or 'no error output'}", warnings
    return "no attempt left", warnings


def scan(job: ScanJob) -> ScanOutput:
    output = job.workdir / "grype.json"
    extra = [a for name, args in job.request.scanner_extra_args if name == TOOL for a in args]
    # The run's archive when it is made anyway, else the engine (Grype exports it itself).
    source = (
        f"docker-archive:{job.archive}" if job.reads_archive else f"docker:{job.source.engine_id}"
    )
    cmd = command(job.executable, source, output, extra)
    env = dict(os.environ, GRYPE_DB_CACHE_DIR=str(job.cache), GRYPE_CHECK_FOR_APP_UPDATE="false")
    problem, warnings = _attempts(job, cmd, env)
    if problem:
        return ScanOutput(problem=problem, warnings=tuple(warnings))
    parsed = read_report(output, "Grype", looks_like_grype, parse_grype)
    if isinstance(parsed, str):
        return ScanOutput(problem=parsed, warnings=tuple(warnings))
    return ScanOutput(parsed.findings, "", tuple(warnings), parsed.version)


SCANNER = Scanner(
    name=TOOL,
    display_name="Grype",
    vendor="Anchore",
    information_uri="https://github.com/anchore/grype",
    executable="grype",
    version_args=("version", "-o", "json"),
    scan=scan,
    parse=parse_grype,
    looks_like=looks_like_grype,
    ignore_files=((".grype.yaml", ignores.grype_yaml),),
    rank=20,
)
