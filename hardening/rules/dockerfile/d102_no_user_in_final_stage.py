from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.common import NONROOT_BASES, last_user

DOC = doc(
    "DH-D102",
    "no-user-in-final-stage",
    "The final stage never sets USER",
    Severity.MEDIUM,
    ("C03",),
    "Without a USER instruction the container runs as the base image's user, which is root for "
    "almost every base image. A USER in a builder stage does not carry over to the final stage.",
    "Add `USER <uid>` (a dedicated uid of 10000 or more) at the end of the final stage.",
    target="dockerfile",
    owasp="A01",
    bad='FROM node:20-alpine\nCOPY . /app\nCMD ["node", "/app/server.js"]',
    good='FROM node:20-alpine\nCOPY . /app\nUSER 10001\nCMD ["node", "/app/server.js"]',
    refs=("dockle:CIS-DI-0001", "cis:4.1", "trivy:DS-0002", "checkov:CKV_DOCKER_3"),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    model = ctx.dockerfile
    assert model is not None
    final = model.final
    if final is None or last_user(model) is not None:
        return
    if ctx.image is not None:
        # The built image says who it runs as; DH-I201 judges it with that evidence.
        return
    root = model.root_base()
    base = root.base_resolved if root else ""
    line = final.from_line
    if root is not None and root.is_scratch:
        yield ctx.finding(
            DOC,
            "the final stage is FROM scratch with no USER: the process runs as uid 0",
            line=line,
        )
    elif NONROOT_BASES.search(base):
        yield ctx.finding(
            DOC,
            f"no USER in the final stage; the base {base} is known to run as a non-root user, "
            "so this is likely fine: scan the built image to confirm",
            line=line,
            severity=Severity.LOW,
            confidence="low",
        )
    else:
        yield ctx.finding(
            DOC,
            f"no USER in the final stage: it runs as the base image's user ({base or 'unknown'}), "
            "which is root for almost every base",
            line=line,
            confidence="medium",
        )
