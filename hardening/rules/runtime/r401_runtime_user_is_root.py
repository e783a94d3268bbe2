from collections.abc import Iterator

from hardening.model import Finding, Kind, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.runtime._probe import started

DOC = doc(
    "DH-R401",
    "runtime-user-is-root",
    "The container really runs as root",
    Severity.HIGH,
    ("C03",),
    "Running the image showed PID 1 with uid 0.",
    "Add `USER <uid>` (10000 or more) to the final stage.",
    target="runtime",
    owasp="A01",
    kind=Kind.RUNTIME,
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    probe = started(ctx)
    if probe is not None and probe.user.get("uid") == 0:
        yield ctx.finding(DOC, "running the image shows PID 1 as uid 0 (root)")
