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
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hardening import codec
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
from hardening.scanners.common import (
    CVE_RE,
    FINDING_FIELDS,
    PACKAGE_FIELDS,
    ParsedReport,
    maker,
)
from hardening.scanners.reports import read_report

if TYPE_CHECKING:
    import msgspec

    from hardening.scanners.schema import (
        GrypeArtifact,
        GrypeMatch,
        GrypeMatchText,
        GrypeVulnerability,
        ReportText,
    )

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


def _location(artifact: GrypeArtifact) -> Location:
    locations = [loc for loc in artifact.locations or [] if isinstance(loc, dict)]
    chosen = next(
        (loc for loc in locations if not str(loc.get("path", "")).startswith(_DB_PATHS)),
        locations[0] if locations else {},
    )
    return Location(layer=str(chosen.get("layerID", "")), image_path=str(chosen.get("path", "")))


def _text(value: Any) -> str:
    """A scalar as the plain-JSON parser read it: str(value), "" when absent or null."""
    return "" if value is None else str(value)


def _package(artifact: GrypeArtifact, location: Location, fixed: str = "") -> Package:
    kind = _text(artifact.type)
    return Package(
        name=_text(artifact.name),
        version=_text(artifact.version),
        fixed_version=fixed,
        type=kind,
        purl=str(artifact.purl or ""),
        path=location.image_path if kind not in ("deb", "apk", "rpm") else "",
    )


def _ids(vid: str, related: list[dict[str, Any]]) -> list[tuple[str, tuple[str, ...]]]:
    """One (id, aliases) per CVE an advisory relates to; a CVE or a lone advisory as itself."""
    related_cves = [str(r["id"]) for r in related if CVE_RE.match(str(r.get("id", "")))]
    if CVE_RE.match(vid) or not related_cves:
        return [(vid, ())]
    return [(cve, (vid,)) for cve in dict.fromkeys(related_cves)]


class _Shared:
    """What is the same in every match of a vulnerability (its CVSS, its related
    vulnerabilities, its links), read once per distinct value by its JSON bytes and shared by
    the findings: a large report repeats each CVE many times."""

    def __init__(self) -> None:
        from hardening.scanners.schema import NULL, decode_raw, raw_bytes

        self.raw_bytes, self.decode_raw, self.raw_type = raw_bytes, decode_raw, type(NULL)
        self.cvss: dict[tuple[bytes, str], tuple[float | None, tuple[Cvss, ...]]] = {}
        self.related: dict[bytes, list[dict[str, Any]]] = {}
        self.links: dict[tuple[Any, bytes], tuple[str, ...]] = {}
        self.text: dict[str, str] = {}
        self.vulnerabilities: dict[tuple[bytes, bytes], _Vulnerability | None] = {}
        self.locations: dict[tuple[str, str], Location] = {}

    def location_of(self, layer: str, path: str) -> Location:
        found = self.locations.get((layer, path))
        if found is None:
            found = self.locations[(layer, path)] = _LOCATION(layer=layer, image_path=path)
        return found

    def cvss_of(self, raw: Any, namespace: str) -> tuple[float | None, tuple[Cvss, ...]]:
        is_raw = isinstance(raw, self.raw_type)  # as read from the report, else decoded
        key = (self.raw_bytes(raw), namespace) if is_raw else None
        found = self.cvss.get(key) if key is not None else None
        if found is None:
            entries = self.decode_raw(raw) if is_raw else raw
            found = (_score(entries), tuple(_cvss_entries(entries, namespace)))
            if key is not None:
                self.cvss[key] = found
        return found

    def related_of(self, raw: msgspec.Raw) -> list[dict[str, Any]]:
        key = self.raw_bytes(raw)
        found = self.related.get(key)
        if found is None:
            listed = self.decode_raw(raw) or []
            found = self.related[key] = [r for r in listed if isinstance(r, dict)]
        return found

    def links_of(self, source: Any, raw: msgspec.Raw) -> tuple[str, ...]:
        key = (source, self.raw_bytes(raw))
        found = self.links.get(key)
        if found is None:
            references = [str(u) for u in self.decode_raw(raw) or [] if u]
            if source:
                references.insert(0, str(source))
            found = self.links[key] = tuple(dict.fromkeys(references))
        return found

    def intern(self, text: str) -> str:
        return self.text.setdefault(text, text)


def _details(
    vuln: GrypeVulnerability, related: list[dict[str, Any]], shared: _Shared
) -> tuple[str, float | None, tuple[Cvss, ...]]:
    """Description, best score and every source's CVSS, the match's own first."""
    description = str(vuln.description or "")
    score, cvss = shared.cvss_of(vuln.cvss, str(vuln.namespace or ""))
    for r in related:
        description = description or str(r.get("description", "") or "")
        other_score, other = shared.cvss_of(r.get("cvss"), str(r.get("namespace", "") or ""))
        score = other_score if score is None else score
        cvss += other
    return description, score, cvss


class _Vulnerability:
    """What a match says about its vulnerability, the same in every package it is in: read
    once per distinct vulnerability and related list (by their bytes)."""

    __slots__ = ("cvss", "fixed", "ids", "properties", "rated", "references", "score",
                 "severity", "source", "status", "suffix", "text")  # fmt: skip

    def __init__(self, vuln: GrypeVulnerability, related: list[dict[str, Any]], shared: _Shared):
        fix = vuln.fix or {}
        fixed_versions = [str(v) for v in (fix.get("versions") or []) if v]
        self.fixed = ", ".join(fixed_versions)
        self.severity = Severity.parse(vuln.severity)
        self.rated = _TOOL_SEVERITIES[self.severity]
        description, self.score, self.cvss = _details(vuln, related, shared)
        self.status = status = _fix_status(fix, fixed_versions)
        kevs = _entries(vuln.knownExploited, related, "knownExploited")
        epss = _entries(vuln.epss, related, "epss")
        risk = vuln.risk
        self.properties = (("grype-risk", f"{risk:.2f}"),) if isinstance(risk, int | float) else ()
        label = f" {status.label[:1].upper()}{status.label[1:]}."
        self.suffix = f" Fixed in {self.fixed}." if self.fixed else label
        self.text = description or "see the references"
        self.references = shared.links_of(vuln.dataSource, vuln.urls)
        self.source = shared.intern(str(vuln.namespace or "").split(":", 1)[0])
        self.ids = [
            (rule_id, aliases, rule_id if not aliases else f"{rule_id} ({aliases[0]})",
             _kev(kevs, rule_id), _epss(epss, rule_id))
            for rule_id, aliases in _ids(str(vuln.id).strip(), related)
        ]  # fmt: skip


_TOOLS = (TOOL,)
_CHECKLIST = ("C15",)
_TOOL_SEVERITIES = {severity: ((TOOL, severity),) for severity in Severity}
_FINDING: Callable[..., Finding] = maker(Finding, FINDING_FIELDS)
_PACKAGE: Callable[..., Package] = maker(Package, PACKAGE_FIELDS)
_LOCATION: Callable[..., Location] = maker(Location)
_OS_PACKAGES = ("deb", "apk", "rpm")


def _vulnerability(match: GrypeMatch | GrypeMatchText, shared: _Shared) -> _Vulnerability | None:
    from hardening.scanners.schema import GrypeVulnerability, present

    if not present(match.vulnerability):
        return None
    key = (shared.raw_bytes(match.vulnerability), shared.raw_bytes(match.relatedVulnerabilities))
    if key in shared.vulnerabilities:
        return shared.vulnerabilities[key]
    vuln = codec.decode(match.vulnerability, GrypeVulnerability | None)
    found = None
    if vuln is not None and vuln.id:
        found = _Vulnerability(vuln, shared.related_of(match.relatedVulnerabilities), shared)
    shared.vulnerabilities[key] = found
    return found


def _match(match: GrypeMatch, shared: _Shared) -> list[Finding]:
    artifact = match.artifact
    found = _vulnerability(match, shared) if artifact is not None else None
    if found is None or artifact is None:
        return []
    location = _location(artifact)
    package = _package(artifact, location, found.fixed)
    return _findings(found, package, location)


def _text_matches(matches: list[GrypeMatchText], shared: _Shared, findings: list[Finding]) -> None:
    """``_match`` of each match whose artifact's fields are all text, in one loop: what it
    shares with other matches (its vulnerability, its location) looked up as ``_match``
    looks it up, and the findings made the same way."""
    vulnerabilities, locations = shared.vulnerabilities, shared.locations
    append, unread = findings.append, _UNREAD
    vulnerability, db_paths, os_packages = Kind.VULNERABILITY, _DB_PATHS, _OS_PACKAGES
    for match in matches:
        artifact = match.artifact
        if artifact is None:
            continue
        # The key ``_vulnerability`` files it under (a match without one is read there).
        found = vulnerabilities.get(
            (bytes(match.vulnerability), bytes(match.relatedVulnerabilities)), unread
        )
        if found is unread:
            found = _vulnerability(match, shared)
        if found is None:
            continue
        place = ("", "")
        if artifact.locations:
            chosen = artifact.locations[0]
            for candidate in artifact.locations:
                if not candidate.path.startswith(db_paths):
                    chosen = candidate
                    break
            place = (chosen.layerID, chosen.path)
        location = locations.get(place) or shared.location_of(*place)
        name, version, kind = artifact.name or "", artifact.version or "", artifact.type or ""
        package = _PACKAGE(
            name, version, found.fixed, kind, artifact.purl or "",
            location.image_path if kind not in os_packages else "",
        )  # fmt: skip
        for rule_id, aliases, title, kev, epss in found.ids:
            message = f"{rule_id} in {name} {version}: {found.text}"[:2000] + found.suffix
            append(_FINDING(
                rule_id, vulnerability, found.severity, title, message, found.score, package,
                location, _TOOLS, found.rated, found.references, aliases, _CHECKLIST,
                found.properties, found.status, found.source, found.cvss, kev, epss,
            ))  # fmt: skip


_UNREAD: Any = object()  # not looked up yet (None: no vulnerability)


def _findings(found: _Vulnerability, package: Package, location: Location) -> list[Finding]:
    severity = found.severity
    return [
        _FINDING(
            rule_id,
            Kind.VULNERABILITY,
            severity,
            title,
            f"{rule_id} in {package.name} {package.version}: {found.text}"[:2000] + found.suffix,
            found.score,
            package,
            location,
            _TOOLS,
            found.rated,
            found.references,
            aliases,
            _CHECKLIST,
            found.properties,
            found.status,
            found.source,
            found.cvss,
            kev,
            epss,
        )  # fmt: skip
        for rule_id, aliases, title, kev, epss in found.ids
    ]


# KEV and EPSS as Grype reports them (since v0.88): ``knownExploited`` and ``epss`` lists on
# the vulnerability and on each related one, every entry naming its CVE.


def _entries(own: Any, related: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    if not own and not any(key in other for other in related):
        return []  # the common case, before Grype 0.88 and for most CVEs since
    found = [e for e in own or [] if isinstance(e, dict)]
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
    entry = _entry_for(entries, rule_id) if entries else None
    if entry is None:
        return None
    ransomware = str(entry.get("knownRansomwareCampaignUse", "") or "")
    return Kev(_date(entry.get("dateAdded")), _date(entry.get("dueDate")), ransomware, TOOL)


def _epss(entries: list[dict[str, Any]], rule_id: str) -> Epss | None:
    entry = _entry_for(entries, rule_id) if entries else None
    score = entry.get("epss") if entry is not None else None
    if entry is None or isinstance(score, bool) or not isinstance(score, int | float):
        return None
    percentile = entry.get("percentile")
    if isinstance(percentile, bool) or not isinstance(percentile, int | float):
        percentile = 0.0
    return Epss(float(score), float(percentile), _date(entry.get("date")), TOOL)


def parse_grype(document: Any, source: str = "") -> ParsedReport:
    if not isinstance(document, dict):
        raise ValueError(f"a {type(document).__name__} is not a Grype report")
    parsed = parse_grype_json(codec.encode(document), source)
    if parsed is None:
        raise ValueError("not a Grype report")
    return parsed


def parse_grype_json(data: bytes, source: str = "") -> ParsedReport | None:
    """Parse Grype's JSON report from its bytes (or any buffer); None when it
    is not Grype's report."""
    from hardening.scanners.schema import (
        RAW_LIST,
        GrypeReport,
        decode_report_text,
        first_byte,
        present,
    )

    if first_byte(data) != b"{":
        codec.decode(data)  # not JSON at all says so; other JSON is no report of ours
        return None
    text = decode_report_text(data)
    if text is not None:  # read in one pass
        return parse_grype_text(text, source)
    report = codec.decode(data, GrypeReport)
    if not present(report.matches) or not _is_grype(report.descriptor):
        return None
    matches = codec.decode(report.matches, RAW_LIST)
    findings: list[Finding] = []
    with codec.paused_gc():
        _matches(matches or [], findings)
    return _parsed(report.descriptor, report.source, findings, source)


def parse_grype_text(report: ReportText, source: str = "") -> ParsedReport | None:
    """``parse_grype_json`` of a report read whole as text; None when it is not Grype's."""
    from hardening.scanners.schema import UNSET

    if report.matches is UNSET or not _is_grype(report.descriptor):
        return None
    findings: list[Finding] = []
    with codec.paused_gc():
        _text_matches(report.matches or [], _Shared(), findings)
    return _parsed(report.descriptor, report.source, findings, source)


def _is_grype(descriptor: Any) -> bool:
    return isinstance(descriptor, dict) and str(descriptor.get("name", "grype")).lower() == "grype"


def _parsed(descriptor: Any, target: Any, findings: list[Finding], source: str) -> ParsedReport:
    version = str(descriptor.get("version", ""))
    target = target or {}
    name = ""
    if isinstance(target, dict):
        inner = target.get("target")
        name = str(inner.get("userInput", "") if isinstance(inner, dict) else inner or "")
    return ParsedReport(TOOL, version, tuple(findings), source, name)


def _matches(raws: list[msgspec.Raw], findings: list[Finding]) -> None:
    """Each match read on its own (the report is large): its artifact as text first, and
    read loosely when a field is not text (``null`` where text belongs, a number, ...)."""
    from hardening.scanners.schema import GrypeMatch, GrypeMatchText

    text, loose = codec.decoder(GrypeMatchText), codec.decoder(GrypeMatch)
    shared = _Shared()
    extend = findings.extend
    for raw in raws:
        try:
            match = text(raw)
        except codec.WrongShape:
            extend(_match(loose(raw), shared))
            continue
        _text_matches([match], shared, findings)


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
    import subprocess

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


def environment(cache: Path) -> dict[str, str]:
    """Grype's environment: its database in ``cache``, no check for a newer Grype."""
    return dict(os.environ, GRYPE_DB_CACHE_DIR=str(cache), GRYPE_CHECK_FOR_APP_UPDATE="false")


def update_db(executable: str, cache: Path, timeout_s: float) -> str:
    """`grype db update` into ``cache``: "" when done, else why not (one line). Grype then
    checks for a newer database at most every two hours, so scans right after it do not."""
    import subprocess

    from hardening import processes

    try:
        code, _out, err = processes.run(
            [executable, "db", "update"], env=environment(cache), timeout=timeout_s
        )
    except subprocess.TimeoutExpired:
        return f"no answer within {timeout_s:.0f} s"
    except OSError as exc:
        return str(exc)
    return "" if code == 0 else (err.strip().splitlines() or [f"exit {code}"])[-1][:300]


def scan(job: ScanJob) -> ScanOutput:
    output = job.workdir / "grype.json"
    extra = [a for name, args in job.request.scanner_extra_args if name == TOOL for a in args]
    # The run's archive when it is made anyway, else the engine (Grype exports it itself).
    source = (
        f"docker-archive:{job.archive}" if job.reads_archive else f"docker:{job.source.engine_id}"
    )
    cmd = command(job.executable, source, output, extra)
    env = environment(job.cache)
    problem, warnings = _attempts(job, cmd, env)
    if problem:
        return ScanOutput(problem=problem, warnings=tuple(warnings))
    parsed = read_report(output, "Grype", looks_like_grype, parse_grype, parse_grype_json)
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
    parse_json=parse_grype_json,
    looks_like=looks_like_grype,
    ignore_files=((".grype.yaml", ignores.grype_yaml),),
    rank=20,
)
