from collections.abc import Iterator

from hardening.model import Finding, Severity, SignatureOutcome
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.signing import signature_findings

DOC = doc(
    "DH-I232",
    "image-signature-invalid",
    "The scanned image's signature does not verify",
    Severity.CRITICAL,
    ("C17",),
    "A signature is attached to the scanned image but does not verify: made for another "
    "image, altered, or with a wrong transparency-log proof.",
    "Find out why before the image is used: re-sign it from its build and compare digests. "
    "See docs/signatures.md.",
    target="image",
    owasp="A08",
)


@rule(DOC, needs="signatures")
def check(ctx: LintContext) -> Iterator[Finding]:
    yield from signature_findings(ctx, DOC, SignatureOutcome.INVALID, base=False)
