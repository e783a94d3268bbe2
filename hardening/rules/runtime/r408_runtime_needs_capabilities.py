from collections.abc import Iterator

from hardening.model import Finding, Kind, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.runtime._probe import broken_by, trial

DOC = doc(
    "DH-R408",
    "runtime-needs-capabilities",
    "The image does not run with all capabilities dropped",
    Severity.MEDIUM,
    ("C05",),
    "With --cap-drop ALL the container fails.",
    "Find the capability it needs (the log says 'Operation not permitted') and add back only that one.",
    target="runtime",
    owasp="A01",
    kind=Kind.RUNTIME,
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    if "--cap-drop ALL" not in broken_by(ctx):
        return
    hint = (
        " (its log says an operation was not permitted)" if trial(ctx).get("not_permitted") else ""
    )
    yield ctx.finding(DOC, f"the container fails with --cap-drop ALL{hint}")
