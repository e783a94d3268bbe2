"""Hardening checks of the Dockerfile, the build context, the compose file, the built image,
the resolved digest pins and what running the image showed.

``lint`` parses each target once, runs every rule whose facts are there, applies inline
suppressions, and says for each checklist item what was checked. A rule that crashes is
recorded and the others still run. ``check_pins`` and ``check_runtime`` run the rules that read
the facts the digest-pin and runtime-probe stages produce.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hardening.errors import HardeningError
from hardening.model import Finding, Notification, Suppression
from hardening.rules.base import LintContext
from hardening.rules.registry import rules
from hardening.targets import find_compose
from hardening.targets.dockerfile import DockerfileModel, parse_dockerfile
from hardening.targets.dockerignore import load_dockerignore

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (lint starts fast)
if TYPE_CHECKING:
    from hardening.model import SignatureCheck
    from hardening.probes import ProbeOptions, ProbeResult
    from hardening.supply.pins import Pin
    from hardening.targets.image import ImageFacts

INLINE = re.compile(r"#\s*docker-hardening-ignore\s+([A-Za-z0-9,_-]+)\s*(.*)$")


@dataclass(frozen=True, slots=True)
class LintInputs:
    """What to check: the targets on disk (or a Dockerfile already parsed) and the facts
    and settings the rules read."""

    workspace: Path
    dockerfile: Path | None = None
    context: Path | None = None
    compose_file: Path | None = None
    target: str = ""
    image: ImageFacts | None = None
    min_uid: int = 1000
    minimal_bases: tuple[str, ...] = ()
    discover_compose: bool = True
    dockerfile_model: DockerfileModel | None = None  # already parsed (a scan parses it once)
    dockerfile_text: str = ""


@dataclass(frozen=True, slots=True)
class LintOutcome:
    """The findings, what could not run, and for each checklist item what was checked."""

    findings: tuple[Finding, ...]
    notifications: tuple[Notification, ...] = ()
    checked: dict[str, str] = field(default_factory=dict)


def _relative(path: Path, workspace: Path) -> str:
    try:
        return path.resolve().relative_to(workspace.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def inline_suppressions(
    text: str, path: str
) -> tuple[dict[int, dict[str, str]], list[Notification]]:
    """``# docker-hardening-ignore ID[,ID] reason`` on the line before the flagged line."""
    by_line: dict[int, dict[str, str]] = {}
    notes: list[Notification] = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = INLINE.search(line)
        if not match:
            continue
        ids, reason = match.group(1).split(","), match.group(2).strip()
        if not reason:
            notes.append(
                Notification(
                    "warning",
                    "suppressions",
                    f"{path}:{number}: an ignore comment needs a reason; it does not suppress "
                    f"{', '.join(ids)} until it has one",
                )  # fmt: skip
            )
            continue
        # It applies to the next line that is not a comment or blank.
        lines = text.splitlines()
        target = number + 1
        while target <= len(lines) and (
            not lines[target - 1].strip() or lines[target - 1].lstrip().startswith("#")
        ):
            target += 1
        by_line.setdefault(target, {}).update({i.strip(): reason for i in ids if i.strip()})
    return by_line, notes


def _apply_inline(
    findings: list[Finding], texts: dict[str, str]
) -> tuple[list[Finding], list[Notification]]:
    notes: list[Notification] = []
    tables = {}
    for path, text in texts.items():
        tables[path], more = inline_suppressions(text, path)
        notes.extend(more)
    out = []
    for f in findings:
        reason = tables.get(f.location.path, {}).get(f.location.line, {}).get(f.rule_id)
        if reason and not f.suppressed:
            f = f.with_suppression(
                Suppression("inSource", reason, f"{f.location.path}:{f.location.line - 1}")
            )
        out.append(f)
    return out, notes


def _read_targets(
    inputs: LintInputs, ctx: LintContext
) -> tuple[dict[str, str], list[Notification]]:
    """Parse what is there into ``ctx``; the texts by path (for inline suppressions)."""
    texts: dict[str, str] = {}
    notes: list[Notification] = []
    if inputs.dockerfile_model is not None:
        ctx.dockerfile = inputs.dockerfile_model
        texts[inputs.dockerfile_model.path] = inputs.dockerfile_text
    elif inputs.dockerfile is not None and inputs.dockerfile.is_file():
        rel = _relative(inputs.dockerfile, inputs.workspace)
        text = inputs.dockerfile.read_text(encoding="utf-8", errors="replace")
        texts[rel] = text
        ctx.dockerfile = parse_dockerfile(text, rel, inputs.target)
    if inputs.context is not None and inputs.context.is_dir() and ctx.dockerfile is not None:
        ctx.dockerignore = load_dockerignore(inputs.context, inputs.workspace, inputs.dockerfile)
    compose = inputs.compose_file
    if compose is None and inputs.discover_compose and inputs.context is not None:
        compose = find_compose(inputs.context)
    if compose is not None and compose.is_file():
        rel = _relative(compose, inputs.workspace)
        text = compose.read_text(encoding="utf-8", errors="replace")
        texts[rel] = text
        from hardening.targets.compose import parse_compose

        ctx.compose = parse_compose(text, rel)
        error = getattr(ctx.compose, "error", None)
        if error:
            line, why = error
            notes.append(
                Notification(
                    "warning", "hardening checks", f"{rel}:{line}: compose checks skipped: {why}"
                )
            )
    return texts, notes


def _available(ctx: LintContext) -> set[str]:
    """The facts in ``ctx`` (see ``base.FACTS``)."""
    present = {
        "dockerfile": ctx.dockerfile is not None,
        "context": ctx.dockerignore is not None,
        "compose": ctx.compose is not None and _is_compose(ctx.compose),
        "image": ctx.image is not None,
        "pins": ctx.pins is not None,
        "runtime": ctx.runtime is not None,
        "signatures": ctx.signatures is not None,
    }
    return {fact for fact, there in present.items() if there}


def _is_compose(value: object) -> bool:
    from hardening.targets.compose import ComposeModel

    return isinstance(value, ComposeModel)


def run_rules(
    ctx: LintContext, facts: set[str]
) -> tuple[list[Finding], list[Notification], dict[str, list[str]]]:
    """Run every rule that reads one of ``facts``: its findings, the crashes, and for each
    checklist item the rules that ran for it."""
    findings: list[Finding] = []
    notes: list[Notification] = []
    ran: dict[str, list[str]] = {}
    for item in rules(facts):
        try:
            produced = list(item.check(ctx))
        except Exception as exc:  # one broken rule must not hide the others' findings
            notes.append(
                Notification(
                    "error",
                    "hardening checks",
                    f"{item.doc.id} crashed: {type(exc).__name__}: {exc}",
                )
            )
            continue
        findings.extend(produced)
        for checklist_item in item.doc.checklist:
            ran.setdefault(checklist_item, []).append(item.doc.id)
    return findings, notes, ran


def _checked(
    ctx: LintContext, findings: list[Finding], ran: dict[str, list[str]]
) -> dict[str, str]:
    """For each checklist item: what was found, or what was checked and found clean."""
    checked: dict[str, str] = {}
    active = [f for f in findings if not f.suppressed]
    for checklist_item, ids in ran.items():
        hits = sum(1 for f in active if checklist_item in f.checklist)
        default = (
            f"{hits} finding(s) from {', '.join(sorted(set(ids)))}"
            if hits
            else f"checked by {', '.join(sorted(set(ids)))}: nothing found"
        )
        checked[checklist_item] = default if hits else ctx.evidence.get(checklist_item, default)
    if ctx.compose is None and ctx.dockerfile is not None:
        checked.setdefault(
            "C14", "n/a: resource limits are set at run time (no compose file given)"
        )
    return checked


def lint(inputs: LintInputs) -> LintOutcome:
    ctx = LintContext(
        workspace=inputs.workspace, image=inputs.image, min_uid=inputs.min_uid,
        minimal_bases=inputs.minimal_bases,
    )  # fmt: skip
    texts, notes = _read_targets(inputs, ctx)
    findings, crashed, ran = run_rules(ctx, _available(ctx))
    notes.extend(crashed)
    findings, more = _apply_inline(findings, texts)
    notes.extend(more)
    return LintOutcome(tuple(findings), tuple(notes), _checked(ctx, findings, ran))


def _only(ctx: LintContext, fact: str) -> list[Finding]:
    findings, crashed, _ = run_rules(ctx, {fact})
    if crashed:  # fail closed: a stage whose rules did not all run is not complete
        raise HardeningError(
            "; ".join(note.message for note in crashed), "report this as a bug in docker-hardening"
        )
    return findings


def check_pins(dockerfile: DockerfileModel, pins: Sequence[Pin]) -> list[Finding]:
    """The findings of the rules that read resolved digest pins (they point into
    ``dockerfile``)."""
    ctx = LintContext(workspace=Path(), dockerfile=dockerfile, pins=tuple(pins))
    return _only(ctx, "pins")


def check_signatures(
    dockerfile: DockerfileModel | None, checks: Sequence[SignatureCheck]
) -> list[Finding]:
    """The findings of the rules that read the signature checks (base images point into
    ``dockerfile``, the scanned image at no line)."""
    ctx = LintContext(workspace=Path(), dockerfile=dockerfile, signatures=tuple(checks))
    return _only(ctx, "signatures")


def check_runtime(result: ProbeResult, options: ProbeOptions) -> list[Finding]:
    """The findings of the rules that read what running the image showed."""
    ctx = LintContext(
        workspace=Path(), runtime=result, min_uid=options.min_uid,
        allowed_capabilities=options.allowed_capabilities,
    )  # fmt: skip
    return _only(ctx, "runtime")
