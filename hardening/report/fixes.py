"""Fix groups: the package upgrades that fix the most findings, and what has no fix at all.

One group is one installed package (name and version) with every active vulnerability a
fixed version exists for; upgrading it to ``target`` fixes them all. ``target`` is the
highest version any of them needs; where a finding names several fixed versions (one per
release line, "1.21.9, 1.22.2"), the lowest one above the installed version is the one it
needs. Versions compare part by part, numbers as numbers, and "~" before anything (Debian's
pre-release mark), which orders the versions of every ecosystem the scanners report well
enough to choose among versions of one package.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from hardening.model import SEVERITIES_DESCENDING, Finding, Kind, Severity, sort_key

_TOKEN = re.compile(r"\d+|[A-Za-z]+|~")
_END = (1,)


def version_key(version: str) -> tuple[tuple[object, ...], ...]:
    parts: list[tuple[object, ...]] = []
    for token in _TOKEN.findall(version):
        if token == "~":
            parts.append((0,))
        elif token.isdigit():
            parts.append((3, int(token)))
        else:
            parts.append((2, token.lower()))
    return (*parts, _END)


def needed(fixed: str, installed: str) -> str:
    """The fixed version this finding needs: the lowest one above the installed version."""
    candidates = sorted({c.strip() for c in fixed.split(",") if c.strip()}, key=version_key)
    above = [c for c in candidates if version_key(c) > version_key(installed)]
    return above[0] if above else (candidates[-1] if candidates else "")


@dataclass(frozen=True, slots=True)
class FixGroup:
    package: str
    installed: str
    target: str  # the version to upgrade to
    findings: tuple[Finding, ...]  # in sort_key order

    @property
    def kev(self) -> int:
        return sum(1 for f in self.findings if f.kev is not None)

    @property
    def serious(self) -> int:
        """How many of them are high or critical."""
        return sum(1 for f in self.findings if f.severity >= Severity.HIGH)

    @property
    def worst(self) -> Severity:
        return max((f.severity for f in self.findings), default=Severity.UNKNOWN)

    def summary(self) -> str:
        """ "fixes 7 (2 critical, 1 high, 1 KEV)": the serious ones, counted."""
        return f"fixes {len(self.findings)} ({', '.join(_counted(self.findings))})"


def _counted(findings: Iterable[Finding]) -> list[str]:
    findings = list(findings)
    counts = {s: sum(1 for f in findings if f.severity is s) for s in SEVERITIES_DESCENDING}
    serious = [f"{n} {s.value}" for s, n in counts.items() if n and s >= Severity.HIGH]
    if not serious:  # nothing high or critical: the worst there is
        serious = [f"{n} {s.value}" for s, n in counts.items() if n][:1]
    kev = sum(1 for f in findings if f.kev is not None)
    return serious + ([f"{kev} KEV"] if kev else [])


def counted(findings: Iterable[Finding]) -> str:
    """ "1 critical, 2 high, 1 KEV" for a list of vulnerabilities."""
    return ", ".join(_counted(findings))


def _vulnerabilities(findings: Iterable[Finding]) -> list[Finding]:
    return [
        f
        for f in findings
        if f.kind is Kind.VULNERABILITY and f.package is not None and not f.suppressed
    ]


def fix_groups(findings: Iterable[Finding]) -> list[FixGroup]:
    """Every upgrade that fixes something, what matters first: the ones fixing a known
    exploited vulnerability, then those fixing the most high and critical ones, then the
    most in all, then by what matters in the findings they fix (``sort_key``)."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for f in _vulnerabilities(findings):
        assert f.package is not None
        if f.package.fixed_version:
            groups.setdefault((f.package.name, f.package.version), []).append(f)
    out = []
    for (name, installed), members in groups.items():
        targets = [needed(f.package.fixed_version, installed) for f in members if f.package]
        target = max(targets, key=version_key)
        out.append(FixGroup(name, installed, target, tuple(sorted(members, key=sort_key))))
    return sorted(
        out,
        key=lambda g: (-g.kev, -g.serious, -len(g.findings), sort_key(g.findings[0]), g.installed),
    )


def without_fix(findings: Iterable[Finding]) -> list[Finding]:
    """Active vulnerabilities no fixed version exists for, what matters first."""
    return sorted((f for f in _vulnerabilities(findings) if f.unfixed), key=sort_key)
