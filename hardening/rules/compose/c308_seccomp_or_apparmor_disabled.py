from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.compose._util import as_list

DOC = doc(
    "DH-C308",
    "seccomp-or-apparmor-disabled",
    "A service turns off seccomp or AppArmor",
    Severity.HIGH,
    ("C07",),
    "Docker's default seccomp profile blocks dozens of dangerous syscalls and AppArmor confines "
    "file access; `unconfined` removes both protections.",
    "Remove the `seccomp:unconfined` / `apparmor:unconfined` option, or point it at a custom profile.",
    target="compose",
    owasp="A01",
    bad='security_opt: ["seccomp:unconfined"]',
    good='security_opt: ["no-new-privileges:true"]',
    refs=("cis:5.2", "cis:5.22", "compose-lint:CL-0009"),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    assert ctx.compose is not None
    for service in ctx.compose:
        for index, option in enumerate(as_list(service.get("security_opt"))):
            text = str(option).replace("=", ":").lower().replace(" ", "")
            if text in ("seccomp:unconfined", "apparmor:unconfined", "label:disable"):
                yield ctx.finding(
                    DOC,
                    f"service {service.name} sets {option}",
                    line=service.item_line("security_opt", index),
                    path=ctx.compose.path,
                    key=f"{service.name}:{text}",
                )
