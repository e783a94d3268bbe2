from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.compose._util import is_true

DOC = doc(
    "DH-C304",
    "root-filesystem-writable",
    "A service's root filesystem is writable",
    Severity.MEDIUM,
    ("C04",),
    "A writable root filesystem lets an attacker drop tools and change the app's own files; "
    "read-only, with tmpfs for the few paths that need writes, stops that.",
    "Set `read_only: true` and mount `tmpfs: [/tmp]` (or volumes) where the app writes.",
    target="compose",
    owasp="A01",
    bad="services:\n  web:\n    image: web",
    good="services:\n  web:\n    image: web\n    read_only: true\n    tmpfs: [/tmp]",
    refs=("cis:5.13", "compose-lint:CL-0007"),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    assert ctx.compose is not None
    for service in ctx.compose:
        if not is_true(service.get("read_only")):
            yield ctx.finding(
                DOC,
                f"service {service.name} has a writable root filesystem (no read_only: true)",
                line=service.key_line("read_only")
                if "read_only" in (service.data or {})
                else service.line,
                path=ctx.compose.path,
                key=service.name,
            )
