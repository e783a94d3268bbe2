from collections.abc import Iterator

from hardening.model import Finding, Severity, SignatureOutcome
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.signing import signature_findings

DOC = doc(
    "DH-I230",
    "image-unsigned",
    "The scanned image is not signed as the policy requires",
    Severity.HIGH,
    ("C17",),
    "The policy file requires the scanned image to be signed, and no signature is attached to"
    " its digest in its registry: whoever pulls it cannot tell it from an image pushed by "
    "someone else.",
    "Sign the image when it is published (cosign sign, keyless from CI) and name that key or "
    "identity in the policy file. See docs/signatures.md.",
    target="image",
    owasp="A08",
)


@rule(DOC, needs="signatures")
def check(ctx: LintContext) -> Iterator[Finding]:
    yield from signature_findings(ctx, DOC, SignatureOutcome.MISSING, base=False)
