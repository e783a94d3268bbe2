from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.common import said
from hardening.rules.shell import commands, program

DOC = doc(
    "DH-D120",
    "sudo-in-run",
    "sudo is used in a RUN instruction",
    Severity.MEDIUM,
    ("C03", "C06"),
    "sudo in an image means a non-root user can become root again; during the build it hides "
    "which steps need root.",
    "Switch users explicitly: `USER root` for the steps that need it, then `USER 10001`; do not "
    "install sudo in the final image.",
    target="dockerfile",
    owasp="A01",
    bad="USER app\nRUN sudo apt-get update",
    good="USER root\nRUN apt-get update\nUSER 10001",
    refs=("hadolint:DL3004", "dockle:DKL-DI-0001", "trivy:DS-0010", "checkov:CKV2_DOCKER_1"),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    model = ctx.dockerfile
    assert model is not None
    for instruction in model.instructions("RUN", triggers=True):
        if any(program(words) == "sudo" for words in commands(instruction.script)):
            yield ctx.finding(DOC, said(instruction, "RUN invokes sudo"), line=instruction.line)
