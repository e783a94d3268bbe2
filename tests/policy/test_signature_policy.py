"""The policy file's signatures: section, validated with the file, the line and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from hardening.errors import UsageError
from hardening.policy.config import load_config

KEYLESS = """signatures:
  - images: ghcr.io/acme/*
    keyless:
      identity-regexp: ^https://github\\.com/acme/
      issuer: https://token.actions.githubusercontent.com
    provenance:
      identity: https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main
      issuer: https://token.actions.githubusercontent.com
  - images: docker.io/library/*
    key: keys/cosign.pub
"""


def _load(tmp_path: Path, text: str) -> object:
    (tmp_path / "keys").mkdir(exist_ok=True)
    (tmp_path / "keys" / "cosign.pub").write_text("-----BEGIN PUBLIC KEY-----\n")
    (tmp_path / ".hardening.yml").write_text(text)
    return load_config(tmp_path / ".hardening.yml", required=True)


def test_keyless_with_provenance_and_key_entries(tmp_path: Path) -> None:
    first, second = _load(tmp_path, KEYLESS).signatures  # type: ignore[attr-defined]
    assert first.source == ".hardening.yml:2" and first.key is None
    assert first.keyless.matches(
        "https://github.com/acme/app/x", "https://token.actions.githubusercontent.com"
    )
    assert not first.keyless.matches(
        "https://github.com/evil/app/x", "https://token.actions.githubusercontent.com"
    )
    assert first.provenance.identity.endswith("@refs/heads/main")
    assert second.key == tmp_path / "keys" / "cosign.pub"
    assert second.requirement == "signed with the key cosign.pub"
    assert "issuer https://token.actions.githubusercontent.com" in first.requirement


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("signatures: {images: x}\n", "expected a list of entries"),
        ("signatures:\n  - key: keys/cosign.pub\n", "no images pattern"),
        ("signatures:\n  - images: x\n", "needs exactly one of key and keyless"),
        ("signatures:\n  - images: x\n    key: nope.pub\n", ":3: key: "),
        ("signatures:\n  - images: x\n    keyless: {identity: a}\n", "no issuer"),
        (
            "signatures:\n  - images: x\n    keyless: {issuer: i}\n",
            "exactly one of identity and identity-regexp",
        ),
        (
            "signatures:\n  - images: x\n    keyless: {issuer: i, identity-regexp: '('}\n",
            "not a regular expression",
        ),
        (
            "signatures:\n  - images: x\n    key: keys/cosign.pub\n    cert: y\n",
            "unknown key in a signatures entry",
        ),
    ],
)
def test_mistakes_are_named(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        _load(tmp_path, text)
