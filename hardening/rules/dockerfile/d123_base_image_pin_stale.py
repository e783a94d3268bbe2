from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule

DOC = doc(
    "DH-D123",
    "base-image-pin-stale",
    "A pinned base image has a newer build",
    Severity.LOW,
    ("C08", "C16"),
    "The FROM is pinned by digest, but its tag now points at a different digest: the pin holds back "
    "the fixes published since.",
    "Update the digest (the finding gives the exact line), and let Renovate (docker:pinDigests) or "
    "Dependabot keep pins fresh.",
    target="dockerfile",
    owasp="A06",
    bad="FROM debian:12-slim@sha256:<old>",
    good="FROM debian:12-slim@sha256:<current>",
)


@rule(DOC, needs="pins")
def check(ctx: LintContext) -> Iterator[Finding]:
    assert ctx.pins is not None
    for pin in ctx.pins:
        if not pin.stale:
            continue
        age = f"; the pinned image is {pin.age_days} days old" if pin.age_days is not None else ""
        replacement = pin.original.replace(pin.digest, pin.current)
        yield ctx.finding(
            DOC,
            f"the tag now points at {pin.current[:19]}…, not the pinned {pin.digest[:19]}…{age}",
            line=pin.line,
            key=pin.original,
            properties=(("replacement", replacement), ("digest", pin.current)),
            fix=f"Replace line {pin.line} with: {replacement}",
        )
