"""Policy: what counts. The config file, reasoned ignores, VEX and the baseline, applied to the
merged findings before the gate."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from hardening.errors import UsageError
from hardening.model import Finding, Notification
from hardening.policy.config import Config, load_config

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (lint starts fast)
if TYPE_CHECKING:
    import datetime
    from typing import Any

__all__ = ["Config", "apply_policy", "load_config", "load_policy"]


def apply_policy(
    findings: list[Finding],
    config: Config,
    workspace: Path,
    image_ref: str,
    today: datetime.date | None = None,
) -> tuple[list[Finding], list[Notification], dict[str, Any]]:
    overrides = dict(config.severity_overrides)
    out = []
    for finding in findings:
        if finding.rule_id in config.disabled_rules:
            continue
        if finding.rule_id in overrides:
            finding = replace(finding, severity=overrides[finding.rule_id])
        out.append(finding)
    notes: list[Notification] = []
    if config.ignores or _ignore_files_in(workspace):
        from hardening.policy.ignores import apply_ignores

        out, notes = apply_ignores(out, config, workspace, today)
    if config.vex:
        from hardening.policy.vex import apply_vex, load_vex

        out = apply_vex(out, load_vex(config.vex, workspace), image_ref)
    extras: dict[str, Any] = {}
    if config.baseline_sarif:
        from hardening.policy.baseline import baseline_fingerprints, compare

        out, counts = compare(out, baseline_fingerprints(workspace / config.baseline_sarif))
        extras["baseline"] = counts
    return out, notes, extras


def load_policy(path: Path | None, workspace: Path, explicit: bool) -> Config:
    """The policy file, validated now (usage errors stop the run before anything is written)."""
    target = path if path is not None else workspace / ".hardening.yml"
    if not target.is_absolute():
        target = workspace / target
    config = load_config(target, required=explicit)
    if _ignore_files_in(workspace):
        from hardening.policy.ignores import repository_rules

        repository_rules(workspace)  # .trivyignore(.yaml) and .grype.yaml, refused now if broken
    if config.vex:
        from hardening.policy.vex import load_vex

        load_vex(config.vex, workspace)
    if config.baseline_sarif:
        from hardening.policy.baseline import baseline_fingerprints

        try:
            baseline_fingerprints(workspace / config.baseline_sarif)
        except UsageError as exc:
            raise UsageError(f"{config.path}: baseline: {exc.message}", exc.fix) from None
    return config


def _ignore_files_in(workspace: Path) -> bool:
    """Whether the repository has an ignore file of a known scanner (read only then)."""
    from hardening.scanners import registry

    return any((workspace / name).is_file() for name in registry.ignore_file_names())
