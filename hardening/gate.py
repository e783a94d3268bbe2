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
        return GateVerdict(self.passed, self.reason, incomplete, int(self.exit_code))


def blocking_findings(findings: Iterable[Finding], policy: GatePolicy) -> list[Finding]:
    blocking = []
    for finding in findings:
        if finding.suppressed:
            continue
        threshold = policy.threshold(finding.kind)
        # NEGLIGIBLE and UNKNOWN rank below LOW, so no threshold lets them through by default.
        if threshold is not None and finding.severity >= threshold:
            if finding.severity in (Severity.NEGLIGIBLE, Severity.UNKNOWN):
                continue
            blocking.append(finding)
    return blocking


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
        worst = max(f.severity for f in blocking)
        threshold = policy.fail_on.value if policy.fail_on else "the per-kind thresholds"
        return GateResult(
            ExitCode.GATE_FAILED,
            False,
            f"failed: {len(blocking)} finding(s) at or above {threshold} (worst: {worst.value})",
            tuple(blocking),
        )
    if policy.fail_on is None and not policy.per_kind:
        reason = "passed: the gate is off (fail-on none)"
    else:
        threshold = policy.fail_on.value if policy.fail_on else "the per-kind thresholds"
        reason = f"passed: no finding at or above {threshold}"
    if failed:
        reason += f" (warning: {', '.join(r.name for r in failed)} failed)"
    return GateResult(ExitCode.PASSED, True, reason)
