from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.compose._util import is_true

DOC = doc(
    "DH-C301",
    "privileged-container",
    "A service runs privileged",
    Severity.CRITICAL,
    ("C05", "C06"),
    "privileged: true gives the container every capability and every host device, and turns off "
    "seccomp and AppArmor: root in it is root on the host.",
    "Remove privileged; add back only the single capability or device the service needs.",
    target="compose",
    owasp="A01",
    bad="privileged: true",
    good="cap_drop: [ALL]\ncap_add: [NET_BIND_SERVICE]",
    refs=("cis:5.5", "compose-lint:CL-0002"),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    assert ctx.compose is not None
    for service in ctx.compose:
        if is_true(service.get("privileged")):
            yield ctx.finding(
                DOC,
                f"service {service.name} runs privileged",
                line=service.key_line("privileged"),
                path=ctx.compose.path,
                key=service.name,
            )
