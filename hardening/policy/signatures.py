"""The ``signatures:`` section of the policy file: which images must be signed, and by whom.

    signatures:
      - images: docker.io/library/*          # glob on registry/repository (first match wins)
        key: keys/cosign.pub                 # signed with this public key (PEM), or
      - images: ghcr.io/acme/*
        keyless:                             # signed keyless (Fulcio certificate, Rekor)
          identity: https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main
          # identity-regexp: ^https://github\\.com/acme/     (instead of identity)
          issuer: https://token.actions.githubusercontent.com
        provenance:                          # optional: a SLSA provenance attestation exists,
          identity-regexp: ^https://github\\.com/acme/     # signed by this builder identity
          issuer: https://token.actions.githubusercontent.com

A key path is relative to the policy file's folder. Docker Hub images match as
``docker.io/<namespace>/<name>`` (``nginx`` is ``docker.io/library/nginx``).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

ENTRY_KEYS = ("images", "key", "keyless", "provenance")
IDENTITY_KEYS = ("identity", "identity-regexp", "issuer")
DOCKER_HUB_NAMES = ("registry-1.docker.io", "index.docker.io", "docker.io")


class _Reader(Protocol):
    path: Path

    def fail(self, node: Any, key: Any, problem: str, fix: str) -> Exception: ...

    def mapping(self, node: Any, key: Any, allowed: tuple[str, ...] = ()) -> Any: ...


@dataclass(frozen=True, slots=True)
class Identity:
    """Who must have signed keyless: the certificate's subject (an e-mail address or a URI,
    such as a GitHub workflow) exactly or by regular expression, and the OIDC issuer."""

    issuer: str
    identity: str = ""
    identity_regexp: str = ""

    def matches(self, subject: str, issuer: str) -> bool:
        if issuer != self.issuer:
            return False
        if self.identity:
            return subject == self.identity
        return re.search(self.identity_regexp, subject) is not None

    def describe(self) -> str:
        who = self.identity or f"matching /{self.identity_regexp}/"
        return f"identity {who} from issuer {self.issuer}"


@dataclass(frozen=True, slots=True)
class SignaturePolicy:
    images: str  # glob on registry/repository
    source: str  # file:line
    key: Path | None = None
    keyless: Identity | None = None
    provenance: Identity | None = None

    @property
    def requirement(self) -> str:
        if self.key is not None:
            return f"signed with the key {self.key.name}"
        assert self.keyless is not None
        return f"signed keyless by {self.keyless.describe()}"

    def covers(self, repository: str) -> bool:
        return fnmatch.fnmatchcase(repository, self.images)


def repository_name(registry: str, repository: str) -> str:
    """What a pattern is matched against: ``docker.io/library/nginx``, ``ghcr.io/org/app``."""
    host = "docker.io" if registry in DOCKER_HUB_NAMES else registry
    return f"{host}/{repository}"


def policy_for(policies: tuple[SignaturePolicy, ...], repository: str) -> SignaturePolicy | None:
    return next((p for p in policies if p.covers(repository)), None)


def _text(reader: _Reader, node: Any, key: str) -> str:
    value = node[key]
    if not isinstance(value, str) or not value.strip():
        raise reader.fail(
            node, key, f"{value!r} is not a text", f"write {key}: followed by a value"
        )
    return value.strip()


def _identity(reader: _Reader, node: Any, key: str) -> Identity:
    inner = reader.mapping(node, key, IDENTITY_KEYS)
    if "issuer" not in inner:
        raise reader.fail(node, key, "no issuer", "add issuer: (for GitHub Actions: "
                          "https://token.actions.githubusercontent.com)")  # fmt: skip
    if ("identity" in inner) == ("identity-regexp" in inner):
        raise reader.fail(node, key, "needs exactly one of identity and identity-regexp",
                          "write identity: (exact) or identity-regexp: (a regular expression)")  # fmt: skip
    exact = _text(reader, inner, "identity") if "identity" in inner else ""
    pattern = _text(reader, inner, "identity-regexp") if "identity-regexp" in inner else ""
    if pattern:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise reader.fail(inner, "identity-regexp", f"not a regular expression ({exc})",
                              "fix the expression") from None  # fmt: skip
    return Identity(issuer=_text(reader, inner, "issuer"), identity=exact, identity_regexp=pattern)


def _key(reader: _Reader, entry: Any) -> Path:
    path = Path(_text(reader, entry, "key"))
    if not path.is_absolute():
        path = reader.path.parent / path
    if not path.is_file():
        raise reader.fail(entry, "key", f"{path} does not exist",
                          "point key: at a PEM public key, relative to the policy file")  # fmt: skip
    return path


def _entry(reader: _Reader, entry: Any, source: str) -> SignaturePolicy:
    for key in entry:
        if key not in ENTRY_KEYS:
            raise reader.fail(entry, key, "unknown key in a signatures entry",
                              f"known keys: {', '.join(ENTRY_KEYS)}")  # fmt: skip
    if "images" not in entry:
        raise reader.fail(entry, next(iter(entry), "images"), "no images pattern",
                          "add images: (a glob such as docker.io/library/*)")  # fmt: skip
    if ("key" in entry) == ("keyless" in entry):
        raise reader.fail(entry, "images", "needs exactly one of key and keyless",
                          "write key: PATH.pub, or keyless: with identity and issuer")  # fmt: skip
    return SignaturePolicy(
        images=_text(reader, entry, "images"),
        source=source,
        key=_key(reader, entry) if "key" in entry else None,
        keyless=_identity(reader, entry, "keyless") if "keyless" in entry else None,
        provenance=_identity(reader, entry, "provenance") if "provenance" in entry else None,
    )


def read_signatures(reader: _Reader, document: Any, line: Any) -> tuple[SignaturePolicy, ...]:
    """The ``signatures`` list; ``line(node, index)`` gives an entry's line for messages."""
    entries = document["signatures"]
    if not isinstance(entries, list):
        raise reader.fail(document, "signatures", "expected a list of entries",
                          "write each entry as `- images: PATTERN`")  # fmt: skip
    out = []
    for index, entry in enumerate(entries):
        if not hasattr(entry, "items"):
            raise reader.fail(entries, index, "a signatures entry must be a mapping",
                              "write `- images: PATTERN` and key: or keyless:")  # fmt: skip
        out.append(_entry(reader, entry, f"{reader.path.name}:{line(entries, index)}"))
    return tuple(out)
