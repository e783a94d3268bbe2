from collections.abc import Iterator

from hardening.model import Finding, Severity, SignatureOutcome
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.signing import signature_findings

DOC = doc(
    "DH-D125",
    "base-image-signed-by-someone-else",
    "A base image is signed, but not by whom the policy requires",
    Severity.HIGH,
    ("C17",),
    "The base image carries a signature, but not by the key or keyless identity the policy "
    "file names: anyone can sign an image, so a signature proves something only when it is "
    "the expected signer's.",
    "Check who publishes the image and correct the key or identity in the policy file, or use"
    " the image signed by the expected publisher. See docs/signatures.md.",
    target="dockerfile",
    owasp="A08",
)


@rule(DOC, needs="signatures")
def check(ctx: LintContext) -> Iterator[Finding]:
    yield from signature_findings(ctx, DOC, SignatureOutcome.OTHER_SIGNER, base=True)
