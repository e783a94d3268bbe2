"""Policy: what counts. The config file, reasoned ignores, VEX and the baseline, applied to the
merged findings before the gate."""

from __future__ import annotations

import datetime
from dataclasses import replace
from pathlib import Path
from typing import Any

from hardening.model import Finding, Notification
from hardening.policy.config import Config, load_config

__all__ = ["Config", "apply_policy", "load_config"]


def apply_policy(
    findings: list[Finding],
    config: Config,
    workspace: Path,
    image_ref: str,
    today: datetime.date | None = None,
) -> tuple[list[Finding], list[Notification], dict[str, Any]]:
    from hardening.policy.baseline import baseline_fingerprints, compare
    from hardening.policy.ignores import apply_ignores
    from hardening.policy.vex import apply_vex, load_vex

    today = today or datetime.date.today()
    overrides = dict(config.severity_overrides)
    out = []
    for finding in findings:
        if finding.rule_id in config.disabled_rules:
            continue
        if finding.rule_id in overrides:
            finding = replace(finding, severity=overrides[finding.rule_id])
        out.append(finding)
    out, notes = apply_ignores(out, config, workspace, today)
    if config.vex:
        out = apply_vex(out, load_vex(config.vex, workspace), image_ref)
    extras: dict[str, Any] = {}
    if config.baseline_sarif:
        out, counts = compare(out, baseline_fingerprints(workspace / config.baseline_sarif))
        extras["baseline"] = counts
    return out, notes, extras
