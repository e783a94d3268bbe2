"""The hardening scorecard: one row per checklist item, with a result and its evidence.

An item fails when an active finding serves it; passes only when something checked it and
found nothing wrong; and says "not checked" when nothing looked at it, rather than passing.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from hardening.checklist import CHECKLIST
from hardening.model import Finding, Kind, Report, RunStatus, RuntimeFacts, sort_key


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


def _probe_evidence(runtime: RuntimeFacts | None) -> dict[str, str]:
    out: dict[str, str] = {}
    if runtime is None:
        return out
    if runtime.uid is not None:
        name = f" ({runtime.user_name})" if runtime.user_name else ""
        how = f" ({runtime.observed_by})" if runtime.observed_by else ""
        out["C03"] = f"runs as uid {runtime.uid}{name}, seen by running the image{how}"
    if runtime.trial_passed:
        ran = "ran under --read-only --cap-drop ALL --security-opt no-new-privileges"
        out["C04"] = ran
        out["C05"] = ran
        nnp = runtime.trial_no_new_privs
        seen = f"NoNewPrivs={int(nnp)} seen in the trial; " if nnp is not None else ""
        out["C06"] = f"{seen}{ran}"
    if runtime.seccomp is not None:
        out["C07"] = f"seccomp mode {runtime.seccomp} seen in the running container"
    return out


def _scanner_row(report: Report) -> Row:
    """C15 passes when every scanner it expects ran to the end."""
    runs = {run.name: run for run in report.scanner_runs()}
    expected = report.scanners or tuple(runs)
    if not expected:
        return Row("C15", CHECKLIST["C15"], Verdict.FAIL, "no vulnerability scanner ran")
    missing = [n for n in expected if n not in runs or runs[n].status is not RunStatus.OK]
    if missing:
        reasons = "; ".join(
            f"{name}: {runs[name].reason or runs[name].status.value}"
            if name in runs
            else f"{name}: did not run"
            for name in missing
        )
        return Row("C15", CHECKLIST["C15"], Verdict.FAIL, f"not every scanner ran ({reasons})")
    vulns = sum(1 for f in report.active() if f.kind is Kind.VULNERABILITY)
    versions = " and ".join(f"{n} {runs[n].version}".strip() for n in expected)
    return Row("C15", CHECKLIST["C15"], Verdict.PASS, f"{versions} ran; {vulns} vulnerabilities")


NOT_CONFIGURED = (
    "not checked: signatures not configured (add a signatures: entry to the policy file naming "
    "the key or keyless identity each image must be signed by; see docs/signatures.md)"
)


def _signature_evidence(report: Report) -> tuple[Verdict, str]:
    """Whether every signature check the policy asks for passed, and what was verified."""
    if not report.signatures_configured:
        return Verdict.NOT_CHECKED, NOT_CONFIGURED
    stage = next((s for s in report.stages if s.name == "signatures"), None)
    if stage is not None and stage.status is RunStatus.FAILED:
        return Verdict.NOT_CHECKED, f"not checked: the signatures stage failed ({stage.detail})"
    checks = report.signatures
    if not checks:
        return Verdict.NOT_CHECKED, "not checked: no image matched a signatures: entry"
    failed = [c for c in checks if not c.passed]
    if failed:
        names = ", ".join(c.image for c in failed[:3])
        return Verdict.FAIL, f"{len(failed)} of {len(checks)} image(s) not verified ({names})"
    shown = "; ".join(
        f"{c.image} {c.detail}" + (f", {c.provenance_detail}" if c.provenance_detail else "")
        for c in checks[:3]
    )
    more = f" (+{len(checks) - 3} more)" if len(checks) > 3 else ""
    return Verdict.PASS, f"signatures verified: {shown}{more}"


def _supply_row(report: Report, title: str) -> Row:
    """C17 passes only with an SBOM and every configured signature check passed."""
    sbom = report.sbom
    if sbom is not None and sbom.error:
        return Row("C17", title, Verdict.FAIL, f"no SBOM: {sbom.error}")
    verdict, signed = _signature_evidence(report)
    if sbom is None or not sbom.path:
        made = "no SBOM made"
        verdict = Verdict.FAIL if verdict is Verdict.FAIL else Verdict.NOT_CHECKED
    else:
        kinds = ", ".join(f"{n} {t}" for t, n in sbom.by_type)
        made = f"{sbom.format} SBOM by {sbom.tool}: {sbom.packages} packages ({kinds})"
    return Row("C17", title, verdict, f"{made}; {signed}")


def scorecard(report: Report) -> list[Row]:
    failing: dict[str, list[Finding]] = {}
    for finding in sorted(report.active(), key=sort_key):
        for item in finding.checklist:
            failing.setdefault(item, []).append(finding)
    checked: Mapping[str, str] = dict(report.checklist)
    probe_evidence = _probe_evidence(report.runtime)
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
        elif item == "C17":
            rows.append(_supply_row(report, title))
        elif item in checked:
            evidence = checked[item]
            if evidence.startswith("n/a"):
                rows.append(Row(item, title, Verdict.NOT_APPLICABLE, evidence[3:].lstrip(": ")))
            else:
                rows.append(Row(item, title, Verdict.PASS, evidence))
        else:
            rows.append(Row(item, title, Verdict.NOT_CHECKED, "nothing in this run checked it"))
    return rows
