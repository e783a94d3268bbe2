from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.image._locate import from_line

DOC = doc(
    "DH-I208",
    "build-tools-in-image",
    "Compilers or build tools are in the final image",
    Severity.MEDIUM,
    ("C02",),
    "Compilers and build tools in the running image let an attacker build exploits in place and "
    "add size and CVEs for nothing.",
    "Build in a separate stage and copy only the artifacts into the final stage.",
    target="image",
    owasp="A06",
    bad="FROM golang:1.22\nRUN go build -o /app .",
    good="FROM golang:1.22 AS build\nRUN go build -o /app .\nFROM gcr.io/distroless/static\nCOPY --from=build /app /app",
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    image = ctx.image
    assert image is not None
    if not image.layers_read:
        return
    if image.build_tools:
        yield ctx.finding(
            DOC,
            f"build tools in the final image: {', '.join(image.build_tools)}",
            line=from_line(ctx),
        )
    else:
        ctx.evidence.setdefault("C02", "no compilers or build tools found in the image layers")
