from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.common import ROOT_USERS, user_part

DOC = doc(
    "DH-C312",
    "service-runs-as-root",
    "A service overrides its user to root",
    Severity.MEDIUM,
    ("C03",),
    "`user: root` (or 0) runs the container as root whatever the image's USER says.",
    'Remove the override or set a dedicated non-root uid: `user: "10001:10001"`.',
    target="compose",
    owasp="A01",
    bad="user: root",
    good='user: "10001:10001"',
    refs=("cis:4.1", "compose-lint:CL-0018"),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    assert ctx.compose is not None
    for service in ctx.compose:
        user = service.get("user")
        if user is not None and user_part(str(user)) in ROOT_USERS:
            yield ctx.finding(
                DOC,
                f"service {service.name} runs as user {user}",
                line=service.key_line("user"),
                path=ctx.compose.path,
                key=service.name,
            )
