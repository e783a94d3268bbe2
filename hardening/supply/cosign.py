"""Cosign "simple signing" signatures: checked against a public key, or keyless against the
pinned Sigstore trust root. No network: the caller fetched the layers.

Cosign pushes an image's signatures to the tag ``sha256-<digest>.sig``: each layer of that
manifest is one payload (``{"critical": {"image": {"docker-manifest-digest": ...}, "type":
"cosign container image signature", ...}}``) with its signature in the
``dev.cosignproject.cosign/signature`` annotation and, when signed keyless, the Fulcio
certificate, its chain and Rekor's signed entry timestamp in three more annotations. The
cryptography is ``cryptography``'s (signatures, X.509 path building) and ``rfc8785``'s
(canonical JSON); what is written here is which bytes are checked against what, each check
saying what it guards against.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import datetime
import hashlib
import json
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import rfc8785
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509 import UnsupportedGeneralNameType
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from hardening.model import SignatureOutcome
from hardening.policy.signatures import SignaturePolicy
from hardening.supply.trust import TrustRoot, certificate_identity

SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE = "dev.cosignproject.cosign/signature"
CERTIFICATE = "dev.sigstore.cosign/certificate"
CHAIN = "dev.sigstore.cosign/chain"
BUNDLE = "dev.sigstore.cosign/bundle"
PAYLOAD_TYPE = "cosign container image signature"


@dataclass(frozen=True, slots=True)
class Layer:
    """One layer of a ``.sig`` manifest: the payload and its annotations."""

    media_type: str
    payload: bytes
    annotations: dict[str, str]


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: SignatureOutcome
    detail: str


class Rejected(Exception):
    """The signature does not verify (the message says which check failed)."""


# Worst first: what an image's signatures amount to when none verifies as required.
_RANK = (SignatureOutcome.INVALID, SignatureOutcome.OTHER_SIGNER, SignatureOutcome.MISSING)


def verify_layers(
    layers: Iterable[Layer], digest: str, policy: SignaturePolicy, trust: TrustRoot
) -> Verdict:
    """Verified when any signature satisfies ``policy`` (as cosign does); otherwise the worst
    of what the others were (an invalid one is named before one by someone else)."""
    seen: list[Verdict] = []
    for layer in layers:
        if layer.media_type != SIMPLE_SIGNING or SIGNATURE not in layer.annotations:
            continue  # another attachment, not a signature
        verdict = verify_layer(layer, digest, policy, trust)
        if verdict.outcome is SignatureOutcome.VERIFIED:
            return verdict
        seen.append(verdict)
    if not seen:
        return Verdict(SignatureOutcome.MISSING, "no cosign signature in the .sig tag")
    seen.sort(key=lambda v: _RANK.index(v.outcome))
    more = (
        f" (and {len(seen) - 1} more signature(s) that do not satisfy it)" if len(seen) > 1 else ""
    )
    return Verdict(seen[0].outcome, seen[0].detail + more)


def verify_layer(layer: Layer, digest: str, policy: SignaturePolicy, trust: TrustRoot) -> Verdict:
    try:
        signature = base64.b64decode(layer.annotations[SIGNATURE], validate=True)
    except (binascii.Error, ValueError):
        return Verdict(SignatureOutcome.INVALID, "the signature annotation is not base64")
    if policy.key is not None:
        key = load_public_key(policy.key.read_bytes())
        if not signed_by(key, signature, layer.payload):
            # Without the other key a corrupted signature and another signer look the same.
            return Verdict(SignatureOutcome.OTHER_SIGNER,
                           f"a signature that does not verify with {policy.key.name}")  # fmt: skip
        signer = f"the key {policy.key.name}"
    elif CERTIFICATE not in layer.annotations:
        return Verdict(SignatureOutcome.OTHER_SIGNER, "signed with a key, not keyless")
    else:
        try:
            subject, issuer = verify_keyless(layer, signature, trust)
        except Rejected as exc:
            return Verdict(SignatureOutcome.INVALID, f"keyless signature rejected: {exc}")
        signer = f"{subject} (issuer {issuer})"
        assert policy.keyless is not None
        if not policy.keyless.matches(subject, issuer):
            return Verdict(SignatureOutcome.OTHER_SIGNER, f"signed keyless by {signer}")
    try:
        check_payload(layer.payload, digest)
    except Rejected as exc:
        return Verdict(SignatureOutcome.INVALID, f"signed by {signer}, but {exc}")
    return Verdict(SignatureOutcome.VERIFIED, f"signed by {signer}")


def check_payload(payload: bytes, digest: str) -> None:
    """The signed payload must name this image. Guards against replay: a genuine signature of
    another image (an older, vulnerable build) copied into this image's ``.sig`` tag."""
    try:
        document = json.loads(payload)
        critical = document["critical"]
        signed_digest = critical["image"]["docker-manifest-digest"]
        kind = critical["type"]
    except (ValueError, KeyError, TypeError):
        raise Rejected("the payload is not a cosign simple-signing document") from None
    if kind != PAYLOAD_TYPE:  # a signature made for another purpose, not of an image
        raise Rejected(f"the payload is a {kind!r}, not an image signature")
    if signed_digest != digest:
        raise Rejected(
            f"the signature is for {str(signed_digest)[:19]}…, not this image ({digest[:19]}…)"
        )


def load_public_key(pem: bytes) -> PublicKeyTypes:
    return serialization.load_pem_public_key(pem)


def signed_by(key: PublicKeyTypes, signature: bytes, payload: bytes) -> bool:
    """Cosign's algorithms: ECDSA with SHA-256, RSA PKCS#1 v1.5 with SHA-256, Ed25519."""
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, payload, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, payload, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, payload)
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, ValueError):
        return False
    return True


def verify_keyless(layer: Layer, signature: bytes, trust: TrustRoot) -> tuple[str, str]:
    """The (subject, issuer) of a keyless signature that verifies; Rejected otherwise."""
    try:
        certificate = x509.load_pem_x509_certificate(layer.annotations[CERTIFICATE].encode())
        entry = json.loads(layer.annotations[BUNDLE])
    except KeyError as exc:
        raise Rejected(f"no {exc.args[0]} annotation (neither key-based nor keyless)") from None
    except ValueError as exc:
        raise Rejected(f"unreadable certificate or Rekor bundle ({exc})") from None
    signed_at = verify_entry(entry, trust)
    check_entry_body(entry, layer.payload, signature, certificate)
    # The short-lived certificate must have been valid when Rekor logged the signature: the
    # log's time, not the clock, proves it was signed before the certificate expired.
    if not certificate.not_valid_before_utc <= signed_at <= certificate.not_valid_after_utc:
        raise Rejected(
            f"signed at {signed_at:%Y-%m-%d %H:%M:%S}Z, outside the certificate's validity"
        )
    issuer = verify_chain(certificate, signed_at, trust)
    verify_sct(certificate, issuer, trust)
    usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    if ExtendedKeyUsageOID.CODE_SIGNING not in usage:  # a certificate issued for another use
        raise Rejected("the certificate is not for code signing")
    if not signed_by(certificate.public_key(), signature, layer.payload):
        raise Rejected("the signature does not verify with the certificate's key")
    return certificate_identity(certificate)


def verify_entry(entry: dict[str, Any], trust: TrustRoot) -> datetime.datetime:
    """Rekor's signed entry timestamp over the entry; the time it was logged. Guards against a
    made-up log entry: only a log in the trust root, within its key's window, can sign one."""
    try:
        body = entry["Payload"]
        signed = {k: body[k] for k in ("body", "integratedTime", "logID", "logIndex")}
        stamp = base64.b64decode(entry["SignedEntryTimestamp"])
        log = trust.rekor_key(bytes.fromhex(str(body["logID"])))
        logged = datetime.datetime.fromtimestamp(int(body["integratedTime"]), datetime.UTC)
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise Rejected("the Rekor bundle is incomplete") from None
    if log is None:
        raise Rejected(f"the Rekor log {str(body['logID'])[:16]}… is not in the trust root")
    if not log.window.contains(logged):
        raise Rejected("the Rekor log key was not valid when the entry was logged")
    if not signed_by(log.key, stamp, rfc8785.dumps(signed)):
        raise Rejected("Rekor's signed entry timestamp does not verify")
    return logged


def check_entry_body(
    entry: dict[str, Any], payload: bytes, signature: bytes, certificate: x509.Certificate
) -> None:
    """The logged entry must be this signature: the payload's hash, the signature and the
    certificate. Guards against a genuine timestamp of another entry pasted beside it."""
    try:
        spec = json.loads(base64.b64decode(entry["Payload"]["body"]))["spec"]
        logged_hash = spec["data"]["hash"]
        logged_signature = base64.b64decode(spec["signature"]["content"])
        logged_key = base64.b64decode(spec["signature"]["publicKey"]["content"])
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise Rejected("the Rekor entry is not a hashedrekord") from None
    wanted = hashlib.sha256(payload).hexdigest()
    if logged_hash.get("algorithm") != "sha256" or logged_hash.get("value") != wanted:
        raise Rejected("the Rekor entry is for another payload")
    if logged_signature != signature:
        raise Rejected("the Rekor entry holds another signature")
    try:
        logged_certificate = x509.load_pem_x509_certificate(logged_key)
    except ValueError:
        raise Rejected("the Rekor entry holds a key, not a certificate") from None
    if logged_certificate != certificate:
        raise Rejected("the Rekor entry holds another certificate")


def verify_chain(
    certificate: x509.Certificate, when: datetime.datetime, trust: TrustRoot
) -> x509.Certificate:
    """The certificate chains to a Fulcio CA of the trust root valid at ``when`` (the chain in
    the annotations is not trusted: it is only what the signer said). Its issuer."""
    # Fulcio certificates are for code signing, not client auth: allow that extended usage
    # (checked above) and keep every other check of the web PKI profile.
    ca = ExtensionPolicy.webpki_defaults_ca().may_be_present(
        x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, None
    )
    ee = ExtensionPolicy.webpki_defaults_ee().may_be_present(
        x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, None
    )
    reasons = []
    for authority in trust.authorities:
        if not authority.window.contains(when):
            continue
        *intermediates, root = authority.certificates
        verifier = (
            PolicyBuilder().store(Store([root])).time(when)
            .extension_policies(ca_policy=ca, ee_policy=ee).build_client_verifier()
        )  # fmt: skip
        try:
            return verifier.verify(certificate, intermediates).chain[1]
        except (VerificationError, UnsupportedGeneralNameType, ValueError) as exc:
            reasons.append(str(exc))
    raise Rejected("the certificate does not chain to a trusted Fulcio CA"
                   + (f" ({reasons[0]})" if reasons else " valid at that time"))  # fmt: skip


def verify_sct(certificate: x509.Certificate, issuer: x509.Certificate, trust: TrustRoot) -> None:
    """The certificate's embedded SCT (RFC 6962, 3.2) is signed by a CT log of the trust root:
    Fulcio published the certificate, so a certificate issued in secret is refused."""
    try:
        scts = certificate.extensions.get_extension_for_class(
            x509.PrecertificateSignedCertificateTimestamps
        ).value
    except x509.ExtensionNotFound:
        raise Rejected("the certificate carries no SCT") from None
    issuer_key = issuer.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    tbs = certificate.tbs_precertificate_bytes
    for sct in scts:
        log = trust.ct_key(sct.log_id)
        if log is None:
            continue
        when = sct.timestamp
        millis = calendar.timegm(when.utctimetuple()) * 1000 + when.microsecond // 1000
        signed = (
            struct.pack(">BBQH", 0, 0, millis, 1)  # v1, certificate_timestamp, time, precert
            + hashlib.sha256(issuer_key).digest()
            + len(tbs).to_bytes(3, "big") + tbs
            + len(sct.extension_bytes).to_bytes(2, "big") + sct.extension_bytes
        )  # fmt: skip
        if signed_by(log.key, sct.signature, signed):
            return
    raise Rejected("no SCT from a trusted CT log verifies")
