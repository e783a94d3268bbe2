"""The typed facts a report carries, from what the stages recorded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hardening.model import RuntimeFacts, SbomFacts


def runtime_facts(probe: Mapping[str, Any] | None) -> RuntimeFacts | None:
    """From the probe result's JSON form (``ProbeResult.to_json``)."""
    if not probe:
        return None
    user = probe.get("user") or {}
    trial = probe.get("trial") or {}
    hardened = probe.get("hardened") or {}
    uid = user.get("uid")
    nnp = hardened.get("no_new_privs")
    return RuntimeFacts(
        uid=int(uid) if isinstance(uid, int) else None,
        user_name=str(user.get("name") or ""),
        seccomp=probe.get("seccomp") if isinstance(probe.get("seccomp"), int) else None,
        observed_by=str(probe.get("observed_by") or ""),
        trial_passed=bool(trial.get("passed")),
        trial_broken_by=str(trial.get("broken_by") or ""),
        trial_no_new_privs=bool(nnp) if nnp is not None else None,
        recommended_flags=tuple(str(f) for f in trial.get("recommended_flags") or ()),
        compose_snippet=str(trial.get("compose_snippet") or ""),
    )


def sbom_facts(sbom: Mapping[str, Any] | None) -> SbomFacts | None:
    """From ``SbomResult.to_json``."""
    if not sbom:
        return None
    return SbomFacts(
        path=str(sbom.get("path") or ""),
        tool=str(sbom.get("tool") or ""),
        tool_version=str(sbom.get("tool_version") or ""),
        format=str(sbom.get("format") or ""),
        packages=int(sbom.get("packages") or 0),
        by_type=tuple((str(k), int(v)) for k, v in (sbom.get("by_type") or {}).items()),
        error=str(sbom.get("error") or ""),
    )
