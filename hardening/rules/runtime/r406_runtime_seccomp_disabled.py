from collections.abc import Iterator

from hardening.model import Finding, Kind, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.runtime._probe import started

DOC = doc(
    "DH-R406",
    "runtime-seccomp-disabled",
    "The container runs without seccomp",
    Severity.HIGH,
    ("C07",),
    "PID 1 runs with seccomp mode 0: no system call filtering.",
    "Do not run with `seccomp=unconfined`; keep Docker's default profile or a custom one.",
    target="runtime",
    owasp="A01",
    kind=Kind.RUNTIME,
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    probe = started(ctx)
    # Without capabilities PID 1 was not read, and an unread seccomp mode is not mode 0.
    if probe is not None and probe.seccomp == 0 and probe.capabilities:
        yield ctx.finding(DOC, "PID 1 runs with seccomp mode 0 (no filtering)")
