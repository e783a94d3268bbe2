"""The parts of the report that read as a to-do list: what to do first, the vulnerabilities
(package, installed and fixed versions, whether exploited) and the hardening findings (rule,
where, the one-line fix) in their own tables, and the scorecard, collapsed when it passes.

Pure, like every formatter: the caller hands the report in. Everything user-controlled goes
through ``markdown.esc``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from hardening.model import Epss, Finding, Kind, Report, Severity, sort_key
from hardening.report.fixes import FixGroup, counted, fix_groups, needed, without_fix
from hardening.report.markdown import ICONS, TOP, esc, scorecard_table, where
from hardening.report.scorecard import Verdict, scorecard

UPGRADES = 5  # upgrades listed under "what to do first"
HARDENING_FIRST = 3  # hardening findings listed there
_CVE = re.compile(r"^CVE-\d{4}-\d{4,}$")
_GHSA = re.compile(r"^GHSA(-[23456789cfghjmpqrvwx]{4}){3}$")
VULNERABILITY_HEAD = [
    "| severity | vulnerability | package | installed | fixed in | exploited | seen by |",
    "|---|---|---|---|---|---|---|",
]
HARDENING_HEAD = ["| severity | rule | where | how to fix |", "|---|---|---|---|"]
COUNTS = ["### By severity and scanner", ""]


def is_vulnerability(finding: Finding) -> bool:
    return finding.kind is Kind.VULNERABILITY and finding.package is not None


def vulnerability_id(finding: Finding) -> str:
    """The id, linked to its advisory when it is a CVE or a GHSA id (checked by pattern)."""
    rule = finding.rule_id
    if _CVE.match(rule):
        return f"[{rule}](https://nvd.nist.gov/vuln/detail/{rule})"
    if _GHSA.match(rule):
        return f"[{rule}](https://github.com/advisories/{rule})"
    return esc(rule)


def _percent(value: float) -> str:
    percent = value * 100
    return f"{percent:.1f}%" if percent >= 0.1 else "<0.1%"


def epss_text(epss: Epss) -> str:
    """ "EPSS 7.2% (p91)": the probability of exploitation in 30 days and its percentile."""
    tenths = int(epss.percentile * 1000)  # rounded down: p99.96 is "p99.9", never "p100"
    rank = f"p{tenths / 10:.1f}" if tenths >= 990 else f"p{tenths // 10}"
    return f"EPSS {_percent(epss.score)} ({rank})"


def exploited(finding: Finding) -> str:
    parts = []
    if finding.kev is not None:
        added = f", added {finding.kev.date_added}" if finding.kev.date_added else ""
        due = f", due {finding.kev.due_date}" if finding.kev.due_date else ""
        ransomware = ", used by ransomware" if finding.kev.ransomware.lower() == "known" else ""
        parts.append(f"**KEV**{added}{due}{ransomware}")
    if finding.epss is not None:
        parts.append(epss_text(finding.epss))
    return "; ".join(parts)


def vulnerability_row(f: Finding) -> str:
    pkg = f.package
    assert pkg is not None
    # The version this one needs, of the several release lines a fix may name.
    fixed = needed(pkg.fixed_version, pkg.version) if pkg.fixed_version else ""
    fixed = esc(fixed) if fixed else f"_{esc(f.fix_label)}_"
    tools = esc(", ".join(f.tools))
    return (
        f"| {f.severity.value} | {vulnerability_id(f)} | {esc(pkg.name)} | {esc(pkg.version)} "
        f"| {fixed} | {exploited(f)} | {tools} |"
    )


def how_to_fix(finding: Finding) -> str:
    """The one-line fix: the rule's own, else the message (which says it for a scanner's)."""
    text = finding.fix or finding.message or finding.title
    flat = " ".join(text.split())
    return esc(flat if len(flat) <= 240 else flat[:239] + "…")


def hardening_row(f: Finding) -> str:
    title = f" {esc(f.title)}" if f.title and f.title != f.rule_id else ""
    return f"| {f.severity.value} | {esc(f.rule_id)}{title} | {where(f)} | {how_to_fix(f)} |"


def _upgrade(group: FixGroup) -> str:
    return (
        f"Upgrade **{esc(group.package)}** from {esc(group.installed)} to "
        f"**{esc(group.target)}**: {group.summary()}"
    )


def _unfixed_line(findings: Sequence[Finding]) -> list[str]:
    unfixed = without_fix(findings)
    if not unfixed:
        return []
    first = unfixed[0]
    name = esc(first.package.name) if first.package else ""
    return [
        f"- No fix exists yet for {len(unfixed)} vulnerabilit{'y' if len(unfixed) == 1 else 'ies'} "
        f"({counted(unfixed)}); first: {esc(first.rule_id)} in {name} ({esc(first.fix_label)})."
    ]


def _fix_rule(finding: Finding) -> str:
    return (
        f"Fix **{esc(finding.rule_id)}** at {where(finding) or 'the image'}: {how_to_fix(finding)}"
    )


def todo_section(findings: Sequence[Finding]) -> list[str]:
    """What to do first: the upgrades that fix a known exploited vulnerability, the serious
    hardening findings with their fix, the upgrades that fix the most of the rest, and how
    much has no fix at all."""
    active = [f for f in findings if not f.suppressed]
    groups = fix_groups(active)
    rules = [f for f in sorted(active, key=sort_key) if not is_vulnerability(f)]
    serious = [f for f in rules if f.severity >= Severity.HIGH][:HARDENING_FIRST]
    medium = [f for f in rules if f.severity is Severity.MEDIUM][: HARDENING_FIRST - len(serious)]
    upgrades = groups[:UPGRADES]
    items = [_upgrade(g) for g in upgrades if g.kev] + [_fix_rule(f) for f in serious]
    items += [_upgrade(g) for g in upgrades if not g.kev] + [_fix_rule(f) for f in medium]
    lines = [f"{n}. {item}" for n, item in enumerate(items, 1)]
    if len(groups) > UPGRADES:
        lines.append(
            f"- {len(groups) - UPGRADES} more upgrade(s) fix the rest; see the table below."
        )
    lines += _unfixed_line(active)
    if not lines:
        return []
    return ["### What to do first", "", *lines, ""]


def finding_tables(findings: Sequence[Finding], prefix: str = "", limit: int = TOP) -> list[str]:
    """The top vulnerabilities and the top hardening findings, each in their own table."""
    vulns = [f for f in findings if is_vulnerability(f)]
    rules = [f for f in findings if not is_vulnerability(f)]
    lines: list[str] = []
    for title, chosen, head, row in (
        ("Vulnerabilities", vulns, VULNERABILITY_HEAD, vulnerability_row),
        ("Hardening findings", rules, HARDENING_HEAD, hardening_row),
    ):
        if chosen:
            more = f", the first {limit}" if len(chosen) > limit else ""
            lines += [f"### {prefix}{title} ({len(chosen)}{more})", "", *head]
            lines += [row(f) for f in chosen[:limit]] + [""]
    return lines


def budgeted_tables(findings: Sequence[Finding], budget: int) -> tuple[list[str], int, int]:
    """Both tables of ``findings`` in at most ``budget`` characters, the least important rows
    left out first: (lines, rows shown, characters used)."""
    lines: list[str] = []
    shown = used = 0
    for head, row, chosen in (
        (VULNERABILITY_HEAD, vulnerability_row, [f for f in findings if is_vulnerability(f)]),
        (HARDENING_HEAD, hardening_row, [f for f in findings if not is_vulnerability(f)]),
    ):
        rows = []
        cost = sum(len(line) + 1 for line in head) + 2
        for f in chosen:
            text = row(f)
            if used + cost + len(text) + 1 > budget:
                break
            rows.append(text)
            cost += len(text) + 1
        if rows:
            lines += [*head, *rows, ""]
            shown, used = shown + len(rows), used + cost
    return lines, shown, used


def exploit_note(report: Report) -> list[str]:
    """Where the KEV and EPSS marks came from, and what could not be had."""
    data = report.exploit_data
    if data is None or not (data.kev or data.epss or data.problems):
        return []
    sources = "; ".join(esc(s) for s in (data.kev, data.epss) if s) or "none could be had"
    lines = [f"_Known exploited and EPSS data: {sources}._"]
    lines += [f"⚠️ {esc(problem)}." for problem in data.problems]
    return [*lines, ""]


def scorecard_section(report: Report) -> list[str]:
    """The 18-item scorecard, after the findings; collapsed when no item fails."""
    rows = scorecard(report)
    order = (Verdict.FAIL, Verdict.PASS, Verdict.NOT_CHECKED, Verdict.NOT_APPLICABLE)
    tally = {v: sum(1 for row in rows if row.verdict is v) for v in order}
    summary = ", ".join(f"{n} {v.value}" for v, n in tally.items() if n)
    if not tally.get(Verdict.FAIL):
        return [
            f"<details><summary>{ICONS[Verdict.PASS]} Hardening scorecard: {summary}</summary>",
            "", *scorecard_table(report), "", "</details>", "",
        ]  # fmt: skip
    return ["### Hardening scorecard", "", f"{summary}.", "", *scorecard_table(report), ""]
