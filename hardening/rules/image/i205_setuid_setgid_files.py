from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.image._locate import from_line

DOC = doc(
    "DH-I205",
    "setuid-setgid-files",
    "The image contains setuid or setgid files",
    Severity.MEDIUM,
    ("C06",),
    "Each setuid/setgid binary is a path back to root for any process in the container, unless "
    "it runs with no-new-privileges.",
    "Remove the bits in the Dockerfile (`RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} +`) "
    "or start from a base without them, and run with `--security-opt no-new-privileges`.",
    target="image",
    owasp="A01",
    bad="# passwd, su, mount ... keep their setuid bit",
    good="RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} + || true",
    refs=("dockle:CIS-DI-0008", "cis:4.8"),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    image = ctx.image
    assert image is not None
    if not image.layers_read:
        return
    if image.setuid:
        paths = ", ".join(f.path for f in image.setuid[:8])
        more = f" and {len(image.setuid) - 8} more" if len(image.setuid) > 8 else ""
        yield ctx.finding(
            DOC,
            f"{len(image.setuid)} setuid/setgid file(s): {paths}{more}",
            line=from_line(ctx),
            image_path=image.setuid[0].path,
        )
    else:
        ctx.evidence.setdefault(
            "C06", "no setuid/setgid files or file capabilities in the image layers"
        )
