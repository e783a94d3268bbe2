from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule

DOC = doc(
    "DH-D100",
    "dockerfile-does-not-parse",
    "The Dockerfile does not parse",
    Severity.HIGH,
    (),
    "A Dockerfile that BuildKit cannot read, or that uses an instruction BuildKit does not know, "
    "fails to build; no other check of it can be trusted.",
    "Fix the line reported; `docker build` shows the same error.",
    target="dockerfile",
    bad="FROM debian:12\nRUNN apt-get update",
    good="FROM debian:12\nRUN apt-get update",
    refs=("hadolint:DL1000",),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    model = ctx.dockerfile
    assert model is not None
    if model.error is not None:
        line, message = model.error
        yield ctx.finding(DOC, f"BuildKit cannot parse this Dockerfile: {message}", line=line)
    for instruction in model.unknown:
        yield ctx.finding(
            DOC,
            f"unknown instruction {instruction.cmd}: BuildKit will refuse to build it",
            line=instruction.line,
            key=f"unknown:{instruction.cmd}",
        )
