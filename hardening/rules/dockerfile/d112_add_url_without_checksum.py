from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.common import said, sources

DOC = doc(
    "DH-D112",
    "add-url-without-checksum",
    "ADD downloads a URL without verifying it",
    Severity.MEDIUM,
    ("C18",),
    "ADD <url> fetches whatever the server returns at build time; a compromised or changed file "
    "goes into the image unnoticed.",
    "Add `--checksum=sha256:...` to the ADD (BuildKit verifies it), or download in a RUN step and "
    "check the file against a published checksum.",
    target="dockerfile",
    owasp="A08",
    bad="ADD https://example.com/tool.tar.gz /tmp/",
    good="ADD --checksum=sha256:<digest> https://example.com/tool.tar.gz /tmp/",
    refs=("cis:4.11",),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    model = ctx.dockerfile
    assert model is not None
    for instruction in model.instructions("ADD", triggers=True):
        urls = [s for s in sources(model, instruction) if s.startswith(("http://", "https://"))]
        if urls and not instruction.flag("checksum"):
            yield ctx.finding(
                DOC,
                said(instruction, f"ADD {urls[0]} is not verified (no --checksum)"),
                line=instruction.line,
                key=urls[0],
            )
