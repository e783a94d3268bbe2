"""De-duplication of Trivy's and Grype's vulnerability findings.

Rules (these decide the merged count, so they are stated here where they are applied):

1. Identity is the triple (vulnerability id, package, installed version).
2. Ids are normalized so both tools meet on the CVE: the parsers already expand an advisory
   (GHSA-, ELSA-, ALAS-, ...) into one finding per related CVE with the advisory as an alias;
   here ids compare case-insensitively, and an advisory id one tool reports on its own is folded into the
   CVE when the other tool's finding for the same package and version lists it as an alias.
3. A package is its ecosystem and its name as that ecosystem compares names
   (``common.package_key``): the PURL type wins over the tools' own type names, qualifiers
   such as ``distro=debian-12.7`` versus ``distro=debian-12&upstream=...`` are ignored.
4. The same triple from both tools is ONE finding: tools are listed (sorted), each tool's own
   severity is kept in ``tool_severities``, the finding's severity is the highest, and a
   disagreement is recorded in the ``severity-disagreement`` property. References and aliases
   are united; the fixed version, CVSS score and locations are taken from the first finding
   that has them, Trivy's first (its layer diff id is per package, not per file).
5. Findings only one tool saw stay, listing that tool. Duplicates from one tool (the same
   triple matched twice) collapse the same way. Findings that are not vulnerabilities pass
   through unchanged.
6. What a tool says about a CVE itself, not the package (on CISA's KEV catalog, its EPSS
   score: Grype's report carries both), holds for every finding of that CVE: a CVE only Trivy
   saw, or saw in another package, is marked too. Of two EPSS scores the newer is kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from operator import attrgetter

from hardening import codec
from hardening.model import Cvss, Epss, Finding, FixStatus, Kev, Kind, Package, Severity, sort_key
from hardening.scanners import registry
from hardening.scanners.common import package_key

Triple = tuple[str, tuple[str, str], str]


def identity(finding: Finding) -> Triple:
    assert finding.package is not None
    return finding.rule_id.upper(), package_key(finding.package), finding.package.version


def _fold_advisories(vulns: list[Finding]) -> list[Finding]:
    """Rename an advisory id to its CVE where another finding of the same package says so."""
    cve_of: dict[tuple[str, tuple[str, str], str], str] = {}
    for f in vulns:
        assert f.package is not None
        if f.rule_id.upper().startswith("CVE-"):
            for alias in f.aliases:
                cve_of[(alias.upper(), package_key(f.package), f.package.version)] = f.rule_id
    if not cve_of:
        return vulns
    out = []
    for f in vulns:
        assert f.package is not None
        cve = cve_of.get((f.rule_id.upper(), package_key(f.package), f.package.version))
        if cve and not f.rule_id.upper().startswith("CVE-"):
            f = replace(f, rule_id=cve, aliases=tuple(dict.fromkeys((*f.aliases, f.rule_id))))
        out.append(f)
    return out


Ranks = dict[str | tuple[str, ...], int]


def _tool_rank(finding: Finding, ranks: Ranks) -> int:
    rank = ranks.get(finding.tools)  # by the tools tuple, remembered: asked once per finding
    if rank is None:
        rank = ranks[finding.tools] = min((ranks.get(t, 99) for t in finding.tools), default=99)
    return rank


def _ranks() -> Ranks:
    """Each scanner's merge rank, read from the registry once per merge."""
    return {name: scanner.rank for name, scanner in registry.scanners().items()}


# Severity by rank through a plain dict: the enum's own comparisons cost more per merged pair.
_RANK = {severity: severity.rank for severity in Severity}
_CVSS_ORDER = attrgetter("source", "version", "vector")


def _severities(group: list[Finding]) -> dict[str, Severity]:
    severities: dict[str, Severity] = {}
    for f in group:
        for tool, severity in f.tool_severities:
            known = severities.get(tool)
            if known is None or _RANK[severity] > _RANK[known]:
                severities[tool] = severity
    return severities


def _package(group: list[Finding]) -> Package:
    first = group[0].package
    assert first is not None
    packages = [f.package for f in group if f.package]
    fixed = next((p.fixed_version for p in packages if p.fixed_version), "")
    purl = next((p.purl for p in packages if p.purl), "")
    path = next((p.path for p in packages if p.path), "")
    return Package(first.name, first.version, fixed, first.type, purl, path)


def _properties(
    group: list[Finding], severities: dict[str, Severity]
) -> tuple[tuple[str, str], ...]:
    properties = dict(group[0].properties)
    for f in group[1:]:
        for key, value in f.properties:
            properties.setdefault(key, value)
    if len(set(severities.values())) > 1:
        properties["severity-disagreement"] = ",".join(
            f"{tool}={severities[tool].value}" for tool in sorted(severities)
        )
    return tuple(sorted(properties.items()))


def _rating(
    group: list[Finding], severity: Severity, fixed: str, ranks: Ranks
) -> tuple[Finding, FixStatus | None]:
    """The finding whose source set the severity, and the fix status, independent of order."""
    ordered = sorted(
        group,
        key=lambda f: (
            _tool_rank(f, ranks),
            f.severity_source,
            f.fix_status.value if f.fix_status else "",
        ),
    )
    rated = next((f for f in ordered if f.severity is severity), group[0])
    status = next((f.fix_status for f in ordered if f.fix_status is not None), None)
    return rated, FixStatus.FIXED if fixed else status


Shared = tuple[tuple[str, ...], tuple[Cvss, ...], tuple[str, ...]]


def _shared(group: list[Finding], rule_id: str, memo: dict[tuple[object, ...], Shared]) -> Shared:
    """The group's aliases, CVSS and references, united. The parsers hand every finding of a
    CVE the same tuples, so each distinct combination is united once (by the tuples' identity:
    they live as long as the findings that hold them, for the whole merge)."""
    key = (rule_id, *[id(part) for f in group for part in (f.aliases, f.cvss, f.references)])
    found = memo.get(key)
    if found is None:
        upper = rule_id.upper()
        aliases = tuple(dict.fromkeys(a for f in group for a in f.aliases if a.upper() != upper))
        cvss = tuple(sorted({c for f in group for c in f.cvss}, key=_CVSS_ORDER))
        references = tuple(dict.fromkeys(r for f in group for r in f.references))
        found = memo[key] = (aliases, cvss, references)
    return found


def _combine(
    group: list[Finding], ranks: Ranks, memo: dict[tuple[object, ...], Shared]
) -> Finding:
    if len(group) == 1:
        return group[0]
    group.sort(key=lambda f: _tool_rank(f, ranks))
    first = group[0]
    tools = sorted({t for f in group for t in f.tools}, key=lambda t: (ranks.get(t, 99), t))
    severities = _severities(group)
    severity = max((f.severity for f in group), key=_RANK.__getitem__)
    package = _package(group)
    rated, status = _rating(group, severity, package.fixed_version, ranks)
    rule_id = first.rule_id
    aliases, cvss, references = _shared(group, rule_id, memo)
    # Built directly rather than with dataclasses.replace: this runs once per merged pair.
    return Finding(
        rule_id=rule_id,
        kind=first.kind,
        severity=severity,
        title=next((f.title for f in group if f.title and f.title != rule_id), first.title),
        message=first.message,
        cvss_score=next((f.cvss_score for f in group if f.cvss_score is not None), None),
        package=package,
        location=next((f.location for f in group if f.location.layer), first.location),
        tools=tuple(tools),
        tool_severities=tuple(sorted(severities.items())),
        references=references,
        aliases=aliases,
        checklist=first.checklist,
        fix=first.fix,
        confidence=first.confidence,
        suppression=first.suppression,
        properties=_properties(group, severities),
        fix_status=status,
        severity_source=rated.severity_source,
        cvss=cvss,
        kev=next((f.kev for f in group if f.kev is not None), None),
        epss=newest_epss(f.epss for f in group),
    )


def newest_epss(scores: Iterable[Epss | None]) -> Epss | None:
    """The score of the latest date (an undated one counts as oldest); the first on a tie."""
    best: Epss | None = None
    for score in scores:
        if score is not None and (best is None or score.date > best.date):
            best = score
    return best


def spread_exploit_marks(findings: list[Finding]) -> list[Finding]:
    """Give every finding of a CVE the KEV mark and the newest EPSS score any finding of that
    CVE carries (rule 6)."""
    kev: dict[str, Kev] = {}
    epss: dict[str, Epss] = {}
    for f in findings:
        key = f.rule_id.upper()
        if f.kev is not None:
            kev.setdefault(key, f.kev)
        chosen = newest_epss((epss.get(key), f.epss))
        if chosen is not None:
            epss[key] = chosen
    if not kev and not epss:
        return findings
    out = []
    for f in findings:
        key = f.rule_id.upper()
        marks = (f.kev or kev.get(key), epss.get(key, f.epss))
        out.append(replace(f, kev=marks[0], epss=marks[1]) if marks != (f.kev, f.epss) else f)
    return out


def _secret_keys(finding: Finding) -> tuple[str, ...]:
    """The keys under which a scanner's secret meets the hardening rules' finding of it."""
    name = finding.property("env-name")
    if name:
        # DH-D108 (ENV:NAME / ARG:NAME on its line), DH-I202 and DH-I203 (NAME).
        return (f"ENV:{name}", f"ARG:{name}", name)
    if finding.location.image_path:
        return (finding.location.image_path,)  # DH-I204: a secret file, by its path
    return ()


def fold_secrets(findings: list[Finding]) -> list[Finding]:
    """One finding per secret: a scanner's secret joins the hardening rule's finding of it.

    The rule's finding stays (its docs, its line); the scanner is added to its tools, the
    higher severity wins, and the scanner's rule is kept as a property. A secret no rule saw
    stays the scanner's own finding.
    """
    ours: dict[str, int] = {}
    for index, finding in enumerate(findings):
        if finding.kind is Kind.SECRET and "docker-hardening" in finding.tools:
            key = finding.property("key")
            if key:
                ours.setdefault(key, index)
    out = list(findings)
    dropped: set[int] = set()
    for index, finding in enumerate(findings):
        if finding.kind is not Kind.SECRET or "docker-hardening" in finding.tools:
            continue
        target = next((ours[k] for k in _secret_keys(finding) if k in ours), None)
        if target is None:
            continue
        host = out[target]
        properties = dict(host.properties)
        scanner_rules = [properties.get("scanner-rules", ""), finding.rule_id]
        properties["scanner-rules"] = ",".join(sorted({r for r in scanner_rules if r}))
        out[target] = replace(
            host,
            severity=max(host.severity, finding.severity),
            tools=tuple(dict.fromkeys((*host.tools, *finding.tools))),
            tool_severities=tuple(
                sorted({*host.tool_severities, *finding.tool_severities}, key=lambda t: t[0])
            ),
            properties=tuple(sorted(properties.items())),
        )
        dropped.add(index)
    return [f for i, f in enumerate(out) if i not in dropped]


def merge_findings(findings: Iterable[Finding]) -> list[Finding]:
    with codec.paused_gc():  # many new objects, no reference cycles among them
        return _merge(findings)


def _merge(findings: Iterable[Finding]) -> list[Finding]:
    others: list[Finding] = []
    vulns: list[Finding] = []
    for finding in findings:
        if finding.kind is Kind.VULNERABILITY and finding.package is not None:
            vulns.append(finding)
        else:
            others.append(finding)
    groups: dict[Triple, list[Finding]] = {}
    for finding in _fold_advisories(vulns):
        groups.setdefault(identity(finding), []).append(finding)
    ranks, memo = _ranks(), dict[tuple[object, ...], Shared]()
    merged = spread_exploit_marks([_combine(group, ranks, memo) for group in groups.values()])
    return sorted([*merged, *fold_secrets(others)], key=sort_key)
