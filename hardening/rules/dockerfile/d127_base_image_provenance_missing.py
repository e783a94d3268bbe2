from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.signing import provenance_findings

DOC = doc(
    "DH-D127",
    "base-image-provenance-missing",
    "A base image has no provenance attestation from the required builder",
    Severity.HIGH,
    ("C17",),
    "The policy file requires a SLSA provenance attestation for this base image, signed by a "
    "given builder identity, and none that verifies is attached: nothing shows how and where "
    "the image was built.",
    "Use base images published with provenance (GitHub's attest-build-provenance, cosign "
    "attest), or correct the builder identity in the policy file. See docs/signatures.md.",
    target="dockerfile",
    owasp="A08",
)


@rule(DOC, needs="signatures")
def check(ctx: LintContext) -> Iterator[Finding]:
    yield from provenance_findings(ctx, DOC, base=True)
