from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.image._locate import from_line

DOC = doc(
    "DH-I207",
    "shell-or-package-manager-in-image",
    "The final image has a shell or a package manager",
    Severity.LOW,
    ("C01",),
    "A shell and a package manager are the first tools an attacker uses after getting in; a "
    "production image rarely needs either.",
    "Use a distroless or scratch final stage, or remove them in the final stage.",
    target="image",
    owasp="A06",
    bad="FROM debian:12-slim",
    good="FROM gcr.io/distroless/base-debian12",
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    image = ctx.image
    assert image is not None
    if not image.layers_read:
        return
    tools = [*image.shells[:3], *image.package_managers]
    if tools:
        yield ctx.finding(DOC, f"the image contains {', '.join(tools)}", line=from_line(ctx))
    else:
        ctx.evidence["C01"] = "no shell and no package manager in the image"
