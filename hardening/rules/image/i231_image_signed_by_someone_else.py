from collections.abc import Iterator

from hardening.model import Finding, Severity, SignatureOutcome
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.signing import signature_findings

DOC = doc(
    "DH-I231",
    "image-signed-by-someone-else",
    "The scanned image is signed, but not by whom the policy requires",
    Severity.HIGH,
    ("C17",),
    "The scanned image carries a signature, but not by the key or keyless identity the policy"
    " file names.",
    "Sign with the expected key or from the expected workflow, or correct the policy file. "
    "See docs/signatures.md.",
    target="image",
    owasp="A08",
)


@rule(DOC, needs="signatures")
def check(ctx: LintContext) -> Iterator[Finding]:
    yield from signature_findings(ctx, DOC, SignatureOutcome.OTHER_SIGNER, base=False)
