"""Trivy's native JSON, both the legacy array (before 0.20) and SchemaVersion 2, into Findings.

Secrets: Trivy's ``Match`` and ``Code.Lines`` contain the matched secret (masked or not); none
of it is carried onward. A secret finding keeps the rule, the file, the line and nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hardening import codec
from hardening.model import Cvss, Finding, FixStatus, Kind, Location, Package, Severity
from hardening.policy import ignores
from hardening.scanners.base import ScanJob, Scanner, ScanOutput
from hardening.scanners.common import FINDING_FIELDS, PACKAGE_FIELDS, ParsedReport, maker
from hardening.scanners.reports import read_report

if TYPE_CHECKING:
    import msgspec

    from hardening.request import ScanRequest
    from hardening.scanners.schema import (
        ReportText,
        TrivyResult,
        TrivyResultText,
        TrivyVulnerability,
        TrivyVulnerabilityText,
    )
    from hardening.scanners.trivy_exec import TrivySettings

TOOL = "trivy"
_CVSS_PREFERENCE = ("nvd", "redhat", "ghsa", "bitnami")
_CVSS_FIELDS = (("4.0", "V40Vector", "V40Score"), ("3.1", "V3Vector", "V3Score"),
                ("2.0", "V2Vector", "V2Score"))  # fmt: skip
# Trivy's ``Match`` of a secret in the image config: `"NAME=****",` or `ENV NAME=****` (masked).
_ENV_MATCH = re.compile(r"(?:^|[\s\"])([A-Za-z_][A-Za-z0-9_]*)=\*")


def _cvss(vuln: dict[str, Any]) -> float | None:
    cvss = vuln.get("CVSS") or {}
    if not isinstance(cvss, dict):
        return None
    sources = [s for s in _CVSS_PREFERENCE if s in cvss] + [
        s for s in cvss if s not in _CVSS_PREFERENCE
    ]
    for field in ("V40Score", "V3Score", "V2Score"):
        for source in sources:
            entry = cvss.get(source) or {}
            score = entry.get(field) if isinstance(entry, dict) else None
            if isinstance(score, int | float) and score > 0:
                return float(score)
    return None


def _cvss_entries(vuln: dict[str, Any]) -> tuple[Cvss, ...]:
    cvss = vuln.get("CVSS") or {}
    if not isinstance(cvss, dict):
        return ()
    entries = []
    for source, entry in cvss.items():
        if not isinstance(entry, dict):
            continue
        for version, vector_key, score_key in _CVSS_FIELDS:
            score = entry.get(score_key)
            vector = str(entry.get(vector_key, "") or "")
            if vector or isinstance(score, int | float):
                value = float(score) if isinstance(score, int | float) and score > 0 else None
                entries.append(Cvss(str(source), version, vector, value))
    return tuple(entries)


def _fix_status(status_field: Any, fixed_version: str) -> FixStatus:
    status = FixStatus.parse(status_field)
    if status is not None:
        return status
    return FixStatus.FIXED if fixed_version else FixStatus.AFFECTED


def _package(vuln: TrivyVulnerability, result_type: str) -> Package:
    identifier = vuln.PkgIdentifier or {}
    return Package(
        name=str("" if vuln.PkgName is None else vuln.PkgName),
        version=str("" if vuln.InstalledVersion is None else vuln.InstalledVersion),
        fixed_version=str(vuln.FixedVersion or ""),
        type=result_type,
        purl=str(identifier.get("PURL", "") if isinstance(identifier, dict) else ""),
        path=str(vuln.PkgPath or ""),
    )


def _layer(item: dict[str, Any]) -> str:
    return _diff_id(item.get("Layer"))


def _diff_id(layer: Any) -> str:
    layer = layer or {}
    return str(layer.get("DiffID", "") if isinstance(layer, dict) else "")


class _Shared:
    """What is the same for every package a vulnerability is in, read once per distinct value
    (by its JSON bytes) and shared by the findings: a large report repeats each CVE many times."""

    def __init__(self) -> None:
        from hardening.scanners.schema import decode_raw, raw_bytes

        self.raw_bytes, self.decode_raw = raw_bytes, decode_raw
        self.cvss: dict[bytes, tuple[float | None, tuple[Cvss, ...]]] = {}
        self.references: dict[tuple[Any, bytes], tuple[str, ...]] = {}
        self.text: dict[str, str] = {}
        self.cves: dict[tuple[Any, ...], list[tuple[tuple[msgspec.Raw, ...], _Cve]]] = {}
        self.statuses: dict[tuple[str | None, str], tuple[FixStatus, str]] = {}
        self.locations: dict[tuple[str, str], Location] = {}

    def cvss_of(self, raw: msgspec.Raw) -> tuple[float | None, tuple[Cvss, ...]]:
        key = self.raw_bytes(raw)
        found = self.cvss.get(key)
        if found is None:
            document = {"CVSS": self.decode_raw(raw)}
            found = self.cvss[key] = (_cvss(document), _cvss_entries(document))
        return found

    def references_of(self, primary: Any, raw: msgspec.Raw) -> tuple[str, ...]:
        key = (primary, self.raw_bytes(raw))
        found = self.references.get(key)
        if found is None:
            listed = self.decode_raw(raw) or []
            if not isinstance(listed, list):
                raise ValueError("References is not a list")
            references = [str(r) for r in listed if r]
            if primary:
                references.insert(0, str(primary))
            found = self.references[key] = tuple(dict.fromkeys(references))
        return found

    def intern(self, text: str) -> str:
        return self.text.setdefault(text, text)

    def cve_of(self, vuln: TrivyVulnerabilityText) -> _Cve:
        """What the vulnerability's record says, read once per distinct record (its text and
        the bytes of its description, CVSS and references) and shared by every package it is
        found in."""
        key = (vuln.VulnerabilityID, vuln.Severity, vuln.SeveritySource, vuln.Title,
               tuple(vuln.VendorIDs or ()), vuln.PrimaryURL)  # fmt: skip
        raws: tuple[msgspec.Raw, ...] = (vuln.Description, vuln.References, vuln.CVSS)
        for known, found in self.cves.get(key, ()):
            if known == raws:
                return found
        vid = str(vuln.VulnerabilityID).strip()
        severity = Severity.parse(vuln.Severity)
        title = self.intern(vuln.Title or vid)
        score, cvss = self.cvss_of(vuln.CVSS)
        found = (
            vid, severity, title, str(self.decode_raw(vuln.Description) or title),
            tuple(v for v in vuln.VendorIDs or [] if v and v != vid),
            score, cvss, self.references_of(vuln.PrimaryURL, vuln.References),
            self.intern(vuln.SeveritySource or ""), _TOOL_SEVERITIES[severity],
        )  # fmt: skip
        self.cves.setdefault(key, []).append((raws, found))
        return found

    def status_of(self, status_field: str | None, fixed: str) -> tuple[FixStatus, str]:
        """The fix status and the message's last sentence, once per distinct pair."""
        found = self.statuses.get((status_field, fixed))
        if found is None:
            status = _fix_status(status_field, fixed)
            found = self.statuses[(status_field, fixed)] = (status, _fix_sentence(status, fixed))
        return found

    def location_of(self, layer: str, path: str) -> Location:
        found = self.locations.get((layer, path))
        if found is None:
            found = self.locations[(layer, path)] = _LOCATION(layer=layer, image_path=path)
        return found


# vid, severity, title, description, aliases, score, CVSS, references, severity source, and
# the tool's severity as findings carry it.
_Cve = tuple[str, Severity, str, str, tuple[str, ...], float | None, tuple[Cvss, ...],
             tuple[str, ...], str, tuple[tuple[str, Severity], ...]]  # fmt: skip
_TOOLS = (TOOL,)
_CHECKLIST = ("C15",)
_TOOL_SEVERITIES = {severity: ((TOOL, severity),) for severity in Severity}
# A vulnerability's fields, by position (its properties, KEV and EPSS marks: Trivy has none).
_FINDING: Callable[..., Finding] = maker(
    Finding, (*FINDING_FIELDS[:13], "fix_status", "severity_source", "cvss")
)
_PACKAGE: Callable[..., Package] = maker(Package, PACKAGE_FIELDS)
_LOCATION: Callable[..., Location] = maker(Location)


def _fix_sentence(status: FixStatus, fixed: str) -> str:
    if fixed:
        return f" Fixed in {fixed}."
    return f" {status.label[:1].upper()}{status.label[1:]}."


def _text_vulnerabilities(
    vulns: list[TrivyVulnerabilityText], result_type: str, shared: _Shared, findings: list[Finding]
) -> None:
    """``_vulnerability`` of each vulnerability whose fields are all text, in one loop, from
    what its record shares with every other package it is in."""
    cve_of, statuses, places = shared.cve_of, shared.statuses, shared.locations
    append, vulnerability = findings.append, Kind.VULNERABILITY
    for vuln in vulns:
        if not vuln.VulnerabilityID:
            continue
        cve = cve_of(vuln)
        vid, severity, title, description, aliases, score, cvss, references, source, rated = cve
        name, version = vuln.PkgName or "", vuln.InstalledVersion or ""
        fixed, path = vuln.FixedVersion or "", vuln.PkgPath or ""
        identifier, layer = vuln.PkgIdentifier, vuln.Layer
        status, sentence = statuses.get((vuln.Status, fixed)) or shared.status_of(
            vuln.Status, fixed
        )
        place = (layer.DiffID if layer is not None else "", path)
        package = _PACKAGE(
            name, version, fixed, result_type,
            identifier.PURL if identifier is not None else "", path,
        )  # fmt: skip
        append(_FINDING(
            vid, vulnerability, severity, title,
            f"{vid} in {name} {version}: {description}"[:2000] + sentence, score, package,
            places.get(place) or shared.location_of(*place), _TOOLS, rated, references,
            aliases, _CHECKLIST, status, source, cvss,
        ))  # fmt: skip


def _vulnerability(vuln: TrivyVulnerability, result_type: str, shared: _Shared) -> Finding:
    vid = str(vuln.VulnerabilityID).strip()
    package = _package(vuln, result_type)
    severity = Severity.parse(vuln.Severity)
    title = shared.intern(str(vuln.Title or vid))
    description = str(vuln.Description or title)
    aliases = tuple(str(v) for v in vuln.VendorIDs or [] if v and v != vid)
    status = _fix_status(vuln.Status, package.fixed_version)
    fixed = (
        f" Fixed in {package.fixed_version}."
        if package.fixed_version
        else f" {status.label[:1].upper()}{status.label[1:]}."
    )
    score, cvss = shared.cvss_of(vuln.CVSS)
    # Trivy's own ``Fingerprint`` is not kept: it hashes the scan target, which for an OS
    # package of an archive is the archive's temporary path, so it changes on every run.
    return Finding(
        rule_id=vid,
        kind=Kind.VULNERABILITY,
        severity=severity,
        title=title,
        message=f"{vid} in {package.name} {package.version}: {description}"[:2000] + fixed,
        cvss_score=score,
        package=package,
        location=Location(layer=_diff_id(vuln.Layer), image_path=package.path),
        tools=(TOOL,),
        tool_severities=((TOOL, severity),),
        references=shared.references_of(vuln.PrimaryURL, vuln.References),
        aliases=aliases,
        checklist=("C15",),
        fix_status=status,
        severity_source=shared.intern(str(vuln.SeveritySource or "")),
        cvss=cvss,
    )


def _config_secret(secret: dict[str, Any], rule: str, title: str, severity: Severity) -> Finding:
    """A secret in the image config (ENV, or the history's ENV/ARG text): keyed by its name.

    Trivy names the temporary archive as the target and gives line numbers of its own config
    JSON: neither means anything to the user nor stays stable, so neither is kept.
    """
    match = _ENV_MATCH.search(str(secret.get("Match", "")))
    name = match.group(1) if match else ""
    where = f"the image's environment variable {name}" if name else "the image configuration"
    return Finding(
        rule_id=f"trivy-secret/{rule}",
        kind=Kind.SECRET,
        severity=severity,
        title=f"Secret in the image: {title}",
        message=f"{title} in {where} (value not shown). Remove it from the image and rotate it.",
        location=Location(),
        tools=(TOOL,),
        tool_severities=((TOOL, severity),),
        checklist=("C10",),
        fix="Unset it in the image and provide it at run time from a secret store; rotate it.",
        properties=(("env-name", name), ("key", f"ENV:{name}"), ("secret-source", "config")),
    )


def _secret(secret: dict[str, Any], result: dict[str, Any], artifact: str, image: bool) -> Finding:
    rule = str(secret.get("RuleID", "secret"))
    target = str(result.get("Target", ""))
    line = int(secret.get("StartLine") or 0)
    title = str(secret.get("Title", "") or rule)
    severity = Severity.parse(secret.get("Severity"))
    in_config = image and not _layer(secret) and not target.startswith("/")
    if (artifact and target == artifact) or in_config:
        return _config_secret(secret, rule, title, severity)
    return Finding(
        rule_id=f"trivy-secret/{rule}",
        kind=Kind.SECRET,
        severity=severity,
        title=f"Secret in the image: {title}",
        message=(
            f"{title} found in {target or 'the image'}"
            + (f" at line {line}" if line else "")
            + " (value not shown). Remove it from the image and rotate it."
        ),
        location=Location(image_path=target, line=0, layer=_layer(secret)),
        tools=(TOOL,),
        tool_severities=((TOOL, severity),),
        checklist=("C10",),
        fix="Remove the file or value from every layer, rotate the credential, and pass it at "
        "build time with RUN --mount=type=secret or at run time as a secret.",
        properties=(("key", f"{target}:{line}"), ("secret-line", str(line))),
    )


def _misconfiguration(item: dict[str, Any], result: dict[str, Any]) -> Finding | None:
    if str(item.get("Status", "FAIL")).upper() != "FAIL":
        return None
    check = str(item.get("AVDID") or item.get("ID") or "misconfiguration")
    cause = item.get("CauseMetadata") or {}
    line = int(cause.get("StartLine") or 0) if isinstance(cause, dict) else 0
    severity = Severity.parse(item.get("Severity"))
    target = str(result.get("Target", ""))
    references = tuple(str(r) for r in item.get("References") or [] if r)
    return Finding(
        rule_id=f"trivy-config/{check}",
        kind=Kind.MISCONFIGURATION,
        severity=severity,
        title=str(item.get("Title", "") or check),
        message=str(item.get("Message", "") or item.get("Description", "") or check),
        location=Location(image_path=target, line=line),
        tools=(TOOL,),
        tool_severities=((TOOL, severity),),
        references=references,
        fix=str(item.get("Resolution", "") or ""),
        properties=(("key", f"{target}:{check}"),),
    )


def parse_trivy(document: Any, source: str = "") -> ParsedReport:
    """Parse a loaded Trivy JSON document (list = legacy format, dict = SchemaVersion 2)."""
    if not isinstance(document, list | dict):
        raise ValueError(f"a {type(document).__name__} is not a Trivy report")
    parsed = parse_trivy_json(codec.encode(document), source)
    assert parsed is not None
    return parsed


def parse_trivy_json(data: bytes, source: str = "") -> ParsedReport | None:
    """Parse Trivy's JSON report from its bytes (or any buffer); None when it
    is not Trivy's report."""
    from hardening.scanners.schema import (
        TrivyReport,
        TrivyResult,
        decode_raw,
        decode_report_text,
        first_byte,
        present,
    )

    start = first_byte(data)
    if start == b"[":  # the legacy format: a list of results
        return _parse_legacy(data, source)
    if start != b"{":
        codec.decode(data)  # not JSON at all says so; a JSON scalar is no report of ours
        return None
    text = decode_report_text(data)
    if text is not None:  # read in one pass
        return parse_trivy_text(text, source)
    report = codec.decode(data, TrivyReport)
    has_target = present(report.Results) or present(report.ArtifactName)
    if not present(report.SchemaVersion) or not has_target:
        return None
    results = (
        codec.decode(report.Results, list[TrivyResult] | None) if present(report.Results) else None
    )
    name = decode_raw(report.ArtifactName) if present(report.ArtifactName) else ""
    image = report.ArtifactType == "container_image"
    return _parse_results(results or [], _version(report.Trivy), str(name), image, source)


def parse_trivy_text(report: ReportText, source: str = "") -> ParsedReport | None:
    """``parse_trivy_json`` of a report read whole as text; None when it is not Trivy's."""
    from hardening.scanners.schema import UNSET, decode_raw, present

    has_target = report.Results is not UNSET or present(report.ArtifactName)
    if not present(report.SchemaVersion) or not has_target:
        return None
    results = report.Results if report.Results is not UNSET else None
    name = decode_raw(report.ArtifactName) if present(report.ArtifactName) else ""
    image = report.ArtifactType == "container_image"
    return _parse_results(results or [], _version(report.Trivy), str(name), image, source)


def _version(trivy: Any) -> str:
    trivy = trivy or {}
    return str(trivy.get("Version", "") if isinstance(trivy, dict) else "")


def _parse_legacy(data: bytes, source: str) -> ParsedReport | None:
    from hardening.scanners.schema import UNSET, TrivyResult

    try:
        results = codec.decode(data, list[TrivyResult])
    except codec.WrongShape:
        return None
    first = results[0] if results else None
    if first is None or first.Target is UNSET:
        return None
    if first.Type is UNSET and first.Vulnerabilities is None:
        return None
    return _parse_results(results, "", "", False, source)


def _parse_results(
    results: list[TrivyResult] | list[TrivyResultText],
    version: str,
    target: str,
    image: bool,
    source: str,
) -> ParsedReport:
    from hardening.scanners.schema import UNSET, TrivyResultText

    findings: list[Finding] = []
    seen_config: set[tuple[str, str]] = set()
    shared = _Shared()
    with codec.paused_gc():
        for result in results:
            where = {} if result.Target is UNSET else {"Target": result.Target}
            for name in ("Secrets", "Misconfigurations"):
                if not isinstance(getattr(result, name) or [], list):
                    raise ValueError(f"{name} of {where.get('Target', 'a result')!r} is not a list")
            kind = "" if result.Type is UNSET else str(result.Type)
            if isinstance(result, TrivyResultText):  # each vulnerability already read as text
                _text_vulnerabilities(result.Vulnerabilities or [], kind, shared, findings)
            else:
                _vulnerabilities(result.Vulnerabilities or [], kind, shared, findings)
            for secret in result.Secrets or []:
                if isinstance(secret, dict):
                    found = _secret(secret, where, target, image)
                    if found.property("secret-source") == "config":
                        # The same variable is in the config's Env and in the history's ENV line.
                        identity = (found.rule_id, found.property("env-name"))
                        if identity in seen_config:
                            continue
                        seen_config.add(identity)
                    findings.append(found)
            for item in result.Misconfigurations or []:
                if isinstance(item, dict):
                    finding = _misconfiguration(item, where)
                    if finding is not None:
                        findings.append(finding)
    return ParsedReport(TOOL, version, tuple(findings), source, target)


def _vulnerabilities(
    raws: list[msgspec.Raw], kind: str, shared: _Shared, findings: list[Finding]
) -> None:
    """Each vulnerability read on its own (the report is large): as text first, and read
    loosely when a field is not text (``null`` where text belongs, a number, ...)."""
    from hardening.scanners.schema import TrivyVulnerability, TrivyVulnerabilityText

    text, loose = codec.decoder(TrivyVulnerabilityText), codec.decoder(TrivyVulnerability)
    append = findings.append
    for raw in raws:
        try:
            vuln = text(raw)
        except codec.WrongShape:
            loosely = loose(raw)
            if loosely.VulnerabilityID:
                append(_vulnerability(loosely, kind, shared))
            continue
        _text_vulnerabilities([vuln], kind, shared, findings)


def looks_like_trivy(document: Any) -> bool:
    if isinstance(document, dict):
        return "SchemaVersion" in document and ("Results" in document or "ArtifactName" in document)
    if isinstance(document, list) and document:
        first = document[0]
        return (
            isinstance(first, dict)
            and "Target" in first
            and ("Vulnerabilities" in first or "Type" in first)
        )
    return False


# Running it (the database step and the scan itself are in trivy_exec).


def settings(request: ScanRequest) -> TrivySettings:
    from hardening.scanners.trivy_exec import (
        DEFAULT_DB_REPOSITORIES,
        DEFAULT_JAVA_DB_REPOSITORIES,
        TrivySettings,
    )

    extra = [a for name, args in request.scanner_extra_args if name == TOOL for a in args]
    return TrivySettings(
        db_repositories=request.trivy_db_repositories or DEFAULT_DB_REPOSITORIES,
        java_db_repositories=request.trivy_java_db_repositories or DEFAULT_JAVA_DB_REPOSITORIES,
        db_timeout_s=request.db_timeout_s,
        db_max_age_s=request.db_max_age_s,
        scan_timeout_s=request.scanner_timeout_s,
        extra_args=tuple(extra),
    )


def scan(job: ScanJob) -> ScanOutput:
    from hardening.scanners.trivy_exec import image_flags, run_trivy

    # From the engine when the run makes no archive (every layer was seen before: Trivy's
    # layer cache spares them all from being exported); else the run's one archive.
    archive = job.archive if job.reads_archive else None
    target = image_flags(archive, "" if archive else job.source.engine_id)
    outcome = run_trivy(job.executable, settings(job.request), target, job.workdir, job.cache)
    findings: list[Finding] = []
    version = ""
    problems = [outcome.vuln_error] if outcome.vuln_error else []
    for path in outcome.reports:
        parsed = read_report(path, "Trivy", looks_like_trivy, parse_trivy, parse_trivy_json)
        if isinstance(parsed, str):
            problems.append(parsed)
            continue
        findings.extend(parsed.findings)
        version = version or parsed.version
    if outcome.error:
        problems = [outcome.error]
    listed = next((p for p in outcome.reports if "vuln" in p.name and not problems), None)
    return ScanOutput(
        tuple(findings), "; ".join(problems), tuple(outcome.warnings), version, listed
    )


SCANNER = Scanner(
    name=TOOL,
    display_name="Trivy",
    vendor="Aqua Security",
    information_uri="https://github.com/aquasecurity/trivy",
    executable="trivy",
    version_args=("version", "--format", "json"),
    scan=scan,
    parse=parse_trivy,
    parse_json=parse_trivy_json,
    looks_like=looks_like_trivy,
    ignore_files=(
        (".trivyignore", ignores.trivyignore),
        (".trivyignore.yaml", ignores.trivyignore_yaml),
    ),
    rank=10,
)
