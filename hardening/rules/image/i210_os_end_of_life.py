import datetime
from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.image._locate import from_line
from hardening.targets.image import EOL_AS_OF

DOC = doc(
    "DH-I210",
    "os-end-of-life",
    "The image's OS release is end-of-life",
    Severity.HIGH,
    ("C16",),
    "An end-of-life release gets no more security fixes: every new CVE in it stays open forever.",
    "Move the base to a supported release (e.g. debian:12-slim, alpine:3.22).",
    target="image",
    owasp="A06",
    bad="FROM debian:10",
    good="FROM debian:12-slim",
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    image = ctx.image
    assert image is not None
    release = image.os_release
    if release is None:
        return
    eol = release.eol()
    today = datetime.date.today()
    name = release.pretty_name or f"{release.id} {release.version_id}"
    if eol is None:
        ctx.evidence.setdefault("C16", f"{name}: not in the end-of-life table (as of {EOL_AS_OF})")
        return
    if eol < today:
        yield ctx.finding(
            DOC,
            f"{name} reached end of security support on {eol} (table as of {EOL_AS_OF})",
            line=from_line(ctx),
            key=f"{release.id}:{release.version_id}",
        )
    else:
        ctx.evidence.setdefault("C16", f"{name} is supported until {eol}")
