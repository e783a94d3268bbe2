from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.common import base_reference, external_stages

DOC = doc(
    "DH-D107",
    "base-image-not-pinned-by-digest",
    "A base image is not pinned by digest",
    Severity.LOW,
    ("C08",),
    "A tag can be moved to other content at any time; only a digest names exactly the image that "
    "was reviewed and scanned. Pinned digests also make builds reproducible.",
    "Append the digest: `FROM name:tag@sha256:...` (`docker buildx imagetools inspect name:tag` "
    "prints it), and let Renovate (docker:pinDigests) or Dependabot keep it fresh.",
    target="dockerfile",
    owasp="A08",
    bad="FROM debian:12-slim",
    good="FROM debian:12-slim@sha256:<digest>",
    refs=("cis:4.2",),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    model = ctx.dockerfile
    assert model is not None
    for stage in external_stages(model):
        base = base_reference(stage)
        if base.pinned is False:
            yield ctx.finding(
                DOC,
                f"FROM {base.ref} is not pinned by digest{base.why()}",
                line=stage.from_line,
                key=base.ref,
            )
