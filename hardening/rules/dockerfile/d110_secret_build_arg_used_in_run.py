import re
from collections.abc import Iterator

from hardening.model import Finding, Kind, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.common import is_literal, is_secret_name
from hardening.targets.dockerfile import pairs

DOC = doc(
    "DH-D110",
    "secret-build-arg-used-in-run",
    "A secret is passed as a build argument",
    Severity.HIGH,
    ("C10",),
    "A build argument used by RUN is recorded in the image history (`docker history` shows "
    "`|1 NPM_TOKEN=...`), so the value given with --build-arg is readable by anyone with the image.",
    "Use a BuildKit secret instead: `RUN --mount=type=secret,id=npm_token NPM_TOKEN=$(cat "
    "/run/secrets/npm_token) npm ci`, built with `--secret id=npm_token,env=NPM_TOKEN`.",
    target="dockerfile",
    owasp="A02",
    kind=Kind.SECRET,
    bad='ARG NPM_TOKEN\nRUN echo "//registry.npmjs.org/:_authToken=$NPM_TOKEN" > .npmrc && npm ci',
    good="RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci",
    refs=("hadolint:DL3064", "dockle:CIS-DI-0010", "cis:4.10", "trivy:DS-0031"),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    model = ctx.dockerfile
    assert model is not None
    for stage in model.stages:
        secret_args: dict[str, int] = {}
        for instruction in stage.instructions:
            if instruction.cmd == "ARG":
                for name, value in pairs(instruction):
                    if is_secret_name(name) and not is_literal(value):
                        secret_args[name] = instruction.line
            elif instruction.cmd == "RUN" and secret_args:
                for name, line in secret_args.items():
                    if re.search(rf"\${{?{re.escape(name)}\b", instruction.text):
                        yield ctx.finding(
                            DOC,
                            f"build argument {name} (ARG at line {line}) is used by RUN: its value is "
                            "recorded in the image history",
                            line=instruction.line,
                            key=f"ARG:{name}",
                        )
