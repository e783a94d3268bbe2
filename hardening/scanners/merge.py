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

from collections.abc import Callable, Iterable
from dataclasses import replace
from operator import attrgetter

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
    sort_key,
)
from hardening.scanners import registry
from hardening.scanners.common import FINDING_FIELDS, PACKAGE_FIELDS, maker, package_key

Triple = tuple[str, tuple[str, str], str]


def identity(finding: Finding) -> Triple:
    assert finding.package is not None
    return finding.rule_id.upper(), package_key(finding.package), finding.package.version


Groups = dict[Triple, list[Finding]]


def _identities(vulns: list[Finding]) -> tuple[list[Triple], dict[Triple, str], Groups]:
    """Each finding's identity, the CVE each advisory id stands for in a package (the aliases
    of the CVE findings, keyed as an advisory finding's identity would be), and the findings
    grouped by identity (as ``_grouped`` groups them, before any advisory is folded)."""
    keys: list[Triple] = []
    cve_of: dict[Triple, str] = {}
    groups: Groups = {}
    append = keys.append
    for f in vulns:
        package = f.package
        assert package is not None
        upper, name, version = f.rule_id.upper(), package_key(package), package.version
        key = (upper, name, version)
        append(key)
        group = groups.get(key)
        if group is None:
            groups[key] = [f]
        else:
            group.append(f)
        if f.aliases and upper.startswith("CVE-"):
            for alias in f.aliases:
                cve_of[(alias.upper(), name, version)] = f.rule_id
    return keys, cve_of, groups


def _grouped(vulns: list[Finding], keys: list[Triple]) -> Groups:
    groups: Groups = {}
    for key, finding in zip(keys, vulns, strict=True):
        groups.setdefault(key, []).append(finding)
    return groups


def _fold_advisories(vulns: list[Finding], keys: list[Triple], cve_of: dict[Triple, str]) -> bool:
    """Rename an advisory id to its CVE where another finding of the same package says so
    (in place: ``keys`` are the findings' identities and change with them); whether any was."""
    folded = False
    for index, key in enumerate(keys if cve_of else ()):
        cve = cve_of.get(key) if not key[0].startswith("CVE-") else None
        if cve:
            f = vulns[index]
            aliases = tuple(dict.fromkeys((*f.aliases, f.rule_id)))
            vulns[index] = replace(f, rule_id=cve, aliases=aliases)
            keys[index] = (cve.upper(), key[1], key[2])
            folded = True
    return folded


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
    """The first package's, with the first fixed version, PURL and path any finding has (the
    first package itself when it has them all: packages are immutable)."""
    first = group[0].package
    assert first is not None
    fixed = purl = path = ""
    for f in group:
        package = f.package
        assert package is not None
        fixed, purl, path = (
            fixed or package.fixed_version,
            purl or package.purl,
            path or package.path,
        )
    if (fixed, purl, path) == (first.fixed_version, first.purl, first.path):
        return first
    return _PACKAGE(first.name, first.version, fixed, first.type, purl, path)


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
    group: list[Finding], severity: Severity, fixed: bool, ranks: Ranks
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


# What a group's findings say about the vulnerability rather than the package: the same for
# every package a CVE is in, so decided once per distinct combination (``_verdict``).
Verdict = tuple[
    tuple[str, ...],  # tools
    tuple[tuple[str, Severity], ...],  # each tool's severity
    Severity,
    tuple[tuple[str, str], ...],  # properties
    FixStatus | None,
    str,  # the source of the severity
    tuple[str, ...],  # aliases
    tuple[Cvss, ...],
    tuple[str, ...],  # references
]
Memo = dict[tuple[object, ...], Verdict]


def _decide(group: list[Finding], rule_id: str, fixed: bool, ranks: Ranks) -> Verdict:
    tools = sorted({t for f in group for t in f.tools}, key=lambda t: (ranks.get(t, 99), t))
    severities = _severities(group)
    severity = max((f.severity for f in group), key=_RANK.__getitem__)
    rated, status = _rating(group, severity, fixed, ranks)
    upper = rule_id.upper()
    aliases = tuple(dict.fromkeys(a for f in group for a in f.aliases if a.upper() != upper))
    cvss = tuple(sorted({c for f in group for c in f.cvss}, key=_CVSS_ORDER))
    references = tuple(dict.fromkeys(r for f in group for r in f.references))
    return (tuple(tools), tuple(sorted(severities.items())), severity,
            _properties(group, severities), status, rated.severity_source,
            aliases, cvss, references)  # fmt: skip


def _verdict(group: list[Finding], fixed: bool, ranks: Ranks, memo: Memo) -> Verdict:
    """``_decide``, once per distinct combination of what it reads. The key holds the ids of
    the findings' tuples and enums: the parsers hand every finding of a CVE the same ones, and
    they live as long as the findings that hold them, for the whole merge."""
    rule_id = group[0].rule_id
    key = (rule_id, fixed, *[
        part for f in group for part in (
            id(f.tools), id(f.tool_severities), id(f.severity), f.severity_source,
            id(f.fix_status), id(f.properties), id(f.aliases), id(f.cvss), id(f.references),
        )
    ])  # fmt: skip
    found = memo.get(key)
    if found is None:
        found = memo[key] = _decide(group, rule_id, fixed, ranks)
    return found


def _firsts(
    group: list[Finding], rule_id: str
) -> tuple[str, float | None, Location, Kev | None, Epss | None]:
    """The title, CVSS score, location and KEV mark of the first finding that has one, and
    the newest EPSS score."""
    first = group[0]
    title = score = location = kev = epss = None
    for f in group:
        if title is None and f.title and f.title != rule_id:
            title = f.title
        if score is None:
            score = f.cvss_score
        if location is None and f.location.layer:
            location = f.location
        if kev is None:
            kev = f.kev
        if f.epss is not None and (epss is None or f.epss.date > epss.date):
            epss = f.epss
    return (first.title if title is None else title, score,
            first.location if location is None else location, kev, epss)  # fmt: skip


def _combine(group: list[Finding], ranks: Ranks, memo: Memo) -> Finding:
    if len(group) == 1:
        return group[0]
    if len(group) == 2:
        return _pair(group[0], group[1], ranks, memo)
    group.sort(key=lambda f: _tool_rank(f, ranks))
    first = group[0]
    package = _package(group)
    (tools, tool_severities, severity, properties, status, source, aliases, cvss,
     references) = _verdict(group, package.fixed_version != "", ranks, memo)  # fmt: skip
    rule_id = first.rule_id
    title, score, location, kev, epss = _firsts(group, rule_id)
    # Made directly rather than with dataclasses.replace: this runs once per merged pair.
    return _FINDING(
        rule_id, first.kind, severity, title, first.message, score, package, location, tools,
        tool_severities, references, aliases, first.checklist, properties, status, source,
        cvss, kev, epss, fix=first.fix, confidence=first.confidence,
        suppression=first.suppression,
    )  # fmt: skip


def _pair(a: Finding, b: Finding, ranks: Ranks, memo: Memo) -> Finding:
    """``_combine`` of two findings (one from each scanner: nearly every group), unrolled: the
    same package, verdict (``_verdict``'s key for two findings) and first values."""
    if _tool_rank(b, ranks) < _tool_rank(a, ranks):
        a, b = b, a  # what the stable sort does to two findings
    pa, pb = a.package, b.package
    assert pa is not None and pb is not None
    fixed, purl, path = pa.fixed_version or pb.fixed_version, pa.purl or pb.purl, pa.path or pb.path
    package = pa
    if fixed != pa.fixed_version or purl != pa.purl or path != pa.path:
        package = _PACKAGE(pa.name, pa.version, fixed, pa.type, purl, path)
    rule_id = a.rule_id
    key = (
        rule_id, fixed != "",
        id(a.tools), id(a.tool_severities), id(a.severity), a.severity_source,
        id(a.fix_status), id(a.properties), id(a.aliases), id(a.cvss), id(a.references),
        id(b.tools), id(b.tool_severities), id(b.severity), b.severity_source,
        id(b.fix_status), id(b.properties), id(b.aliases), id(b.cvss), id(b.references),
    )  # fmt: skip
    verdict = memo.get(key)
    if verdict is None:
        verdict = memo[key] = _decide([a, b], rule_id, fixed != "", ranks)
    tools, tool_severities, severity, properties, status, source, aliases, cvss, references = (
        verdict
    )
    title = a.title
    if not title or title == rule_id:
        title = b.title if b.title and b.title != rule_id else title
    location = a.location if a.location.layer or not b.location.layer else b.location
    epss = a.epss
    if b.epss is not None and (epss is None or b.epss.date > epss.date):
        epss = b.epss
    return _FINDING(
        rule_id, a.kind, severity, title, a.message,
        a.cvss_score if a.cvss_score is not None else b.cvss_score, package, location, tools,
        tool_severities, references, aliases, a.checklist, properties, status, source, cvss,
        a.kev if a.kev is not None else b.kev, epss,
        fix=a.fix, confidence=a.confidence, suppression=a.suppression,
    )  # fmt: skip


_FINDING: Callable[..., Finding] = maker(Finding, FINDING_FIELDS)
_PACKAGE: Callable[..., Package] = maker(Package, PACKAGE_FIELDS)


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
        if f.kev is None and f.epss is None:
            continue  # nothing to give (and a finding without a score changes no score)
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
    keys, cve_of, groups = _identities(vulns)
    if _fold_advisories(vulns, keys, cve_of):
        groups = _grouped(vulns, keys)  # again, with the advisories renamed
    ranks, memo = _ranks(), Memo()
    merged = spread_exploit_marks([_combine(group, ranks, memo) for group in groups.values()])
    return sorted([*merged, *fold_secrets(others)], key=sort_key)
