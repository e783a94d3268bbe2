from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.common import user_part
from hardening.rules.image._locate import user_line

DOC = doc(
    "DH-I201",
    "image-runs-as-root",
    "The built image runs as root",
    Severity.HIGH,
    ("C03",),
    "The image config has no User, or User is root/0: every container from it starts as root "
    "unless the runtime overrides it. This is what the image really does, whatever the "
    "Dockerfile suggests (a USER in a builder stage, a base image's default).",
    "Add `USER <uid>` (10000 or more) at the end of the final stage.",
    target="image",
    owasp="A01",
    bad='FROM debian:12-slim\nCMD ["/app"]',
    good='FROM debian:12-slim\nUSER 10001\nCMD ["/app"]',
    refs=("dockle:CIS-DI-0001", "cis:4.1"),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    image = ctx.image
    assert image is not None
    if image.runs_as_root:
        user = image.user or "(not set)"
        yield ctx.finding(
            DOC, f"the image config's User is {user}: containers run as root", line=user_line(ctx)
        )
    else:
        uid = user_part(image.user)
        ctx.evidence["C03"] = f"image config User={image.user}" + (
            f" (uid {uid})" if uid.isdigit() else ""
        )
