from collections.abc import Iterator

from hardening.model import Finding, Kind, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.runtime._probe import trial

DOC = doc(
    "DH-R410",
    "runtime-not-healthy",
    "The healthcheck never turned healthy in the hardened trial",
    Severity.MEDIUM,
    ("C13",),
    "The image defines a HEALTHCHECK, but it did not pass under the hardened flags.",
    "Make the healthcheck work without a shell and without writes, or fix what the hardened flags break.",
    target="runtime",
    owasp="A01",
    kind=Kind.RUNTIME,
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    record = trial(ctx)
    # When a flag broke the trial, the rule for that flag says so; the health follows from it.
    if record.get("healthy") is False and not record.get("broken_by"):
        yield ctx.finding(DOC, "the healthcheck did not report healthy under the hardened flags")
