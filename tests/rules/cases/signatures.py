"""Signature rules: signature checks made by hand (what the signatures stage would have found)
for a base image on line 1 and for the scanned image (line 0)."""

from __future__ import annotations

from dataclasses import replace

from hardening.model import SignatureCheck, SignatureOutcome
from tests.rules.cases import Case, Inputs

DIGEST = "sha256:" + "a" * 64


def checked(**changes: object) -> SignatureCheck:
    """A base image signed by the required key, with the provenance the policy asks for."""
    clean = SignatureCheck(
        image="debian:12-slim@" + DIGEST, digest=DIGEST, policy="docker.io/library/* (.hardening.yml:2)",
        requirement="signed with the key debian.pub", signature=SignatureOutcome.VERIFIED,
        detail="signed by the key debian.pub", line=1, provenance=SignatureOutcome.VERIFIED,
        provenance_detail="provenance signed by https://github.com/debian/build (issuer x)",
    )  # fmt: skip
    return replace(clean, **changes)  # type: ignore[arg-type]


def _case(scanned: bool, **bad: object) -> Case:
    line = {"line": 0} if scanned else {}
    return Case(
        Inputs(signatures=(checked(**line, **bad),)),
        Inputs(signatures=(checked(**line), checked(line=0 if not scanned else 1, **bad))),
    )


def _both(base_id: str, image_id: str, **bad: object) -> dict[str, Case]:
    return {base_id: _case(False, **bad), image_id: _case(True, **bad)}


CASES: dict[str, Case] = {
    **_both("DH-D124", "DH-I230", signature=SignatureOutcome.MISSING, detail="no signature"),
    **_both("DH-D125", "DH-I231", signature=SignatureOutcome.OTHER_SIGNER,
            detail="a signature that does not verify with debian.pub"),
    **_both("DH-D126", "DH-I232", signature=SignatureOutcome.INVALID,
            detail="signed by the key debian.pub, but the signature is for sha256:bbbb…"),
    **_both("DH-D127", "DH-I233", provenance=SignatureOutcome.MISSING,
            provenance_detail="no SLSA provenance attestation is attached"),
}  # fmt: skip
