from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.common import ROOT_USERS, last_user, user_part

DOC = doc(
    "DH-D101",
    "final-stage-runs-as-root",
    "The final stage explicitly runs as root",
    Severity.HIGH,
    ("C03",),
    "The last USER of the final stage is root (or uid 0). Containers from this image run as root: "
    "a bug in the app plus a container escape gives the attacker root on the host.",
    "Create a dedicated user with a fixed uid of 10000 or more and switch to it last.",
    target="dockerfile",
    owasp="A01",
    bad='FROM debian:12-slim\nUSER root\nCMD ["/app"]',
    good='FROM debian:12-slim\nRUN useradd --system --uid 10001 --no-create-home app\nUSER 10001\nCMD ["/app"]',
    refs=(
        "hadolint:DL3002",
        "dockle:CIS-DI-0001",
        "cis:4.1",
        "trivy:DS-0002",
        "checkov:CKV_DOCKER_8",
    ),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    model = ctx.dockerfile
    assert model is not None
    found = last_user(model)
    if found is None:
        return
    instruction, user = found
    if user_part(user) in ROOT_USERS:
        yield ctx.finding(
            DOC,
            f"the final stage switches to USER {user}: the container runs as root",
            line=instruction.line,
        )
