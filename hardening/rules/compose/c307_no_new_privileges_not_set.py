from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.compose._util import as_list

DOC = doc(
    "DH-C307",
    "no-new-privileges-not-set",
    "A service can gain new privileges",
    Severity.MEDIUM,
    ("C06",),
    "Without no-new-privileges a process can gain privileges through setuid binaries or file "
    "capabilities. `no-new-privileges:false` is the same as not setting it.",
    'Add `security_opt: ["no-new-privileges:true"]`.',
    target="compose",
    owasp="A01",
    bad='security_opt: ["no-new-privileges:false"]',
    good='security_opt: ["no-new-privileges:true"]',
    refs=("cis:5.26", "compose-lint:CL-0003"),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    assert ctx.compose is not None
    for service in ctx.compose:
        options = [
            str(o).replace("=", ":").lower().replace(" ", "")
            for o in as_list(service.get("security_opt"))
        ]
        if not any(o in ("no-new-privileges", "no-new-privileges:true") for o in options):
            explicit = any(o.startswith("no-new-privileges:") for o in options)
            yield ctx.finding(
                DOC,
                f"service {service.name} sets no-new-privileges:false"
                if explicit
                else f"service {service.name} does not set no-new-privileges",
                line=service.key_line("security_opt")
                if service.get("security_opt")
                else service.line,
                path=ctx.compose.path,
                key=service.name,
            )
