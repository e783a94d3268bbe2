from collections.abc import Iterator

from hardening.model import Finding, Severity, SignatureOutcome
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.signing import signature_findings

DOC = doc(
    "DH-D126",
    "base-image-signature-invalid",
    "A base image's signature does not verify",
    Severity.CRITICAL,
    ("C17",),
    "A signature is attached to the base image but does not verify: it was made for another "
    "image (a replayed signature), its payload or certificate was altered, or its "
    "transparency-log proof is wrong. That is what tampering looks like.",
    "Do not build on this image until you know why: pull it again by a digest its publisher "
    "announced, and compare. See docs/signatures.md.",
    target="dockerfile",
    owasp="A08",
)


@rule(DOC, needs="signatures")
def check(ctx: LintContext) -> Iterator[Finding]:
    yield from signature_findings(ctx, DOC, SignatureOutcome.INVALID, base=True)
