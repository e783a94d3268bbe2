from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.common import ROOT_USERS, last_user, user_part

DOC = doc(
    "DH-D103",
    "uid-below-minimum",
    "The final USER has a low uid",
    Severity.LOW,
    ("C03",),
    "Low uids (below 1000) overlap with system accounts on the host; a dedicated high uid "
    "(the checklist uses 10001) cannot collide with a real user if a container escapes.",
    "Use a dedicated uid of 10000 or more, e.g. `USER 10001:10001`.",
    target="dockerfile",
    owasp="A01",
    bad="USER 33",
    good="USER 10001:10001",
    refs=("hadolint:DL3066",),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    model = ctx.dockerfile
    assert model is not None
    found = last_user(model)
    if found is None:
        return
    instruction, user = found
    uid = user_part(user)
    if uid.isdigit() and uid not in ROOT_USERS and int(uid) < ctx.min_uid:
        yield ctx.finding(
            DOC,
            f"USER {user}: uid {uid} is below the minimum of {ctx.min_uid}",
            line=instruction.line,
        )
