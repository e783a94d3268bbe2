from collections.abc import Iterator

from hardening.model import Finding, Kind, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.common import is_literal, is_secret_name, said
from hardening.targets.dockerfile import pairs

DOC = doc(
    "DH-D108",
    "secret-in-env-or-arg",
    "A secret is set in ENV or ARG",
    Severity.HIGH,
    ("C10",),
    "ENV values are stored in the image config and ARG values in its history: anyone who can pull "
    "the image can read them with `docker inspect` or `docker history`, even after a later layer "
    "unsets them.",
    "Pass build-time secrets with `RUN --mount=type=secret,id=...` and runtime secrets as files "
    "(/run/secrets) or from the orchestrator; rotate the exposed value.",
    target="dockerfile",
    owasp="A02",
    kind=Kind.SECRET,
    bad="ENV DB_PASSWORD=hunter2",
    good="RUN --mount=type=secret,id=db_password ./configure",
    refs=("hadolint:DL3064", "dockle:CIS-DI-0010", "cis:4.10", "trivy:DS-0031"),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    model = ctx.dockerfile
    assert model is not None
    for instruction in model.instructions(triggers=True):
        if instruction.cmd not in ("ENV", "ARG"):
            continue
        for name, value in pairs(instruction):
            if is_secret_name(name) and is_literal(value):
                from hardening.scanners.common import redact  # only with a finding to say

                yield ctx.finding(
                    DOC,
                    said(
                        instruction,
                        f"{instruction.cmd} {name} holds a literal value ({redact(value or '')}); "
                        "it is readable by anyone who can pull the image",
                    ),
                    line=instruction.line,
                    key=f"{instruction.cmd}:{name}",
                )
