from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.image._locate import from_line

DOC = doc(
    "DH-I211",
    "image-no-healthcheck",
    "The built image has no healthcheck",
    Severity.LOW,
    ("C13",),
    "Neither the Dockerfile nor the base image defines a HEALTHCHECK, so nothing can tell a hung "
    "container from a working one.",
    "Add a HEALTHCHECK to the final stage (exec form, so it works without a shell).",
    target="image",
    bad="(no HEALTHCHECK)",
    good='HEALTHCHECK CMD ["/app", "healthcheck"]',
    refs=("dockle:CIS-DI-0006", "cis:4.6"),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    image = ctx.image
    assert image is not None
    if image.healthcheck:
        ctx.evidence["C13"] = "the image defines a HEALTHCHECK: " + " ".join(image.healthcheck)[:80]
        return
    yield ctx.finding(DOC, "the image config has no Healthcheck", line=from_line(ctx))
