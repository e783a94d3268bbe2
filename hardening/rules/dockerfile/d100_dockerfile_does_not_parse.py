from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.targets.dockerfile import shown

DOC = doc(
    "DH-D100",
    "dockerfile-does-not-parse",
    "The Dockerfile does not parse",
    Severity.HIGH,
    (),
    "A Dockerfile that BuildKit cannot read, that uses an instruction BuildKit does not know, or "
    "whose instructions BuildKit rejects (a FROM without an image, a USER without a user, a COPY "
    "without a destination, an unknown flag) fails to build; no other check of it can be trusted.",
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
        name = shown(instruction.cmd)
        yield ctx.finding(
            DOC,
            f"unknown instruction {name}: BuildKit will refuse to build it",
            line=instruction.line,
            key=f"unknown:{name}",
        )
    for line, message in model.invalid:
        yield ctx.finding(
            DOC,
            f"BuildKit rejects this instruction: {message}",
            line=line,
            key=f"invalid:{message}",
        )
