from collections.abc import Iterator

from hardening.model import Finding, Kind, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.runtime._probe import capabilities_held

DOC = doc(
    "DH-R405",
    "runtime-capabilities-beyond-default",
    "PID 1 has capabilities beyond Docker's default set",
    Severity.HIGH,
    ("C05",),
    "The engine grants more than its 14 default capabilities.",
    "Check the daemon and the run flags; drop ALL and add back only what is needed.",
    target="runtime",
    owasp="A01",
    kind=Kind.RUNTIME,
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    # Imported here: `hardening lint` reads every rule module and needs no probe code.
    from hardening.probes.capabilities import DOCKER_DEFAULTS

    bounding = capabilities_held(ctx, "bounding")
    extra = sorted(bounding - DOCKER_DEFAULTS) if bounding is not None else []
    if extra:
        yield ctx.finding(DOC, f"the bounding set has {', '.join(extra)} beyond Docker's defaults")
