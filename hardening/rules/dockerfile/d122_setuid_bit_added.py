import re
from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.common import said
from hardening.rules.shell import commands, program, strip_sudo

SPECIAL_MODE = r"^([ugoa]*\+[rwxXt]*s[rwxXst]*|[2467][0-7]{3})$"  # compiled at the first chmod

DOC = doc(
    "DH-D122",
    "setuid-bit-added",
    "A setuid or setgid bit is set",
    Severity.MEDIUM,
    ("C06",),
    "A setuid/setgid binary runs with its owner's privileges whoever starts it: a way back to "
    "root for any process in the container.",
    "Do not set it; if a binary needs one privilege, grant it a capability at run time instead.",
    target="dockerfile",
    owasp="A01",
    bad="RUN chmod u+s /usr/local/bin/tool",
    good="RUN chmod 0755 /usr/local/bin/tool",
    refs=("dockle:CIS-DI-0008", "cis:4.8"),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    model = ctx.dockerfile
    assert model is not None
    for instruction in model.instructions("RUN", triggers=True):
        for words in commands(instruction.script):
            words = strip_sudo(words)
            if program(words) == "chmod" and any(re.match(SPECIAL_MODE, w) for w in words[1:]):
                yield ctx.finding(
                    DOC,
                    said(instruction, f"`{' '.join(words)[:120]}` sets a setuid/setgid bit"),
                    line=instruction.line,
                )
                break
