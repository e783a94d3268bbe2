from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.image._locate import from_line

DOC = doc(
    "DH-I212",
    "world-writable-directories",
    "World-writable folders without the sticky bit",
    Severity.LOW,
    ("C04",),
    "Any user can replace files in a world-writable folder that lacks the sticky bit, including "
    "files the app later reads or runs.",
    "Fix the mode in the Dockerfile (`chmod 1777` for shared temp folders, `chmod 755` otherwise) "
    "and run with a read-only root filesystem.",
    target="image",
    owasp="A01",
    bad="RUN chmod 777 /app/data",
    good="RUN chmod 750 /app/data",
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    image = ctx.image
    assert image is not None
    if not image.layers_read or not image.world_writable:
        return
    paths = ", ".join(f.path for f in image.world_writable[:6])
    yield ctx.finding(
        DOC,
        f"{len(image.world_writable)} world-writable folder(s) without the sticky bit: {paths}",
        line=from_line(ctx),
        image_path=image.world_writable[0].path,
    )
