from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.signing import provenance_findings

DOC = doc(
    "DH-I233",
    "image-provenance-missing",
    "The scanned image has no provenance attestation from the required builder",
    Severity.HIGH,
    ("C17",),
    "The policy file requires a SLSA provenance attestation for the scanned image, signed by "
    "a given builder identity, and none that verifies is attached.",
    "Attest the build (GitHub's attest-build-provenance with push-to-registry, or cosign "
    "attest) or correct the builder identity in the policy file. See docs/signatures.md.",
    target="image",
    owasp="A08",
)


@rule(DOC, needs="signatures")
def check(ctx: LintContext) -> Iterator[Finding]:
    yield from provenance_findings(ctx, DOC, base=False)
