"""The pass/fail decision. Reporting never feeds into it; only findings and tool failures do.

Exit codes: 0 passed; 1 the gate failed on findings; 3 a requested tool failed (the result is
incomplete, so it is never reported as "passed" nor confused with "findings found"). With
``on_tool_failure="warn"`` a tool failure is reported but the verdict is decided on findings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hardening.errors import ExitCode
from hardening.model import Finding, GateVerdict, Kind, RunStatus, Severity, ToolRun


@dataclass(frozen=True, slots=True)
class GatePolicy:
    fail_on: Severity | None = Severity.HIGH  # None: never fail on findings
    kinds: frozenset[Kind] = frozenset(Kind)
    per_kind: tuple[tuple[Kind, Severity | None], ...] = ()  # overrides fail_on per kind
    on_tool_failure: str = "fail"  # "fail" or "warn"
    fail_on_kev: bool = False  # a finding on CISA's KEV catalog fails, whatever its severity
    fail_on_epss: float | None = None  # a finding with an EPSS score at or above this fails

    @property
    def exploit_gates(self) -> bool:
        return self.fail_on_kev or self.fail_on_epss is not None

    def threshold(self, kind: Kind) -> Severity | None:
        for candidate, severity in self.per_kind:
            if candidate is kind:
                return severity
        return self.fail_on if kind in self.kinds else None


@dataclass(frozen=True, slots=True)
class GateResult:
    exit_code: ExitCode
    passed: bool
    reason: str
    blocking: tuple[Finding, ...] = ()

    def verdict(self) -> GateVerdict:
        """The decision as the reports show it."""
        incomplete = self.exit_code is ExitCode.TOOL_FAILURE
        blocking = tuple(f.fingerprint for f in self.blocking)
        return GateVerdict(self.passed, self.reason, incomplete, int(self.exit_code), blocking)


def _by_severity(finding: Finding, policy: GatePolicy) -> bool:
    threshold = policy.threshold(finding.kind)
    # NEGLIGIBLE and UNKNOWN rank below LOW, so no threshold lets them through by default.
    if finding.severity in (Severity.NEGLIGIBLE, Severity.UNKNOWN):
        return False
    return threshold is not None and finding.severity >= threshold


def _on_kev(finding: Finding, policy: GatePolicy) -> bool:
    return policy.fail_on_kev and finding.kev is not None


def _epss_at_least(finding: Finding, policy: GatePolicy) -> bool:
    threshold, epss = policy.fail_on_epss, finding.epss
    return threshold is not None and epss is not None and epss.score >= threshold


def blocking_findings(findings: Iterable[Finding], policy: GatePolicy) -> list[Finding]:
    """Findings that fail the gate: at or above their kind's threshold, on CISA's KEV catalog
    (fail-on-kev), or with an EPSS score at or above fail-on-epss; never a suppressed one."""
    return [
        f
        for f in findings
        if not f.suppressed
        and (_by_severity(f, policy) or _on_kev(f, policy) or _epss_at_least(f, policy))
    ]


def _failed(blocking: list[Finding], policy: GatePolicy) -> str:
    worst = max(f.severity for f in blocking).value
    threshold = policy.fail_on.value if policy.fail_on else "the per-kind thresholds"
    kev = sum(1 for f in blocking if _on_kev(f, policy))
    epss = sum(1 for f in blocking if _epss_at_least(f, policy))
    if not kev and not epss:
        return f"failed: {len(blocking)} finding(s) at or above {threshold} (worst: {worst})"
    parts = [f"{kev} on CISA's KEV catalog"] if kev else []
    if epss:
        parts.append(f"{epss} with an EPSS score of {policy.fail_on_epss:g} or more")
    severe = sum(1 for f in blocking if _by_severity(f, policy))
    if severe:
        parts.append(f"{severe} at or above {threshold}")
    return f"failed: {len(blocking)} finding(s): {', '.join(parts)} (worst: {worst})"


def _passed(policy: GatePolicy) -> str:
    severity_gate = policy.fail_on is not None or bool(policy.per_kind)
    if not severity_gate and not policy.exploit_gates:
        return "passed: the gate is off (fail-on none)"
    parts = []
    if severity_gate:
        parts.append(
            f"at or above {policy.fail_on.value if policy.fail_on else 'the per-kind thresholds'}"
        )
    if policy.fail_on_kev:
        parts.append("on CISA's KEV catalog")
    if policy.fail_on_epss is not None:
        parts.append(f"with an EPSS score of {policy.fail_on_epss:g} or more")
    return "passed: no finding " + ", none ".join(parts)


def decide(
    findings: Iterable[Finding],
    tool_runs: Iterable[ToolRun],
    policy: GatePolicy,
    incomplete: Iterable[str] = (),
) -> GateResult:
    """``incomplete`` names the stages that did not complete (beyond the failed tools): the
    run is then incomplete whatever the findings say, since what was not checked may hide more.
    """
    blocking = blocking_findings(findings, policy)
    failed = [run for run in tool_runs if run.status is RunStatus.FAILED]
    failed += [ToolRun(name, RunStatus.FAILED) for name in incomplete]
    if failed and policy.on_tool_failure == "fail":
        names = ", ".join(run.name for run in failed)
        extra = f"; {len(blocking)} finding(s) at or above the threshold" if blocking else ""
        return GateResult(
            ExitCode.TOOL_FAILURE,
            False,
            f"incomplete: {names} failed, so the image could not be fully checked{extra}",
            tuple(blocking),
        )
    if blocking:
        return GateResult(ExitCode.GATE_FAILED, False, _failed(blocking, policy), tuple(blocking))
    reason = _passed(policy)
    if failed:
        reason += f" (warning: {', '.join(r.name for r in failed)} failed)"
    return GateResult(ExitCode.PASSED, True, reason)
