from collections.abc import Iterator

from hardening.model import Finding, Kind, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.runtime._probe import broken_by

DOC = doc(
    "DH-R409",
    "runtime-fails-no-new-privileges",
    "The image does not run with no-new-privileges",
    Severity.MEDIUM,
    ("C06",),
    "With no-new-privileges the container fails: it relies on setuid binaries or file capabilities.",
    "Remove the need for setuid/setcap binaries (run as the right user from the start).",
    target="runtime",
    owasp="A01",
    kind=Kind.RUNTIME,
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    if "no-new-privileges" in broken_by(ctx):
        yield ctx.finding(DOC, "the container fails with --security-opt no-new-privileges:true")
