from collections.abc import Iterator

from hardening.model import Finding, Severity, SignatureOutcome
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.signing import signature_findings

DOC = doc(
    "DH-D124",
    "base-image-unsigned",
    "A base image is not signed as the policy requires",
    Severity.HIGH,
    ("C17",),
    "The policy file requires this base image to be signed, and no signature is attached to "
    "its digest. Without one, nothing shows that the image is the one its publisher built: a "
    "compromised registry account or mirror can serve anything under the tag.",
    "Use a base image its publisher signs (cosign), pin it by digest, and name the "
    "publisher's key or keyless identity in the policy file's signatures: section; or sign "
    "your own copy of the base image. See docs/signatures.md.",
    target="dockerfile",
    owasp="A08",
)


@rule(DOC, needs="signatures")
def check(ctx: LintContext) -> Iterator[Finding]:
    yield from signature_findings(ctx, DOC, SignatureOutcome.MISSING, base=True)
