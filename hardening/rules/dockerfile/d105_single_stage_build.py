from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.shell import commands, program
from hardening.targets.dockerfile import Instruction

DOC = doc(
    "DH-D105",
    "single-stage-build",
    "A single-stage build ships its build inputs",
    Severity.LOW,
    ("C02",),
    "With one stage, whatever the build installs or copies in (compilers, package caches, the "
    "source tree, dev dependencies) stays in the image that runs.",
    "Build in a first stage and copy only the artifacts into a small final stage "
    "(`COPY --from=build /out/app /app`).",
    target="dockerfile",
    owasp="A06",
    bad="FROM golang:1.22\nCOPY . .\nRUN go build -o /app .",
    good="FROM golang:1.22 AS build\nCOPY . .\nRUN go build -o /app .\n\nFROM gcr.io/distroless/static\nCOPY --from=build /app /app",
    refs=("checkov:CKV2_DOCKER_7",),
)


def _builds(instruction: Instruction) -> bool:
    if instruction.cmd == "RUN":
        return bool(instruction.heredocs) or any(program(c) for c in commands(instruction.script))
    return instruction.cmd in ("COPY", "ADD") and instruction.flag("from") is None


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    model = ctx.dockerfile
    assert model is not None
    if len(model.stages) != 1:
        return
    stage = model.stages[0]
    if stage.is_scratch:
        return
    steps = [i for i in model.instructions(triggers=True) if _builds(i)]
    if not steps:
        return
    message = "one stage builds and runs the app: build tools, caches and sources stay in the image"
    if all(step.onbuild for step in steps):
        message = (
            "ONBUILD: in child images, the triggers build in the child's stage: build tools, "
            "caches and sources stay in that image unless it copies only its artifacts onward"
        )
    yield ctx.finding(DOC, message, line=stage.from_line)
