from collections.abc import Iterator

from hardening.model import Finding, Kind, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.runtime._probe import result, user_is_missing

DOC = doc(
    "DH-R411",
    "runtime-does-not-stay-up",
    "The image does not stay up even with Docker's defaults",
    Severity.LOW,
    (),
    "The container exits with an error as configured, so its runtime could not be trialled.",
    "Check its entrypoint and command; one-shot images should exit 0.",
    target="runtime",
    owasp="A01",
    kind=Kind.RUNTIME,
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    probe = result(ctx)
    if probe.start_error:
        if not user_is_missing(probe.start_error):  # a missing user is DH-R403's
            yield ctx.finding(
                DOC, f"the container does not start: {probe.start_error.strip()[:300]}"
            )
        return
    why = (probe.trial or {}).get("not_applicable") or ""
    if "does not stay up" in why:
        yield ctx.finding(DOC, why)
