from collections.abc import Iterator

from hardening.model import Finding, Kind, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.runtime._probe import started

DOC = doc(
    "DH-R402",
    "runtime-uid-below-minimum",
    "The container runs with a low uid",
    Severity.LOW,
    ("C03",),
    "PID 1 runs with a uid below the configured minimum, which can collide with host system accounts.",
    "Use a dedicated uid of 10000 or more.",
    target="runtime",
    owasp="A01",
    kind=Kind.RUNTIME,
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    probe = started(ctx)
    if probe is None:
        return
    uid = probe.user.get("uid")
    # uid 0 is DH-R401's.
    if uid != 0 and isinstance(uid, int) and uid < ctx.min_uid:
        name = f" ({probe.user.get('name')})" if probe.user.get("name") else ""
        yield ctx.finding(DOC, f"PID 1 runs as uid {uid}{name}, below the minimum {ctx.min_uid}")
