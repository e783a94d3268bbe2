import re
from collections.abc import Iterator

from hardening.model import Finding, Kind, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.common import is_secret_name
from hardening.rules.image._locate import from_line
from hardening.scanners.common import redact

# BuildKit records build arguments used by RUN as `RUN |2 NAME=value OTHER=value /bin/sh -c ...`.
BUILD_ARGS = re.compile(r"^RUN \|\d+ ((?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)+)")

DOC = doc(
    "DH-I203",
    "secret-in-history",
    "A secret is recorded in the image history",
    Severity.HIGH,
    ("C10",),
    "`docker history --no-trunc` shows every build argument a RUN used, with its value. Anyone who "
    "can pull the image can read a token passed with --build-arg.",
    "Pass it as a BuildKit secret (`RUN --mount=type=secret,id=token ...`), rebuild, and rotate the "
    "exposed value.",
    target="image",
    owasp="A02",
    kind=Kind.SECRET,
    bad="docker build --build-arg NPM_TOKEN=... .",
    good="docker build --secret id=npm_token,env=NPM_TOKEN .",
    refs=("dockle:CIS-DI-0010", "cis:4.10"),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    image = ctx.image
    assert image is not None
    reported: set[str] = set()
    for entry in image.history:
        match = BUILD_ARGS.match(str(entry.get("created_by", "")))
        if not match:
            continue
        for assignment in match.group(1).split():
            name, _, value = assignment.partition("=")
            if is_secret_name(name) and value and name not in reported:
                reported.add(name)
                yield ctx.finding(
                    DOC,
                    f"build argument {name} ({redact(value)}) is visible in the image history",
                    line=_arg_line(ctx, name) or from_line(ctx),
                    key=name,
                )


def _arg_line(ctx: LintContext, name: str) -> int:
    if ctx.dockerfile is None:
        return 0
    for instruction in ctx.dockerfile.instructions("ARG"):
        if any(v.split("=", 1)[0] == name for v in instruction.value):
            return instruction.line
    return 0
