"""The pinned Sigstore trust root, and who a Fulcio certificate says signed.

``hardening/data/sigstore-trusted-root.json`` is a copy of Sigstore's production trusted root
(Fulcio certificate authorities, Rekor and certificate-transparency log keys, each with the time
window in which it may be used), pinned in the repository so that a verification needs no
network and cannot be redirected to another root; ``docs/signatures.md`` says where it comes
from and how to refresh it.
"""

from __future__ import annotations

import base64
import datetime
import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import load_der_public_key

ROOT_PATH = Path(__file__).resolve().parents[1] / "data" / "sigstore-trusted-root.json"
# Fulcio's OIDC issuer extensions: the current one (a DER UTF8String) and the first (raw text).
ISSUER_V2 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
ISSUER_V1 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime.datetime
    end: datetime.datetime | None

    def contains(self, when: datetime.datetime) -> bool:
        return self.start <= when and (self.end is None or when <= self.end)


@dataclass(frozen=True, slots=True)
class Authority:
    """A Fulcio certificate authority: its chain (intermediates first, the root last)."""

    certificates: tuple[x509.Certificate, ...]
    window: Window


@dataclass(frozen=True, slots=True)
class LogKey:
    """A transparency log's key, by the log id that entries and SCTs name it with."""

    log_id: bytes
    key: PublicKeyTypes
    window: Window


@dataclass(frozen=True, slots=True)
class TrustRoot:
    path: Path
    authorities: tuple[Authority, ...]
    rekor: tuple[LogKey, ...]
    ct: tuple[LogKey, ...]

    def rekor_key(self, log_id: bytes) -> LogKey | None:
        return next((k for k in self.rekor if k.log_id == log_id), None)

    def ct_key(self, log_id: bytes) -> LogKey | None:
        return next((k for k in self.ct if k.log_id == log_id), None)


def _time(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _window(valid_for: dict[str, str]) -> Window:
    end = valid_for.get("end")
    return Window(_time(valid_for["start"]), _time(end) if end else None)


def _log_keys(entries: list[dict[str, Any]]) -> tuple[LogKey, ...]:
    return tuple(
        LogKey(
            base64.b64decode(entry["logId"]["keyId"]),
            load_der_public_key(base64.b64decode(entry["publicKey"]["rawBytes"])),
            _window(entry["publicKey"]["validFor"]),
        )
        for entry in entries
    )


@functools.cache
def load_trust_root(path: Path = ROOT_PATH) -> TrustRoot:
    document = json.loads(path.read_text())
    authorities = tuple(
        Authority(
            tuple(
                x509.load_der_x509_certificate(base64.b64decode(c["rawBytes"]))
                for c in ca["certChain"]["certificates"]
            ),
            _window(ca["validFor"]),
        )
        for ca in document.get("certificateAuthorities", [])
    )
    return TrustRoot(
        path,
        authorities,
        _log_keys(document.get("tlogs", [])),
        _log_keys(document.get("ctlogs", [])),
    )


def certificate_identity(certificate: x509.Certificate) -> tuple[str, str]:
    """(subject, OIDC issuer) of a Fulcio certificate: the subject is the first URI or e-mail
    address in its alternative names (a GitHub workflow, a person), the issuer from Fulcio's
    extension. ("", "") parts when absent."""
    subject = ""
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        found = [*names.get_values_for_type(x509.UniformResourceIdentifier),
                 *names.get_values_for_type(x509.RFC822Name)]  # fmt: skip
        subject = str(found[0]) if found else ""
    except x509.ExtensionNotFound:
        pass
    return subject, _issuer(certificate)


def _issuer(certificate: x509.Certificate) -> str:
    for oid in (ISSUER_V2, ISSUER_V1):
        try:
            value = certificate.extensions.get_extension_for_oid(oid).value
        except x509.ExtensionNotFound:
            continue
        raw = value.value if isinstance(value, x509.UnrecognizedExtension) else b""
        if oid == ISSUER_V2 and raw[:1] == b"\x0c":  # DER UTF8String: tag, length, text
            length, start = raw[1], 2
            if length & 0x80:
                size = length & 0x7F
                length, start = int.from_bytes(raw[2 : 2 + size], "big"), 2 + size
            return raw[start : start + length].decode(errors="replace")
        return raw.decode(errors="replace")
    return ""
