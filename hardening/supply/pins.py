"""Digest pins: the facts, and the fixes that can be applied as they are.

For every FROM that is not pinned, the tag is resolved to its current digest and the exact
replacement line is put in the digest-pin finding's fix (and in SARIF ``fixes``). For pins that
exist, the tag is resolved too, and the pinned image's age read: the rule DH-D123
(``hardening/rules/dockerfile/d123_base_image_pin_stale.py``) reports a pin whose tag now
points at another digest. A registry that cannot be reached leaves the finding as it was, with
the reason; it never fails the scan.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, replace

from hardening.model import Finding
from hardening.supply.registry import Registry, parse_reference
from hardening.targets.dockerfile import DockerfileModel, Stage

RENOVATE = """{
  "$schema": "https://docs.renovatebot.com/renovate-schema.json",
  "extends": ["config:recommended", "docker:pinDigests"]
}"""
DEPENDABOT = """version: 2
updates:
  - package-ecosystem: docker
    directory: /
    schedule:
      interval: weekly"""


@dataclass(frozen=True, slots=True)
class Pin:
    line: int
    original: str
    replacement: str = ""  # the FROM line to write, when a digest was resolved
    digest: str = ""
    current: str = ""  # for an existing pin: the digest the tag points at now
    age_days: int | None = None
    note: str = ""  # why there is no replacement

    @property
    def stale(self) -> bool:
        return bool(self.current and self.digest and self.current != self.digest)


def _from_line(stage: Stage, ref: str) -> str:
    platform = f"--platform={stage.platform} " if stage.platform else ""
    alias = f" AS {stage.name}" if stage.name else ""
    return f"FROM {platform}{ref}{alias}"


def _age(created: str) -> int | None:
    if not created:
        return None
    try:
        when = datetime.datetime.fromisoformat(
            created.replace("Z", "+00:00")[:26] + ("+00:00" if created.endswith("Z") else "")
        )
    except ValueError:
        try:
            when = datetime.datetime.fromisoformat(created[:19]).replace(tzinfo=datetime.UTC)
        except ValueError:
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return (datetime.datetime.now(datetime.UTC) - when).days


def resolve_pins(model: DockerfileModel, registry: Registry | None = None) -> list[Pin]:
    registry = registry or Registry()
    pins: list[Pin] = []
    for stage in model.stages:
        if stage.parent is not None or stage.is_scratch:
            continue
        ref = stage.base_resolved
        original = model.text.splitlines()[stage.from_line - 1].strip() if model.text else ""
        if "$" in ref:
            pins.append(
                Pin(stage.from_line, original, note=f"{stage.base} has no default value to resolve")
            )
            continue
        parsed = parse_reference(ref)
        answer = registry.resolve(parsed) if parsed.tag else None
        if parsed.digest:
            current = answer.digest if answer is not None and not answer.error else ""
            created = registry.created(parsed, parsed.digest)
            note = answer.error if answer is not None and answer.error else ""
            pins.append(
                Pin(
                    stage.from_line,
                    original,
                    digest=parsed.digest,
                    current=current,
                    age_days=_age(created),
                    note=note,
                )
            )
            continue
        if answer is None or answer.error:
            pins.append(
                Pin(stage.from_line, original, note=answer.error if answer else "no tag to resolve")
            )
            continue
        name = ref.split("@", 1)[0]
        pins.append(
            Pin(
                stage.from_line,
                original,
                _from_line(stage, f"{name}@{answer.digest}"),
                answer.digest,
            )
        )
    return pins


def apply_pins(findings: list[Finding], pins: list[Pin], path: str) -> list[Finding]:
    """Put the exact replacement line in the digest-pin findings (DH-D107)."""
    by_line = {pin.line: pin for pin in pins}
    out = []
    for finding in findings:
        pin = by_line.get(finding.location.line)
        if finding.rule_id == "DH-D107" and pin is not None and finding.location.path == path:
            if pin.replacement:
                finding = replace(
                    finding,
                    fix=f"Replace line {pin.line} with: {pin.replacement}",
                    properties=(
                        *finding.properties,
                        ("replacement", pin.replacement),
                        ("digest", pin.digest),
                    ),
                )
            elif pin.note:
                finding = replace(
                    finding, message=f"{finding.message} (digest not resolved: {pin.note})"
                )
        out.append(finding)
    return out
