"""The hardening scorecard: one row per checklist item, with a result and its evidence.

An item fails when an active finding serves it; passes only when something checked it and
found nothing wrong; and says "not checked" when nothing looked at it, rather than passing.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hardening.checklist import CHECKLIST
from hardening.model import Finding, Kind, Report, RunStatus, sort_key

SCANNERS = ("trivy", "grype")


class Verdict(enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    NOT_CHECKED = "not checked"
    NOT_APPLICABLE = "not applicable"


@dataclass(frozen=True, slots=True)
class Row:
    item: str
    title: str
    verdict: Verdict
    evidence: str


def _probe_evidence(probe: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    user = probe.get("user") or {}
    if user.get("uid") is not None:
        name = f" ({user['name']})" if user.get("name") else ""
        out["C03"] = f"runs as uid {user['uid']}{name}, seen by running the image"
    trial = probe.get("trial") or {}
    if trial.get("passed"):
        ran = "ran under --read-only --cap-drop ALL --security-opt no-new-privileges"
        out["C04"] = ran
        out["C05"] = ran
        hardened = probe.get("hardened") or {}
        nnp = hardened.get("no_new_privs")
        seen = f"NoNewPrivs={int(nnp)} seen in the trial; " if nnp is not None else ""
        out["C06"] = f"{seen}{ran}"
    if probe.get("seccomp") is not None:
        out["C07"] = f"seccomp mode {probe['seccomp']} seen in the running container"
    return out


def _scanner_row(report: Report) -> Row:
    runs = {run.name: run for run in report.tool_runs if run.name in SCANNERS}
    missing = [
        name for name in SCANNERS if name not in runs or runs[name].status is not RunStatus.OK
    ]
    if missing:
        reasons = "; ".join(
            f"{name}: {runs[name].reason or runs[name].status.value}"
            if name in runs
            else f"{name}: did not run"
            for name in missing
        )
        return Row("C15", CHECKLIST["C15"], Verdict.FAIL, f"not both scanners ran ({reasons})")
    vulns = sum(1 for f in report.active() if f.kind is Kind.VULNERABILITY)
    versions = " and ".join(f"{n} {runs[n].version}".strip() for n in SCANNERS)
    return Row("C15", CHECKLIST["C15"], Verdict.PASS, f"{versions} ran; {vulns} vulnerabilities")


def scorecard(report: Report) -> list[Row]:
    failing: dict[str, list[Finding]] = {}
    for finding in sorted(report.active(), key=sort_key):
        for item in finding.checklist:
            failing.setdefault(item, []).append(finding)
    checked: Mapping[str, str] = report.extras.get("checklist") or {}
    probe_evidence = _probe_evidence(report.extras.get("probe") or {})
    sbom = report.extras.get("sbom") or {}
    rows = []
    for item, title in CHECKLIST.items():
        if item == "C15":
            rows.append(_scanner_row(report))
            continue
        if item in failing:
            worst = failing[item][0]
            more = f" (+{len(failing[item]) - 1} more)" if len(failing[item]) > 1 else ""
            where = (
                f" at {worst.location.path}:{worst.location.line}" if worst.location.line else ""
            )
            rows.append(
                Row(item, title, Verdict.FAIL, f"{worst.rule_id}{where}: {worst.title}{more}")
            )
        elif item in probe_evidence:
            rows.append(Row(item, title, Verdict.PASS, probe_evidence[item]))
        elif item == "C17" and sbom.get("path"):
            kinds = ", ".join(f"{n} {t}" for t, n in (sbom.get("by_type") or {}).items())
            rows.append(Row(item, title, Verdict.PASS,
                            f"{sbom.get('format')} SBOM by {sbom.get('tool')}: {sbom.get('packages')} packages ({kinds})"))  # fmt: skip
        elif item == "C17" and sbom.get("error"):
            rows.append(Row(item, title, Verdict.FAIL, f"no SBOM: {sbom['error']}"))
        elif item in checked:
            evidence = checked[item]
            if evidence.startswith("n/a"):
                rows.append(Row(item, title, Verdict.NOT_APPLICABLE, evidence[3:].lstrip(": ")))
            else:
                rows.append(Row(item, title, Verdict.PASS, evidence))
        else:
            rows.append(Row(item, title, Verdict.NOT_CHECKED, "nothing in this run checked it"))
    return rows
