from collections.abc import Iterator

from hardening.model import Finding, Kind, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.runtime._probe import capabilities_held

DOC = doc(
    "DH-R404",
    "runtime-effective-capabilities",
    "PID 1 holds risky capabilities under Docker's defaults",
    Severity.MEDIUM,
    ("C05",),
    "Under Docker's default flags PID 1 has capabilities such as NET_RAW (packet spoofing) or "
    "SYS_PTRACE in its effective set.",
    "Run as non-root and with `--cap-drop ALL` (adding back only what is needed).",
    target="runtime",
    owasp="A01",
    kind=Kind.RUNTIME,
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    # Imported here: `hardening lint` reads every rule module and needs no probe code.
    from hardening.probes.capabilities import RISKY_DEFAULTS

    effective = capabilities_held(ctx, "effective")
    risky = sorted(effective & RISKY_DEFAULTS) if effective is not None else []
    if risky:
        yield ctx.finding(
            DOC,
            f"PID 1's effective capabilities under Docker's defaults include {', '.join(risky)}",
        )
