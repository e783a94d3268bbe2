"""One SARIF 2.1.0 file for everything: both scanners' findings, the hardening rules and the
runtime probes, in one run of one tool, shaped for GitHub code scanning.

The log, run, tool, invocation and notifications are sarif-om objects. Rules and results are
built as plain dicts: at 100,000 findings the attrs objects and their generic serializer cost
several times the time budget, and the dicts are the same JSON.

GitHub's limits are applied here, what matters first (``model.sort_key``: known exploited,
then EPSS, then severity), with an honest count of what was left out: 25,000 results and
25,000 rules per run, 1,000 locations per result, 10 MB gzipped. A vulnerability on CISA's
KEV catalog carries a ``kev`` result property and its rule a ``kev`` tag; an EPSS score, an
``epss`` property. ``security-severity`` stays in the band of the reported severity.
"""

from __future__ import annotations

import datetime
import functools
import re
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import attr
import sarif_om

from hardening import INFORMATION_URI, TOOL_NAME, __version__, codec
from hardening.model import (
    FINGERPRINT_KEY,
    Cvss,
    Finding,
    Kind,
    Package,
    Report,
    RuleDoc,
    RunStatus,
    Severity,
    sort_key,
)
from hardening.report.fingerprint import line_hashes
from hardening.report.formats import OutputFormat, RenderInput

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
MAX_RESULTS = 25_000
MAX_RULES = 25_000
MAX_LOCATIONS = 1_000
MAX_GZIP_BYTES = 10 * 1024 * 1024
MAX_TAGS = 10
MAX_RUNS_PER_FILE = 20  # GitHub's limit of runs in one upload


def to_json(value: Any) -> Any:
    """Serialize sarif-om (attrs) objects by their schema property names, dropping unset ones."""
    if attr.has(type(value)):
        out: dict[str, Any] = {}
        for field in attr.fields(type(value)):
            item = getattr(value, field.name)
            default = field.default
            if isinstance(default, attr.Factory):  # type: ignore[arg-type]
                default = default.factory()
            if item is None or (default is not attr.NOTHING and item == default):
                continue
            out[field.metadata.get("schema_property_name", field.name)] = to_json(item)
        return out
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    return value


def _score(finding: Finding) -> float | None:
    """GitHub's security-severity: always inside the band of the severity we report."""
    return finding.security_severity


def _rule_from_doc(doc: RuleDoc) -> dict[str, Any]:
    tags = ["security", doc.kind.value, doc.target, *doc.checklist]
    if doc.owasp:
        tags.append(f"owasp-{doc.owasp.lower()}")
    return {
        "id": doc.id,
        "name": _pascal(doc.name),
        "shortDescription": {"text": doc.title},
        "fullDescription": {"text": doc.why},
        "helpUri": f"{INFORMATION_URI}/blob/main/docs/rules.md#{doc.id.lower()}",
        "help": {"text": f"{doc.why}\n\nFix: {doc.fix}", "markdown": doc.help_markdown},
        "defaultConfiguration": {"level": doc.severity.sarif_level},
        "properties": {
            "tags": list(dict.fromkeys(tags))[:MAX_TAGS],
            "security-severity": f"{doc.severity.security_severity:.1f}",
            "precision": "high",
            "problem.severity": doc.severity.problem_severity,
        },
    }


def _rule_from_findings(rule_id: str, findings: Sequence[Finding]) -> dict[str, Any]:
    """A rule for a vulnerability or an undocumented id, made from what its findings say."""
    first = findings[0]
    severity = max({id(f.severity): f.severity for f in findings}.values())
    scores = _scores(findings, severity)
    title = first.title or rule_id
    packages = sorted({f.package.name for f in findings if f.package})
    fixed = sorted(
        {f.package.fixed_version for f in findings if f.package and f.package.fixed_version}
    )
    fix = (
        f"Upgrade {', '.join(packages) or 'the package'} to {', '.join(fixed)} or later, "
        "or rebuild on a base image that ships it."
        if fixed
        else "No fixed version is known yet; reduce exposure (a smaller base image, remove the "
        "package if unused) or record a reasoned ignore."
    )
    if first.kind is not Kind.VULNERABILITY and first.fix:
        fix = first.fix
    # Each distinct tuple of references once (a CVE's findings share theirs): the same order.
    lists = {id(f.references): f.references for f in findings}.values()
    references = list(dict.fromkeys(r for listed in lists for r in listed))[:5]
    kev = ["kev"] if any(f.kev is not None for f in findings) else []  # known exploited
    markdown = f"**{_md(title)}**\n\n{_md(first.message)}\n\n**Fix:** {_md(fix)}"
    if references:
        markdown += "\n\n" + "\n".join(f"- <{r}>" for r in references)
    rule: dict[str, Any] = {
        "id": rule_id,
        "name": _pascal(rule_id),
        "shortDescription": {"text": _truncate(title, 1000)},
        "fullDescription": {"text": _truncate(first.message or title, 4000)},
        "help": {"text": f"{first.message}\n\nFix: {fix}", "markdown": markdown},
        "defaultConfiguration": {"level": severity.sarif_level},
        "properties": {
            "tags": ["security", *kev, first.kind.value, *first.checklist][:MAX_TAGS],
            "precision": "very-high" if len(first.tools) > 1 else "high",
            "problem.severity": severity.problem_severity,
        },
    }
    if scores:  # an unknown severity has no score: GitHub then shows no severity at all
        rule["properties"]["security-severity"] = f"{max(scores):.1f}"
    if references:
        rule["helpUri"] = references[0]
    return rule


def _scores(findings: Sequence[Finding], severity: Severity) -> list[float]:
    """The security severity of each finding of that severity, asked once per distinct
    (severity, severity source, CVSS list): all ``Finding.security_severity`` reads."""
    distinct = {(f.severity_source, id(f.cvss)): f for f in findings if f.severity is severity}
    return [s for f in distinct.values() if (s := _score(f)) is not None]


def _pascal(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", text) if part)


def _md(text: str) -> str:
    return re.sub(r"([\\`*_{}\[\]<>|])", r"\\\1", text)


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _location(finding: Finding, report: Report) -> tuple[str, int, int]:
    """A repo-relative file and line for every result, the best one known."""
    loc = finding.location
    if loc.path:
        return loc.path, max(1, loc.line), max(loc.end_line, loc.line, 1)
    if report.dockerfile:
        return report.dockerfile, 1, 1
    if loc.image_path:
        return loc.image_path.lstrip("/") or "image", 1, 1
    if finding.package and finding.package.path:
        return finding.package.path.lstrip("/"), 1, 1
    return "Dockerfile", 1, 1


def _message(finding: Finding) -> str:
    text = finding.message or finding.title or finding.rule_id
    if finding.fix and finding.kind is not Kind.VULNERABILITY and "Fix:" not in text:
        text = f"{text} Fix: {finding.fix}"
    if finding.location.note and finding.location.note not in text:
        text = f"{text} ({finding.location.note})"
    return _truncate(text, 16_000)


def _physical(finding: Finding, report: Report) -> tuple[dict[str, Any], str, int]:
    path, line, end_line = _location(finding, report)
    physical: dict[str, Any] = {
        "artifactLocation": {"uri": path},
        "region": {"startLine": line, "endLine": end_line},
    }
    location: dict[str, Any] = {"physicalLocation": physical}
    image_path = finding.location.image_path or (finding.package.path if finding.package else "")
    if image_path:
        location["logicalLocations"] = [
            {"fullyQualifiedName": image_path, "kind": "module" if finding.package else "resource"}
        ]
    return location, path, line


def _present(pairs: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    return {key: value for key, value in pairs if value not in ("", None)}


def _vulnerability_properties(finding: Finding, properties: dict[str, Any]) -> None:
    if finding.cvss_score is not None:
        properties["cvssScore"] = codec.number(finding.cvss_score)
    if finding.severity_source:
        properties["severitySource"] = finding.severity_source
    if finding.cvss:
        properties["cvss"] = _cvss(finding.cvss)
    if finding.fix_status is not None:
        properties["fixStatus"] = finding.fix_status.value
    _exploit_properties(finding, properties)
    if finding.package:
        properties["package"] = _package_properties(finding.package)


def _package_properties(pkg: Package) -> dict[str, Any]:
    """``_present`` of the package's fields, spelled out: it runs once per result."""
    out: dict[str, Any] = {}
    if pkg.name not in _ABSENT:
        out["name"] = pkg.name
    if pkg.version not in _ABSENT:
        out["version"] = pkg.version
    if pkg.fixed_version not in _ABSENT:
        out["fixedVersion"] = pkg.fixed_version
    if pkg.type not in _ABSENT:
        out["type"] = pkg.type
    if pkg.purl not in _ABSENT:
        out["purl"] = pkg.purl
    if pkg.path not in _ABSENT:
        out["path"] = pkg.path
    return out


_ABSENT = ("", None)  # what ``_present`` leaves out


@functools.lru_cache(maxsize=4096)  # a CVE's CVSS list is the same in each package it is in
def _cvss(cvss: tuple[Cvss, ...]) -> list[dict[str, Any]]:
    return [
        _present(
            (
                ("source", c.source),
                ("version", c.version),
                ("vector", c.vector),
                ("score", None if c.score is None else codec.number(c.score)),
            )
        )  # fmt: skip
        for c in cvss
    ]


def _exploit_properties(finding: Finding, properties: dict[str, Any]) -> None:
    """On CISA's KEV catalog (with its dates and source), and the EPSS score and percentile."""
    kev, epss = finding.kev, finding.epss
    if kev is not None:
        properties["kev"] = _present(
            (("dateAdded", kev.date_added), ("dueDate", kev.due_date),
             ("knownRansomwareCampaignUse", kev.ransomware), ("source", kev.source))
        )  # fmt: skip
    if epss is not None:
        properties["epss"] = _present(
            (("score", codec.number(epss.score)), ("percentile", codec.number(epss.percentile)),
             ("date", epss.date),
             ("source", epss.source))
        )  # fmt: skip


def _properties(finding: Finding, fingerprint: str) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "kind": finding.kind.value,
        "severity": finding.severity.value,
        "tools": list(finding.tools) or [TOOL_NAME],
        "fingerprint": fingerprint,
    }
    if finding.tool_severities:
        properties["toolSeverities"] = {tool: sev.value for tool, sev in finding.tool_severities}
    _vulnerability_properties(finding, properties)
    if finding.location.layer:
        properties["layer"] = finding.location.layer
    if finding.aliases:
        properties["aliases"] = list(finding.aliases)
    if finding.checklist:
        properties["checklist"] = list(finding.checklist)
    if finding.confidence != "high":
        properties["confidence"] = finding.confidence
    for key, value in finding.properties:
        properties.setdefault(key, value)
    return properties


def _fixes(finding: Finding) -> list[dict[str, Any]]:
    replacement = finding.property("replacement")
    if not (replacement and finding.location.path and finding.location.line):
        return []
    line = finding.location.line
    change = {
        "artifactLocation": {"uri": finding.location.path},
        "replacements": [
            {
                "deletedRegion": {"startLine": line, "endLine": line},
                "insertedContent": {"text": replacement + "\n"},
            }
        ],
    }
    return [{"description": {"text": f"Replace the line with: {replacement}"},
             "artifactChanges": [change]}]  # fmt: skip


# level, the properties (this finding's fingerprint, package and layer are replaced in a copy),
# the baseline state and the replacement line of a fix.
_Template = tuple[str, dict[str, Any], str, str]


class _Results:
    """Results, each made from the parts it shares with others: what a result says about its
    vulnerability (level, tools, severities, CVSS, fix status, KEV, EPSS, aliases, ...) is the
    same in every package the vulnerability is in, so it is made once per distinct combination
    of the fields it comes from, and its location once per distinct place. The combinations are
    told apart by the ids of the finding's tuples, enums and score, which the parsers and the
    merge share among a CVE's findings (and which live as long as the findings, for the whole
    build); findings that share nothing only make more templates."""

    def __init__(self, report: Report, hashes: Mapping[str, Mapping[int, str]]) -> None:
        self.report, self.hashes = report, hashes
        self.templates: dict[tuple[object, ...], _Template] = {}
        self.places: dict[tuple[object, ...], list[dict[str, Any]]] = {}

    def template(self, f: Finding) -> _Template:
        key = (id(f.kind), id(f.severity), id(f.tools), id(f.tool_severities), id(f.cvss_score),
               f.severity_source, id(f.cvss), id(f.fix_status), id(f.kev), id(f.epss),
               id(f.aliases), id(f.checklist), f.confidence, id(f.properties),
               f.package is None, not f.location.layer)  # fmt: skip
        found = self.templates.get(key)
        if found is None:
            found = self.templates[key] = (
                f.severity.sarif_level, _properties(f, ""), f.baseline_state,
                f.property("replacement"),
            )  # fmt: skip
        return found

    def locations(self, f: Finding) -> tuple[list[dict[str, Any]], str, int]:
        path, line, end_line = _location(f, self.report)
        package = f.package
        image_path = f.location.image_path or (package.path if package else "")
        key = (path, line, end_line, image_path, package is None)
        found = self.places.get(key)
        if found is None:
            found = self.places[key] = [_physical(f, self.report)[0]]
        return found, path, line

    def __call__(self, finding: Finding, rule_index: int) -> dict[str, Any]:
        level, shared, baseline, replacement = self.template(finding)
        locations, path, line = self.locations(finding)
        fingerprint = finding.fingerprint
        properties = shared.copy()  # the same keys in the same order: replaced where they are
        properties["fingerprint"] = fingerprint
        if finding.package is not None:
            properties["package"] = _package_properties(finding.package)
        if finding.location.layer:
            properties["layer"] = finding.location.layer
        fingerprints = {FINGERPRINT_KEY: fingerprint}
        line_hash = self.hashes.get(path, {}).get(line) if self.hashes else None
        if line_hash and finding.package is None:
            # File results: GitHub's own line hash. Image results keep only the stable
            # (rule, package, version, path) hash, so moving the FROM line never re-opens them.
            fingerprints["primaryLocationLineHash"] = line_hash
        result: dict[str, Any] = {
            "ruleId": finding.rule_id,
            "ruleIndex": rule_index,
            "level": level,
            "message": {"text": _message(finding)},
            "locations": locations,
            "partialFingerprints": fingerprints,
            "properties": properties,
        }
        if baseline in ("new", "unchanged"):
            result["baselineState"] = baseline
        fixes = _fixes(finding) if replacement else []
        if fixes:
            result["fixes"] = fixes
        if finding.suppression is not None:
            result["suppressions"] = [
                {
                    "kind": finding.suppression.kind,
                    "status": "accepted",
                    "justification": _truncate(finding.suppression.justification, 2000),
                }
            ]
        return result


def _line_hashes(
    findings: Sequence[Finding], sources: Mapping[str, str]
) -> dict[str, dict[int, str]]:
    """GitHub's line hashes of the files that file findings point at, from their text."""
    paths = {f.location.path for f in findings if f.location.path and f.package is None}
    return {path: line_hashes(sources[path]) for path in paths if path in sources}


def _notifications(report: Report) -> list[sarif_om.Notification]:
    notes = [
        sarif_om.Notification(
            message=sarif_om.Message(text=f"{note.stage}: {note.message}"), level=note.level
        )
        for note in report.notifications
    ]
    seen = {n.message.text for n in notes}
    for run in report.tool_runs:
        text = f"{run.name}: {run.reason or run.status.value}"
        if run.status is RunStatus.FAILED and not any(run.reason in s for s in seen if run.reason):
            notes.append(sarif_om.Notification(message=sarif_om.Message(text=text), level="error"))
    return notes


def _encoded(document: dict[str, Any]) -> bytes:
    return codec.encode(document)  # what json.dumps(ensure_ascii=False) writes, faster


def _too_big(data: bytes) -> bool:
    if len(data) <= MAX_GZIP_BYTES:
        return False  # compression cannot make it bigger than it is
    # A fast compression first; only a borderline case pays for the thorough one.
    return _gzip_size(data, 1) > MAX_GZIP_BYTES and _gzip_size(data, 6) > MAX_GZIP_BYTES


def _gzip_size(data: bytes, level: int) -> int:
    """``len(gzip.compress(data, level))``: the raw deflate stream in gzip's 10-byte header
    and 8-byte trailer, without the CRC pass over the data that only the trailer's bytes need."""
    return 18 + len(zlib.compress(data, level, wbits=-15))


def build_sarif_text(
    report: Report,
    rule_docs: Mapping[str, RuleDoc],
    sources: Mapping[str, str] | None = None,
    now: datetime.datetime | None = None,
) -> tuple[dict[str, Any], str]:
    """The SARIF document and its compact text. ``sources`` holds the text of the files the
    findings point at (for GitHub's line fingerprints); ``now`` is the invocation's end."""
    document, data = build_sarif_bytes(report, rule_docs, sources, now)
    return document, data.decode()


def build_sarif_bytes(
    report: Report,
    rule_docs: Mapping[str, RuleDoc],
    sources: Mapping[str, str] | None = None,
    now: datetime.datetime | None = None,
) -> tuple[dict[str, Any], bytes]:
    """The SARIF document and its compact UTF-8 text."""
    with codec.paused_gc():
        return _build(report, rule_docs, sources or {}, now)


def _build(
    report: Report,
    rule_docs: Mapping[str, RuleDoc],
    sources: Mapping[str, str],
    now: datetime.datetime | None,
) -> tuple[dict[str, Any], bytes]:
    end = (now or datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ordered = sorted(report.findings, key=sort_key)
    omitted = max(0, len(ordered) - MAX_RESULTS)
    kept = ordered[:MAX_RESULTS]
    document = _assemble(report, kept, rule_docs, sources, omitted, end)
    data = _encoded(document)
    # Over GitHub's 10 MB (gzipped) upload limit: drop the least severe results until it fits.
    while kept and _too_big(data):
        drop = max(1, len(kept) // 10)
        kept = kept[:-drop]
        omitted += drop
        document = _assemble(report, kept, rule_docs, sources, omitted, end)
        data = _encoded(document)
    return document, data


def build_sarif(
    report: Report,
    rule_docs: Mapping[str, RuleDoc],
    sources: Mapping[str, str] | None = None,
    now: datetime.datetime | None = None,
) -> dict[str, Any]:
    return build_sarif_bytes(report, rule_docs, sources, now)[0]


def run_documents(given: RenderInput) -> list[dict[str, Any]]:
    """Several images: one run per image in its own category, at most 20 runs per document
    (GitHub's limit); the first document is the SARIF file, the rest go beside it."""
    runs = [
        build_sarif(part, given.rule_docs, given.sources, given.now)["runs"][0]
        for part in given.report.parts
    ]
    documents = []
    for start in range(0, max(1, len(runs)), MAX_RUNS_PER_FILE):
        document = build_sarif(Report(findings=()), {}, {}, given.now)
        document["runs"] = runs[start : start + MAX_RUNS_PER_FILE]
        documents.append(document)
    return documents


def render(given: RenderInput) -> bytes:
    if given.report.parts:
        return _encoded(run_documents(given)[0]) + b"\n"
    return build_sarif_bytes(given.report, given.rule_docs, given.sources, given.now)[1] + b"\n"


FORMAT = OutputFormat(
    "sarif", "docker-hardening.sarif", "SARIF 2.1.0 for GitHub code scanning (one run)", render
)


def _rules_and_results(
    report: Report,
    findings: Sequence[Finding],
    rule_docs: Mapping[str, RuleDoc],
    sources: Mapping[str, str],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    by_rule: dict[str, list[Finding]] = {}
    for finding in findings:
        by_rule.setdefault(finding.rule_id, []).append(finding)
    rule_ids = list(by_rule)[:MAX_RULES]
    rules = [
        _rule_from_doc(rule_docs[rid])
        if rid in rule_docs
        else _rule_from_findings(rid, by_rule[rid])
        for rid in rule_ids
    ]
    rule_index = {rid: i for i, rid in enumerate(rule_ids)}
    make = _Results(report, _line_hashes(findings, sources))
    results = [make(f, rule_index[f.rule_id]) for f in findings if f.rule_id in rule_index]
    return rules, results


def _tool(report: Report) -> sarif_om.Tool:
    """The driver, and one extension per scanner that ran, named as the scanner names itself."""
    extensions = [
        sarif_om.ToolComponent(
            name=run.name, version=run.version or None, information_uri=run.information_uri or None
        )
        for run in report.tool_runs
        if run.scanner and run.status is RunStatus.OK
    ]
    driver = sarif_om.ToolComponent(
        name=TOOL_NAME, version=__version__, semantic_version=__version__,
        information_uri=INFORMATION_URI,
    )  # fmt: skip
    return sarif_om.Tool(driver=driver, extensions=extensions or None)


def _comparison(report: Report) -> dict[str, Any]:
    """What changed against the base. Fixed findings are listed here, never as results:
    a result would open an alert for something that is gone."""
    comparison = report.comparison
    assert comparison is not None
    return {
        "base": comparison.base,
        "compared": comparison.compared,
        "reason": comparison.reason,
        "new": comparison.new,
        "unchanged": comparison.unchanged,
        "fixed": comparison.gone,
        "summary": comparison.line,
        "failOnScope": "new" if comparison.scope_new_only else "all",
        "fixedFindings": [
            _present(
                (
                    ("ruleId", f.rule_id),
                    ("severity", f.severity.value),
                    ("package", f.package.name if f.package else ""),
                    ("version", f.package.version if f.package else ""),
                    ("fingerprint", f.fingerprint),
                )
            )  # fmt: skip
            for f in comparison.fixed
        ],
    }


def _run_properties(report: Report, omitted: int) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "stages": {s.name: s.status.value for s in report.stages},
        "counts": {sev.value: n for sev, n in report.counts_by_severity().items()},
        "suppressed": sum(1 for f in report.findings if f.suppressed),
        "resultsOmitted": omitted,
        "toolRuns": [
            {"name": r.name, "status": r.status.value, "version": r.version, "reason": r.reason}
            for r in report.tool_runs
        ],
    }
    if omitted:
        properties["resultsOmittedNote"] = (
            f"{omitted} lower-severity result(s) were left out to stay within GitHub's limits"
        )
    if report.comparison is not None:
        properties["comparison"] = _comparison(report)
    if report.image is not None:
        image = report.image
        properties["image"] = {
            "reference": image.reference,
            "id": image.image_id,
            "digest": image.digest,
        }
    return properties


def _assemble(
    report: Report,
    findings: Sequence[Finding],
    rule_docs: Mapping[str, RuleDoc],
    sources: Mapping[str, str],
    omitted: int,
    end_time: str,
) -> dict[str, Any]:
    rules, results = _rules_and_results(report, findings, rule_docs, sources)
    failed = bool(report.failed_tools()) or any(n.level == "error" for n in report.notifications)
    invocation = sarif_om.Invocation(
        execution_successful=not failed,
        end_time_utc=end_time,
        tool_execution_notifications=_notifications(report) or None,
    )
    run = sarif_om.Run(
        tool=_tool(report),
        invocations=[invocation],
        automation_details=sarif_om.RunAutomationDetails(id=report.category or None),
        column_kind="unicodeCodePoints",
    )
    out = to_json(sarif_om.SarifLog(version="2.1.0", runs=[run], schema_uri=SCHEMA_URI))
    run_json = out["runs"][0]
    run_json["tool"]["driver"]["rules"] = rules
    run_json["results"] = results
    run_json["properties"] = _run_properties(report, omitted)
    return {"$schema": out.pop("$schema", SCHEMA_URI), **out}


def results_omitted(document: Mapping[str, Any]) -> int:
    return int(document["runs"][0]["properties"]["resultsOmitted"])
