"""How a rule is declared, and what it sees.

A rule is one module under ``hardening/rules/<target>/``: a :class:`RuleDoc` (its id, name,
severity, checklist items, why and fix with a before/after example) and one function decorated
with :func:`rule` that yields findings from a :class:`LintContext`. Ids are grouped by target:
DH-D1xx Dockerfile, DH-I2xx image, DH-C3xx compose, DH-R4xx runtime, DH-X5xx build context.

:func:`rule` only marks the function; nothing is registered when a module is imported.
``hardening.rules.registry`` finds the rule modules itself and refuses a duplicate id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from hardening.model import Finding, Kind, Location, RuleDoc, Severity

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (lint starts fast)
if TYPE_CHECKING:  # the facts, read by the rules; their modules are loaded by what makes them
    from hardening.model import SignatureCheck
    from hardening.probes import ProbeResult
    from hardening.supply.pins import Pin
    from hardening.targets.compose import ComposeModel
    from hardening.targets.dockerfile import DockerfileModel
    from hardening.targets.dockerignore import DockerIgnore
    from hardening.targets.image import ImageFacts

Check = Callable[["LintContext"], Iterable[Finding]]
# The facts a rule can read, each from one producer: the targets' parsers (``lint``), the
# digest pins resolved against the registry (``check_pins``), the probes (``check_runtime``),
# the signature checks (``check_signatures``).
FACTS = ("dockerfile", "context", "compose", "image", "pins", "runtime", "signatures")


@dataclass
class LintContext:
    """The facts the rules read, each present when its producer ran, and the evidence they
    leave for the checklist."""

    workspace: Path
    dockerfile: DockerfileModel | None = None
    dockerignore: DockerIgnore | None = None
    compose: ComposeModel | None = None
    image: ImageFacts | None = None
    pins: tuple[Pin, ...] | None = None  # the FROM lines' digests, resolved
    runtime: ProbeResult | None = None  # what running the image showed
    signatures: tuple[SignatureCheck, ...] | None = None  # images checked against the policy
    min_uid: int = 1000
    minimal_bases: tuple[str, ...] = ()
    allowed_capabilities: frozenset[str] = frozenset()
    evidence: dict[str, str] = field(default_factory=dict)

    def finding(
        self,
        doc: RuleDoc,
        message: str,
        *,
        line: int = 0,
        path: str | None = None,
        key: str = "",
        properties: tuple[tuple[str, str], ...] = (),
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
            properties=((("key", key),) if key else ()) + properties,
        )


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule: its documentation, its check and the fact the check reads."""

    doc: RuleDoc
    check: Check
    needs: str  # the fact it reads (one of FACTS): the rule runs only when that is there


MARK = "__hardening_rule__"


def rule(doc: RuleDoc, *, needs: str = "") -> Callable[[Check], Check]:
    """Mark ``check`` as the rule documented by ``doc``; it reads ``needs`` (default: the
    doc's target). The registry finds marked functions in the rule modules."""
    fact = needs or doc.target
    if fact not in FACTS:
        raise ValueError(f"{doc.id}: unknown fact {fact!r} (one of {', '.join(FACTS)})")

    def mark(check: Check) -> Check:
        vars(check)[MARK] = Rule(doc, check, fact)
        return check

    return mark


def marked(value: object) -> Rule | None:
    """The rule ``value`` was marked as, if it is a rule's check."""
    found = getattr(value, MARK, None)
    return found if isinstance(found, Rule) else None


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
