"""The report people read: PR comment, job summary and check-run text, from one renderer.

Order: verdict, what to do first (the upgrades that fix the most, the hardening fixes), the
top vulnerabilities and hardening findings in their own tables, counts, the scorecard
(collapsed when it passes), hardened runtime flags, run details, then every finding in
collapsible sections (``sections.py``). It always fits the target's limit: details are cut
from the least important up, and the cut says how many were left out and where the rest is.
Secret values never reach here: secret findings carry only their rule, file and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from hardening.model import (
    BASE_RECOMMENDATION_RULE,
    NOT_SCANNERS,
    SEVERITIES_DESCENDING,
    Finding,
    ImageMeasure,
    Kind,
    PublishOutcome,
    Report,
    RunStatus,
    Severity,
    sort_key,
)
from hardening.report.formats import OutputFormat, RenderInput
from hardening.report.scorecard import Verdict, scorecard

COMMENT_LIMIT = 60_000  # GitHub's comment limit is 65,536 characters
CHECK_RUN_LIMIT = 65_000  # check-run summary and text: 65,535 each
SUMMARY_LIMIT = 900_000  # the job summary: 1 MiB per step
TOP = 10
# Keeps digest pins fresh (Renovate's own preset); shown with the replacement lines.
RENOVATE = """{
  "$schema": "https://docs.renovatebot.com/renovate-schema.json",
  "extends": ["config:recommended", "docker:pinDigests"]
}"""
ICONS = {
    Verdict.PASS: "✅",
    Verdict.FAIL: "❌",
    Verdict.NOT_CHECKED: "➖",
    Verdict.NOT_APPLICABLE: "⚪",
}
_ESCAPE = re.compile(r"([\\`*_{}\[\]<>|#!~])")


def esc(text: Any) -> str:
    """Escape user-controlled text for a Markdown table cell: no HTML, no broken tables, and
    no @mentions (a package named after a user must not notify them)."""
    flat = " ".join(str(text).split())
    return _ESCAPE.sub(r"\\\1", flat).replace("@", "@\u2060")


def where(finding: Finding) -> str:
    loc = finding.location
    if loc.path and loc.line:
        return f"`{loc.path}:{loc.line}`".replace("|", "\\|")
    if loc.path:
        return f"`{loc.path}`".replace("|", "\\|")
    if loc.image_path:
        return f"image `{loc.image_path}`".replace("|", "\\|")
    return ""


def source(finding: Finding) -> str:
    """The counts table's column: one scanner, several, the hardening checks, or runtime."""
    if finding.kind is Kind.RUNTIME:
        return "runtime"
    scanners = [t for t in finding.tools if t not in NOT_SCANNERS]
    if len(scanners) > 1:
        return "several"
    return scanners[0] if scanners else "hardening"


def verdict_line(report: Report) -> str:
    verdict = report.verdict
    if verdict is None:
        return "❌ **Failed** — see below"
    reason = verdict.reason
    if verdict.passed:
        return f"✅ **Passed** — {esc(reason.removeprefix('passed: '))}"
    if verdict.incomplete:
        return f"⚠️ **Incomplete** — {esc(reason.removeprefix('incomplete: '))}"
    return f"❌ **Failed** — {esc(reason.removeprefix('failed: ')) or 'see below'}"


def _columns(report: Report) -> list[tuple[str, str]]:
    """(key, heading) of the counts table, one column per scanner of this report."""
    names = list(report.scanner_names())
    titles = [report.scanner_title(n) for n in names]
    columns = [
        (n, f"{t} only" if len(names) > 1 else t) for n, t in zip(names, titles, strict=True)
    ]
    if len(names) > 1:
        several = " + ".join(titles) if len(names) == 2 else "several scanners"
        columns.insert(0, ("several", several))
    return [*columns, ("hardening", "hardening"), ("runtime", "runtime")]


def counts_table(report: Report) -> list[str]:
    columns = _columns(report)
    counts = {sev: dict.fromkeys((key for key, _ in columns), 0) for sev in SEVERITIES_DESCENDING}
    for finding in report.active():
        counts[finding.severity][source(finding)] += 1
    lines = [
        "| severity | total | " + " | ".join(heading for _, heading in columns) + " |",
        "|---|---:|" + "---:|" * len(columns),
    ]
    for severity in SEVERITIES_DESCENDING:
        row = counts[severity]
        total = sum(row.values())
        if total or severity.rank >= 2:
            cells = " | ".join(str(row[key]) for key, _ in columns)
            lines.append(f"| {severity.value} | {total} | {cells} |")
    suppressed = [f for f in report.findings if f.suppressed]
    if suppressed:
        lines += [
            "",
            f"{len(suppressed)} finding(s) suppressed by ignores, VEX or inline comments (not counted).",
        ]
    return lines


def scorecard_table(report: Report) -> list[str]:
    lines = ["| item | check | result | evidence |", "|---|---|---|---|"]
    for row in scorecard(report):
        lines.append(
            f"| {row.item} | {esc(row.title)} | {ICONS[row.verdict]} {row.verdict.value} | {esc(row.evidence)} |"
        )
    return lines


def findings_table(findings: Iterable[Finding]) -> list[str]:
    lines = [
        "| severity | id | package | installed | fixed | where | seen by |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in findings:
        pkg = f.package
        title = f.title if f.kind is not Kind.VULNERABILITY else ""
        ident = esc(f.rule_id) + (f" {esc(title)}" if title else "")
        lines.append(
            "| {sev} | {ident} | {name} | {ver} | {fixed} | {where} | {tools} |".format(
                sev=f.severity.value
                + (f" ({esc(f.severity_source)})" if f.severity_source else ""),
                ident=ident,
                name=esc(pkg.name) if pkg else "",
                ver=esc(pkg.version) if pkg else "",
                fixed=esc(pkg.fixed_version)
                if pkg and pkg.fixed_version
                else ("" if pkg is None else esc(f.fix_label)),
                where=where(f),
                tools=esc(", ".join(f.tools) or "docker-hardening"),
            )
        )
    return lines


def runtime_section(report: Report) -> list[str]:
    runtime = report.runtime
    if runtime is None or (not runtime.recommended_flags and not runtime.compose_snippet):
        return []
    lines = ["### Hardened runtime", ""]
    if runtime.trial_passed:
        lines.append("The image was seen running with these flags:")
    else:
        broken = runtime.trial_broken_by or "one of the flags"
        lines.append(
            f"The image did not survive the hardened trial ({esc(broken)}); these flags are what it ran with:"
        )
    if runtime.recommended_flags:
        flags = " ".join(runtime.recommended_flags)
        lines += ["", "```sh", f"docker run {flags} IMAGE", "```"]
    if runtime.compose_snippet:
        lines += ["", "```yaml", runtime.compose_snippet.rstrip(), "```"]
    if runtime.observed_by:
        lines += ["", f"How PID 1 was observed: {esc(runtime.observed_by)}."]
    return lines + [""]


def publishing_section(outcomes: Iterable[PublishOutcome]) -> list[str]:
    """What reporting to GitHub did, for the job summary, written after it was done."""
    lines = ["### Reporting to GitHub", ""]
    listed = [f"- {'✅' if o.done else '⚠️'} {esc(o.detail)}" for o in outcomes]
    return lines + (listed or ["- nothing was posted (no comment or check run asked for)"]) + [""]


def pins_section(report: Report) -> list[str]:
    pins = sorted(
        {
            (f.location.path, f.location.line, f.property("replacement"))
            for f in report.active()
            if f.property("replacement") and f.rule_id != BASE_RECOMMENDATION_RULE
        }
    )
    if not pins:
        return []
    lines = [
        "### Pin the base images",
        "",
        "Replace these lines (digests resolved from the registry just now):",
        "",
        "```dockerfile",
    ]
    lines += [f"# {path}:{line}\n{replacement}" for path, line, replacement in pins]
    lines += [
        "```",
        "",
        "Keep the pins fresh with Renovate (`renovate.json`):",
        "",
        "```json",
        RENOVATE,
        "```",
        "",
    ]
    return lines


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.0f} MB" if size >= 10_000_000 else f"{size / 1e6:.1f} MB"


def _measure_cells(m: ImageMeasure) -> str:
    eol = f" (end of life {m.eol}{', passed' if m.eol_passed else ''})" if m.eol else ""
    packages = "unknown" if m.packages is None else str(m.packages)
    tools = ["shell" if m.shells else "no shell", ", ".join(m.package_managers) or "no package manager"]
    return (
        f"{m.count(Severity.CRITICAL)} ({m.fixable_critical}) | {m.count(Severity.HIGH)} "
        f"({m.fixable_high}) | {packages} | {_megabytes(m.size)} | {esc(m.os or 'unknown')}{eol} "
        f"| {esc(', '.join([*tools, m.user or 'root']))}"
    )


def recommendation_section(report: Report) -> list[str]:
    """The base-image recommendation: the current base and each candidate as measured in this
    run, their deltas, compatibility notes and replacement FROM lines; or its one-line note."""
    rec = report.base_recommendation
    if rec is None:
        return []
    if rec.current is None or rec.current.problem:
        return [f"_Base image recommendation: {esc(rec.note)}._", ""]
    where = f" (`{rec.path}:{rec.line}`)".replace("|", "\\|") if rec.path else ""
    lines = ["### A better base image, measured", "",
             f"{esc(rec.base)}{where} and {len(rec.candidates)} candidate(s), pulled and scanned "
             f"in this run with {esc(', '.join(rec.scanners))} ({rec.duration_s:.0f} s).", "",
             "| image | critical (fixable) | high (fixable) | OS packages | size | OS | shell, package manager, user | against the current base | notes |",
             "|---|---:|---:|---:|---:|---|---|---|---|",
             f"| current: {esc(rec.base)} | {_measure_cells(rec.current)} | | |"]  # fmt: skip
    for n, c in enumerate(rec.candidates, 1):
        mark = "**recommended:** " if rec.best is c else f"{n}. "
        lines.append(f"| {mark}{esc(c.measure.reference)} · {esc(c.why)} | {_measure_cells(c.measure)} "
                     f"| {esc(', '.join(c.changes) or 'the same')} | {esc('; '.join(c.notes))} |")  # fmt: skip
    froms = [f"# {'recommended: ' if rec.best is c else ''}{c.measure.reference} ({c.why})\n{c.from_line}"
             for c in rec.candidates]  # fmt: skip
    fence = "````" if any("```" in text for text in froms) else "```"
    if froms:
        lines += ["", "The replacement FROM lines, pinned by digest:", "", f"{fence}dockerfile", *froms, fence]
    if rec.note:
        lines += ["", f"{esc(rec.note[:1].upper() + rec.note[1:])}."]
    if rec.unmeasured:
        lines += ["", "Not measured: " + "; ".join(f"{esc(ref)} ({esc(why)})" for ref, why in rec.unmeasured) + "."]
    return [*lines, ""]


def run_section(report: Report) -> list[str]:
    lines = ["| stage | status | detail |", "|---|---|---|"]
    for stage in report.stages:
        lines.append(f"| {esc(stage.name)} | {stage.status.value} | {esc(stage.detail)} |")
    for run in report.tool_runs:
        if run.status is not RunStatus.OK:
            lines.append(f"| {esc(run.name)} | {run.status.value} | {esc(run.reason)} |")
    problems = [n for n in report.notifications if n.level in ("error", "warning")]
    if problems:
        lines += ["", "**Problems in this run:**", ""]
        lines += [f"- {n.level}: {esc(n.stage)}: {esc(n.message)}" for n in problems]
    for stage_name, text in report.details:
        fence = "````" if "```" in text else "```"
        lines += ["", f"**{esc(stage_name)}: the last lines of its log**", "", fence, text, fence]
    if report.settings:
        lines += ["", "Settings in force: " + ", ".join(f"`{k}={v}`" for k, v in report.settings)]
    return lines


def change_lines(report: Report) -> list[str]:
    """What this change does, first: "+3 new (1 high), -5 fixed, 40 unchanged"."""
    comparison = report.comparison
    if comparison is None:
        return []
    if not comparison.compared:
        return [f"**Not compared with the {esc(comparison.base)}:** {esc(comparison.reason)}; "
                "every finding counts as new.", ""]  # fmt: skip
    scope = " The gate counts new findings only." if comparison.scope_new_only else ""
    return [f"**Compared with the {esc(comparison.base)}:** {esc(comparison.line)}.{scope}", ""]


def fixed_section(report: Report) -> list[str]:
    comparison = report.comparison
    if comparison is None or not comparison.fixed:
        return []
    lines = [f"<details><summary>Fixed by this change ({len(comparison.fixed)})</summary>", ""]
    for f in sorted(comparison.fixed, key=sort_key)[:50]:
        what = f" in {esc(f.package.name)} {esc(f.package.version)}" if f.package else ""
        lines.append(f"- {f.severity.value} {esc(f.rule_id)}{what}: {esc(f.title)}")
    return lines + ["", "</details>", ""]


def _images_table(report: Report) -> list[str]:
    lines = ["| image | verdict | critical | high | medium | low | changed |",
             "|---|---|---:|---:|---:|---:|---|"]  # fmt: skip
    for part in report.parts:
        counts = part.counts_by_severity()
        verdict = part.verdict
        state = "✅ passed" if verdict and verdict.passed else (
            "⚠️ incomplete" if verdict and verdict.incomplete else "❌ failed")  # fmt: skip
        change = esc(part.comparison.line) if part.comparison and part.comparison.compared else ""
        cells = " | ".join(str(counts[s]) for s in SEVERITIES_DESCENDING[:4])
        lines.append(f"| `{esc(part.dockerfile)}` | {state} | {cells} | {change} |")
    return lines


def _image_section(part: Report, budget: int) -> list[str]:
    lines = [f"### `{esc(part.dockerfile)}`", "", verdict_line(part), ""]
    lines += change_lines(part)
    active = [f for f in sorted(part.active(), key=sort_key) if f.baseline_state != "unchanged"]
    if active:
        lines += findings_table(active[:5]) + [""]
        if len(active) > 5:
            lines += [f"_and {len(active) - 5} more in the SARIF file._", ""]
    problems = [n for n in part.notifications if n.level == "error"]
    lines += [f"- error: {esc(n.stage)}: {esc(n.message)}" for n in problems[:5]]
    text = "\n".join(lines)
    return lines if len(text) <= budget else lines[:4] + ["_(details cut to fit)_", ""]


def render_many(report: Report, *, limit: int = SUMMARY_LIMIT, marker: str = "") -> str:
    """Several images: the totals first, then a short section per image."""
    head = [marker] if marker else []
    head += [f"## docker-hardening: {len(report.parts)} images", "", verdict_line(report), ""]
    head += _images_table(report) + [""]
    budget = max(500, (limit - len("\n".join(head)) - 200) // max(1, len(report.parts)))
    for part in report.parts:
        head += _image_section(part, budget)
    return "\n".join(head) + "\n"


def render_report(report: Report, *, limit: int = SUMMARY_LIMIT, marker: str = "") -> str:
    if report.parts:
        return render_many(report, limit=limit, marker=marker)
    subject = report.dockerfile or (report.image.reference if report.image else "") or "image"
    head = [marker] if marker else []
    head += [f"## docker-hardening: `{subject}`".replace("|", "\\|"), "", verdict_line(report), ""]
    head += change_lines(report)
    from hardening.report import sections

    active = sorted(report.active(), key=sort_key)
    first = [f for f in active if f.baseline_state != "unchanged"]
    head += sections.todo_section(first)
    head += sections.finding_tables(first, "New " if report.comparison is not None else "")
    head += sections.exploit_note(report) + sections.COUNTS + counts_table(report) + [""]
    head += sections.scorecard_section(report)
    head += fixed_section(report)
    head += runtime_section(report)
    head += pins_section(report)
    head += recommendation_section(report)
    head += (
        ["<details><summary>Run details</summary>", ""]
        + run_section(report)
        + ["", "</details>", ""]
    )
    text = "\n".join(head)
    footer_room = 600
    body: list[str] = []
    groups = [
        ("New findings" if report.comparison else "Active findings", first),
        ("Unchanged findings", [f for f in active if f.baseline_state == "unchanged"]),
        ("Suppressed findings", sorted((f for f in report.findings if f.suppressed), key=sort_key)),
    ]
    omitted = 0
    budget = limit - len(text) - footer_room
    for title, findings in groups:
        if not findings:
            continue
        section = [f"<details><summary>{title} ({len(findings)})</summary>", ""]
        overhead = sum(len(line) + 1 for line in section) + 30
        kept, shown, used = sections.budgeted_tables(findings, budget - overhead)
        omitted += len(findings) - shown
        if shown:
            body += [*section, *kept, "</details>", ""]
            budget -= used + overhead
    if omitted:
        body.append(
            f"_{omitted} lower-severity finding(s) are not listed here to stay within GitHub's size "
            "limit; the SARIF file (Security tab, or the workflow artifact) has every one._"
        )
    return text + "\n".join(body) + "\n"


def render(given: RenderInput) -> bytes:
    return render_report(given.report, limit=SUMMARY_LIMIT).encode()


FORMAT = OutputFormat(
    "markdown", "docker-hardening.md", "the Markdown report (job summary, PR comment)", render
)
