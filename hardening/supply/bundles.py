"""Sigstore bundles attached to an image (cosign v3 image signatures, GitHub attestations):
verified by sigstore-python against the pinned trust root, offline.

sigstore-python checks the certificate chain at the logged time, the SCT, the Rekor inclusion
proof and checkpoint, the log entry against the envelope, and the DSSE signature. What is
checked here on top: that the in-toto statement is about this image (a subject whose sha256 is
the image digest), what kind of statement it is, and who signed it.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.x509 import Certificate
from sigstore.errors import Error as SigstoreError
from sigstore.models import Bundle, TrustedRoot
from sigstore.verify import Verifier

from hardening.model import SignatureOutcome
from hardening.policy.signatures import Identity
from hardening.supply.trust import ROOT_PATH, certificate_identity

IN_TOTO = "application/vnd.in-toto+json"
COSIGN_SIGNATURE = "https://sigstore.dev/cosign/sign/v1"  # cosign v3's image signature
PROVENANCE = ("https://slsa.dev/provenance/",)  # v0.2 and v1


@dataclass(frozen=True, slots=True)
class BundleVerdict:
    kind: str  # "signature", "provenance" or "other" (another statement: not counted)
    outcome: SignatureOutcome
    detail: str


class _Signer:
    """A verification policy that accepts any certificate and remembers who it names, so a
    bundle that verifies but was signed by someone else is told apart from a broken one."""

    def __init__(self) -> None:
        self.subject = ""
        self.issuer = ""

    def verify(self, cert: Certificate) -> None:
        self.subject, self.issuer = certificate_identity(cert)


@functools.cache
def _verifier(path: Path = ROOT_PATH) -> Verifier:
    return Verifier(trusted_root=TrustedRoot.from_file(str(path)))


def statement_kind(predicate_type: str) -> str:
    if predicate_type == COSIGN_SIGNATURE:
        return "signature"
    if predicate_type.startswith(PROVENANCE):
        return "provenance"
    return "other"


def verify_bundle(
    raw: bytes, digest: str, expected: Mapping[str, Identity | None], root: Path = ROOT_PATH
) -> BundleVerdict:
    """One bundle, for the image ``digest``; ``expected`` says, by the kind of statement, who
    must have signed it (None: any valid signer)."""
    try:
        bundle = Bundle.from_json(raw)
    except (SigstoreError, ValueError) as exc:
        return BundleVerdict("other", SignatureOutcome.INVALID, f"not a Sigstore bundle ({exc})")
    signer = _Signer()
    try:
        payload_type, payload = _verifier(root).verify_dsse(bundle, signer)
    except SigstoreError as exc:
        kind = _claimed_kind(raw)
        return BundleVerdict(kind, SignatureOutcome.INVALID, f"the bundle does not verify: {exc}")
    if payload_type != IN_TOTO:
        return BundleVerdict("other", SignatureOutcome.INVALID, f"a {payload_type} payload")
    try:
        statement = json.loads(payload)
        kind = statement_kind(str(statement.get("predicateType", "")))
        subjects = [str(s["digest"].get("sha256", "")) for s in statement.get("subject", [])]
    except (ValueError, KeyError, TypeError, AttributeError):
        return BundleVerdict("other", SignatureOutcome.INVALID, "not an in-toto statement")
    who = f"{signer.subject} (issuer {signer.issuer})"
    # The statement must be about this image: a genuine attestation of another image (or of
    # any other artifact) attached to this one proves nothing about it.
    if digest.removeprefix("sha256:") not in subjects:
        about = ", ".join(f"sha256:{s[:12]}…" for s in subjects) or "nothing"
        return BundleVerdict(kind, SignatureOutcome.INVALID,
                             f"signed by {who}, but about {about}, not this image ({digest[:19]}…)")  # fmt: skip
    required = expected.get(kind)
    if required is not None and not required.matches(signer.subject, signer.issuer):
        return BundleVerdict(kind, SignatureOutcome.OTHER_SIGNER, f"signed by {who}")
    return BundleVerdict(kind, SignatureOutcome.VERIFIED, f"signed by {who}")


def _claimed_kind(raw: bytes) -> str:
    """What a bundle that does not verify says it is (to name the failure; never trusted)."""
    try:
        envelope = json.loads(raw)["dsseEnvelope"]
        statement = json.loads(base64.b64decode(envelope["payload"]))
        return statement_kind(str(statement.get("predicateType", "")))
    except (ValueError, KeyError, TypeError, binascii.Error):
        return "other"
