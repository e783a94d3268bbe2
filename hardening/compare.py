"""What a pull request changes: its findings classified against its base commit's.

Findings meet by what they are, never by line number, so moving lines does not turn old
findings into new ones:

- a vulnerability by (id, package name, package type or path): a package upgraded to a
  version that still has the CVE is the same finding, and the version change is noted;
- a hardening or runtime finding by its rule and the normalised text of the instruction (or
  compose key, or path in the image) it refers to.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from hardening.model import Finding, Kind, Severity
from hardening.scanners.common import package_key

Key = tuple[str, ...]


def _instruction_text(finding: Finding, lines: Mapping[str, Mapping[int, str]]) -> str:
    loc = finding.location
    return lines.get(loc.path, {}).get(loc.line, "") if loc.path and loc.line else ""


def key(finding: Finding, lines: Mapping[str, Mapping[int, str]]) -> Key:
    """The identity a finding keeps across commits. ``lines`` maps a file to its
    line -> normalised instruction text (for Dockerfiles: the whole instruction)."""
    if finding.kind is Kind.VULNERABILITY and finding.package is not None:
        eco, name = package_key(finding.package)
        where = finding.package.path if eco not in ("deb", "apk", "rpm") else ""
        return ("vuln", finding.rule_id.upper(), eco, name, where)
    own = finding.property("key")
    if own:
        return ("rule", finding.rule_id, own)
    text = _instruction_text(finding, lines)
    if text:
        return ("rule", finding.rule_id, text)
    return ("rule", finding.rule_id, finding.location.image_path or finding.location.path)


def instruction_lines(model: object) -> dict[int, str]:
    """line -> normalised instruction text, for every line an instruction spans."""
    out: dict[int, str] = {}
    for stage in getattr(model, "stages", ()):
        for instruction in stage.instructions:
            text = " ".join(str(instruction.original).split())
            for line in range(instruction.line, max(instruction.end_line, instruction.line) + 1):
                out[line] = text
    return out


def classify(
    head: list[Finding],
    base: Iterable[Finding],
    head_lines: Mapping[str, Mapping[int, str]],
    base_lines: Mapping[str, Mapping[int, str]],
) -> tuple[list[Finding], list[Finding]]:
    """(head findings marked new or unchanged, the base's findings that are gone)."""
    base_by_key: dict[Key, Finding] = {}
    for finding in base:
        base_by_key.setdefault(key(finding, base_lines), finding)
    out: list[Finding] = []
    seen: set[Key] = set()
    for finding in head:
        k = key(finding, head_lines)
        seen.add(k)
        before = base_by_key.get(k)
        properties = dict(finding.properties)
        properties["baseline"] = "unchanged" if before is not None else "new"
        if before is not None and before.package and finding.package:
            if before.package.version != finding.package.version:
                properties["base-version"] = before.package.version
        out.append(replace(finding, properties=tuple(properties.items())))
    fixed = [f for k, f in base_by_key.items() if k not in seen and not f.suppressed]
    return out, fixed


def mark_all_new(findings: list[Finding]) -> list[Finding]:
    return [
        replace(
            f,
            properties=(*[(k, v) for k, v in f.properties if k != "baseline"], ("baseline", "new")),
        )
        for f in findings
    ]


def counts(findings: Iterable[Finding]) -> tuple[int, int, dict[Severity, int]]:
    """(new, unchanged, new by severity) among the active findings."""
    new = unchanged = 0
    by_severity: dict[Severity, int] = {}
    for f in findings:
        if f.suppressed:
            continue
        if f.baseline_state == "unchanged":
            unchanged += 1
        else:
            new += 1
            by_severity[f.severity] = by_severity.get(f.severity, 0) + 1
    return new, unchanged, by_severity
