from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.compose._util import as_list

DOC = doc(
    "DH-C305",
    "capabilities-not-dropped",
    "A service keeps Docker's default capabilities",
    Severity.MEDIUM,
    ("C05",),
    "Docker grants 14 capabilities by default (NET_RAW, CHOWN, SETUID, ...); most apps need none.",
    "Add `cap_drop: [ALL]` and add back only what the service needs (e.g. NET_BIND_SERVICE for a "
    "port below 1024).",
    target="compose",
    owasp="A01",
    bad="services:\n  web:\n    image: web",
    good="    cap_drop: [ALL]\n    cap_add: [NET_BIND_SERVICE]",
    refs=("cis:5.4", "compose-lint:CL-0006"),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    assert ctx.compose is not None
    for service in ctx.compose:
        drops = [str(c).upper().removeprefix("CAP_") for c in as_list(service.get("cap_drop"))]
        if "ALL" not in drops:
            yield ctx.finding(
                DOC,
                f"service {service.name} does not drop ALL capabilities",
                line=service.key_line("cap_drop") if service.get("cap_drop") else service.line,
                path=ctx.compose.path,
                key=service.name,
            )
