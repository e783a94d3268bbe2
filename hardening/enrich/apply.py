"""Mark vulnerability findings with the KEV catalog and the EPSS scores (pure).

A finding is looked up by its CVE: its id, or a CVE among its aliases (an advisory Grype did
not expand). What the catalog says wins over what a scanner's report said (it is CISA's own
list, and the date added and due date come with it); a mark a scanner gave that the catalog
does not carry is kept. Of two EPSS scores the newer is kept, the file's on the same date.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from hardening.enrich.data import EpssScores, KevCatalog
from hardening.model import Epss, Finding, Kind
from hardening.scanners.common import CVE_RE


def cve_ids(finding: Finding) -> tuple[str, ...]:
    ids = [finding.rule_id, *finding.aliases]
    return tuple(dict.fromkeys(i.strip().upper() for i in ids if CVE_RE.match(i.strip())))


def wanted(findings: Iterable[Finding]) -> frozenset[str]:
    """The CVEs the findings name: the EPSS file is read for these only."""
    return frozenset(cve for f in findings if f.kind is Kind.VULNERABILITY for cve in cve_ids(f))


def _epss(current: Epss | None, found: Epss | None) -> Epss | None:
    if found is None:
        return current
    if current is None or found.date >= current.date:
        return found
    return current


def mark(
    findings: Iterable[Finding], kev: KevCatalog | None, epss: EpssScores | None
) -> list[Finding]:
    out = []
    for finding in findings:
        ids = cve_ids(finding) if finding.kind is Kind.VULNERABILITY else ()
        if not ids:
            out.append(finding)
            continue
        listed = next((kev.entries[i] for i in ids if i in kev.entries), None) if kev else None
        scored = next((epss.scores[i] for i in ids if i in epss.scores), None) if epss else None
        marks = (listed or finding.kev, _epss(finding.epss, scored))
        if marks == (finding.kev, finding.epss):
            out.append(finding)
        else:
            out.append(replace(finding, kev=marks[0], epss=marks[1]))
    return out
