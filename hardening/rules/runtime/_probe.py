"""Reading the probe result the way the runtime rules share: did the container start, how did
the hardened trial go, which capabilities the configuration allows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hardening.rules.base import LintContext

if TYPE_CHECKING:
    from hardening.probes import ProbeResult

MISSING_USER = ("unable to find user", "no matching entries in passwd")


def result(ctx: LintContext) -> ProbeResult:
    assert ctx.runtime is not None
    return ctx.runtime


def started(ctx: LintContext) -> ProbeResult | None:
    """The probe result when the container started as configured (else there is nothing
    observed to judge, only why it did not start)."""
    probe = result(ctx)
    return None if probe.start_error else probe


def user_is_missing(start_error: str) -> bool:
    return any(phrase in start_error for phrase in MISSING_USER)


def trial(ctx: LintContext) -> dict[str, Any]:
    """The hardened trial's record when it ran and applied ({} otherwise)."""
    probe = started(ctx)
    if probe is None or not probe.trial or probe.trial.get("not_applicable"):
        return {}
    return probe.trial


def broken_by(ctx: LintContext) -> str:
    """The flags that broke the hardened trial ("" when it passed or did not run)."""
    record = trial(ctx)
    if not record or record.get("passed"):
        return ""
    return str(record.get("broken_by") or "")


def allowed(ctx: LintContext) -> set[str]:
    """The capabilities the configuration allows, as CAP_ names."""
    return {c if c.startswith("CAP_") else f"CAP_{c}" for c in ctx.allowed_capabilities}


def capabilities_held(ctx: LintContext, which: str) -> set[str] | None:
    """PID 1's ``which`` capability set ("effective", "bounding") as the probe saw it, less
    what the configuration allows; None when the container did not start."""
    probe = started(ctx)
    if probe is None:
        return None
    return set(probe.capabilities.get(which, [])) - allowed(ctx)
