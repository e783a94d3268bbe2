from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.image._locate import from_line

DOC = doc(
    "DH-I206",
    "file-capabilities",
    "Files in the image carry capabilities",
    Severity.MEDIUM,
    ("C06",),
    "A file capability (setcap) gives a binary privileges whoever runs it, like a narrow setuid.",
    "Remove it (`setcap -r FILE`) and grant the capability at run time only if needed "
    "(`--cap-add`), with no-new-privileges.",
    target="image",
    owasp="A01",
    bad="RUN setcap cap_net_bind_service=+ep /app",
    good="# docker run --cap-add NET_BIND_SERVICE ...",
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    image = ctx.image
    assert image is not None
    for fact in image.file_capabilities:
        yield ctx.finding(
            DOC,
            f"{fact.path} has file capabilities (security.capability)",
            line=from_line(ctx),
            image_path=fact.path,
            key=fact.path,
        )
