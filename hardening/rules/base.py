"""The rule registry and what a rule sees.

A rule is one module: a :class:`RuleDoc` (its id, name, severity, checklist items, why and fix
with a before/after example) and one function decorated with :func:`rule` that yields
findings from a :class:`LintContext`. Ids are grouped by target: DH-D1xx Dockerfile, DH-I2xx
image, DH-C3xx compose, DH-R4xx runtime (documented by the probes), DH-X5xx build context.
The registry refuses a duplicate id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from hardening.model import Finding, Kind, Location, RuleDoc, Severity
from hardening.targets.compose import ComposeModel
from hardening.targets.dockerfile import DockerfileModel
from hardening.targets.dockerignore import DockerIgnore
from hardening.targets.image import ImageFacts

Check = Callable[["LintContext"], Iterable[Finding]]


@dataclass
class LintContext:
    workspace: Path
    dockerfile: DockerfileModel | None = None
    dockerignore: DockerIgnore | None = None
    compose: ComposeModel | None = None
    image: ImageFacts | None = None
    min_uid: int = 1000
    minimal_bases: tuple[str, ...] = ()
    evidence: dict[str, str] = field(default_factory=dict)

    def finding(
        self,
        doc: RuleDoc,
        message: str,
        *,
        line: int = 0,
        path: str | None = None,
        key: str = "",
        severity: Severity | None = None,
        confidence: str = "high",
        image_path: str = "",
        title: str = "",
        fix: str = "",
        layer: str = "",
    ) -> Finding:
        if path is None:
            path = self.dockerfile.path if self.dockerfile else ""
        return Finding(
            rule_id=doc.id,
            kind=doc.kind,
            severity=severity or doc.severity,
            title=title or doc.title,
            message=message,
            location=Location(
                path=path, line=line, end_line=line, image_path=image_path, layer=layer
            ),
            tools=("docker-hardening",),
            checklist=doc.checklist,
            fix=fix or doc.fix,
            confidence=confidence,
            properties=(("key", key),) if key else (),
        )


@dataclass(frozen=True, slots=True)
class Rule:
    doc: RuleDoc
    check: Check


_RULES: dict[str, Rule] = {}
_DOCS: dict[str, RuleDoc] = {}


def _claim(doc: RuleDoc) -> None:
    if doc.id in _DOCS:
        raise ValueError(f"duplicate rule id {doc.id}")
    if any(d.name == doc.name for d in _DOCS.values()):
        raise ValueError(f"duplicate rule name {doc.name}")
    _DOCS[doc.id] = doc


def rule(doc: RuleDoc) -> Callable[[Check], Check]:
    """Register ``check`` as the rule documented by ``doc``."""

    def register(check: Check) -> Check:
        _claim(doc)
        _RULES[doc.id] = Rule(doc, check)
        return check

    return register


def register_doc(doc: RuleDoc) -> None:
    """Document a check that runs elsewhere (the runtime probes)."""
    if _DOCS.get(doc.id) == doc:
        return
    _claim(doc)


def rules() -> Iterator[Rule]:
    from hardening.rules import catalog  # noqa: F401  (imports every rule module once)

    return iter(sorted(_RULES.values(), key=lambda r: r.doc.id))


def docs() -> dict[str, RuleDoc]:
    from hardening.rules import catalog  # noqa: F401

    return dict(_DOCS)


def doc(
    id: str,
    name: str,
    title: str,
    severity: Severity,
    checklist: tuple[str, ...],
    why: str,
    fix: str,
    *,
    target: str,
    bad: str = "",
    good: str = "",
    owasp: str = "",
    refs: tuple[str, ...] = (),
    kind: Kind = Kind.MISCONFIGURATION,
) -> RuleDoc:
    return RuleDoc(
        id=id, name=name, title=title, severity=severity, kind=kind, checklist=checklist,
        why=why, fix=fix, example_bad=bad, example_good=good, owasp=owasp, cross_refs=refs,
        target=target,
    )  # fmt: skip
