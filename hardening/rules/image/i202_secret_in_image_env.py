from collections.abc import Iterator

from hardening.model import Finding, Kind, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.common import is_literal, is_secret_name
from hardening.rules.image._locate import from_line
from hardening.scanners.common import redact
from hardening.targets.dockerfile import pairs

DOC = doc(
    "DH-I202",
    "secret-in-image-env",
    "The image's environment holds a secret",
    Severity.HIGH,
    ("C10",),
    "A secret-looking variable with a value is in the image config (set here or inherited from "
    "the base image): `docker inspect` shows it to anyone who can pull the image.",
    "Unset it in the image and provide it at run time from a secret store; rotate it.",
    target="image",
    owasp="A02",
    kind=Kind.SECRET,
    bad="ENV API_TOKEN=abc123",
    good="# provided at run time from a secret",
    refs=("dockle:CIS-DI-0010", "cis:4.10"),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    image = ctx.image
    assert image is not None
    set_here = set()
    if ctx.dockerfile is not None:
        set_here = {name for i in ctx.dockerfile.instructions("ENV") for name, _ in pairs(i)}
    for name, value in image.env:
        # Set by this Dockerfile: DH-D108 reports it at its own line.
        if name in set_here or not is_secret_name(name) or not is_literal(value):
            continue
        yield ctx.finding(
            DOC,
            f"the image's environment sets {name} ({redact(value)}), inherited from the base image",
            line=from_line(ctx),
            key=name,
        )
