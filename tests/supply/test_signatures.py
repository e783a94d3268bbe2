"""Signature verification on real signatures made by real tools (tests/fixtures/signatures,
see its SOURCES.md): cosign key-based and keyless simple-signing signatures from
containers/image, and a GitHub provenance attestation with its failing twins from
sigstore-conformance. Offline, against the pinned Sigstore trust root."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from pathlib import Path

import pytest

from hardening.model import SignatureOutcome
from hardening.policy.signatures import Identity, SignaturePolicy, repository_name
from hardening.supply.bundles import verify_bundle
from hardening.supply.cosign import Layer, Rejected, check_payload, verify_layer, verify_layers
from hardening.supply.trust import load_trust_root

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "signatures"
IMAGE = FIXTURES / "containers-image"
CONFORMANCE = FIXTURES / "conformance"
GITHUB = "https://token.actions.githubusercontent.com"
BEACON = (
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
    ".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
)
ATTESTED = "sha256:a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"
KEYLESS_SIGNER = Identity("https://github.com/login/oauth", identity="mitr@redhat.com")


def layer(name: str) -> Layer:
    """containers/image's storage form of one cosign signature: the layer of a .sig manifest."""
    blob = (IMAGE / name).read_bytes()
    assert blob.startswith(b"\x00sigstore-json\n")
    document = json.loads(blob.split(b"\n", 1)[1])
    return Layer(
        document["mimeType"], base64.b64decode(document["payload"]), document["annotations"]
    )


def digest(name: str) -> str:
    return "sha256:" + hashlib.sha256((IMAGE / name).read_bytes()).hexdigest()


def key_policy(key: str = "cosign.pub") -> SignaturePolicy:
    return SignaturePolicy("*", "test", key=IMAGE / key)


def keyless_policy(who: Identity = KEYLESS_SIGNER) -> SignaturePolicy:
    return SignaturePolicy("*", "test", keyless=who)


VALID = digest("valid.manifest.json")
KEYLESS = digest("fulcio-rekor-valid.manifest.json")
TRUST = load_trust_root()


def test_key_based_signature_verifies_with_its_key() -> None:
    verdict = verify_layers([layer("valid.signature-1")], VALID, key_policy(), TRUST)
    assert verdict.outcome is SignatureOutcome.VERIFIED
    assert verdict.detail == "signed by the key cosign.pub"
    second = verify_layers([layer("valid-2.signature-2")], VALID, key_policy(), TRUST)
    assert second.outcome is SignatureOutcome.VERIFIED


def test_a_signature_by_another_key_is_someone_elses() -> None:
    wrong_key = verify_layers([layer("valid.signature-1")], VALID, key_policy("cosign2.pub"), TRUST)
    assert wrong_key.outcome is SignatureOutcome.OTHER_SIGNER
    unknown = verify_layers([layer("unknown-cosign-key.signature")], VALID, key_policy(), TRUST)
    assert unknown.outcome is SignatureOutcome.OTHER_SIGNER
    assert "does not verify with cosign.pub" in unknown.detail


def test_mixed_signatures_verify_when_one_is_by_the_key() -> None:
    layers = [layer("unknown-cosign-key.signature"), layer("valid.signature-1")]
    assert verify_layers(layers, VALID, key_policy(), TRUST).outcome is SignatureOutcome.VERIFIED


def test_a_modified_manifest_is_not_what_was_signed() -> None:
    verdict = verify_layers(
        [layer("valid.signature-1")], digest("modified.manifest.json"), key_policy(), TRUST
    )
    assert verdict.outcome is SignatureOutcome.INVALID
    assert "the signature is for sha256:634a8f35b5f1" in verdict.detail


def test_a_tampered_payload_or_signature_does_not_verify() -> None:
    good = layer("valid.signature-1")
    payload = good.payload.replace(b"cosign-signed-single-sample", b"cosign-signed-single-sampl3")
    tampered = Layer(good.media_type, payload, good.annotations)
    assert (
        verify_layer(tampered, VALID, key_policy(), TRUST).outcome is SignatureOutcome.OTHER_SIGNER
    )
    broken = Layer(good.media_type, good.payload, {**good.annotations,
                   "dev.cosignproject.cosign/signature": "not base64!"})  # fmt: skip
    assert verify_layer(broken, VALID, key_policy(), TRUST).outcome is SignatureOutcome.INVALID


def test_other_attachments_and_an_empty_tag_are_no_signature() -> None:
    verdict = verify_layers([layer("other-attachment.signature-1")], VALID, key_policy(), TRUST)
    assert verdict.outcome is SignatureOutcome.MISSING
    assert verify_layers([], VALID, key_policy(), TRUST).outcome is SignatureOutcome.MISSING


def test_the_payload_must_be_an_image_signature_of_this_digest() -> None:
    check_payload(layer("valid.signature-1").payload, VALID)
    with pytest.raises(Rejected, match="not an image signature"):
        check_payload(b'{"critical": {"image": {"docker-manifest-digest": "x"}, "type": "t"}}', "x")
    with pytest.raises(Rejected, match="not a cosign simple-signing"):
        check_payload(b"[]", VALID)


def test_keyless_signature_verifies_against_the_pinned_root() -> None:
    verdict = verify_layers(
        [layer("fulcio-rekor-valid.signature-1")], KEYLESS, keyless_policy(), TRUST
    )
    assert verdict.outcome is SignatureOutcome.VERIFIED, verdict.detail
    assert verdict.detail == "signed by mitr@redhat.com (issuer https://github.com/login/oauth)"
    by_pattern = keyless_policy(
        Identity("https://github.com/login/oauth", identity_regexp=r"@redhat\.com$")
    )
    assert (
        verify_layer(layer("fulcio-rekor-valid.signature-1"), KEYLESS, by_pattern, TRUST).outcome
        is SignatureOutcome.VERIFIED
    )


@pytest.mark.parametrize(
    "who",
    [
        Identity("https://github.com/login/oauth", identity="someone@example.com"),
        Identity("https://accounts.google.com", identity="mitr@redhat.com"),
        Identity("https://github.com/login/oauth", identity_regexp=r"@example\.com$"),
    ],
)
def test_keyless_signature_by_another_identity_or_issuer(who: Identity) -> None:
    verdict = verify_layer(
        layer("fulcio-rekor-valid.signature-1"), KEYLESS, keyless_policy(who), TRUST
    )
    assert verdict.outcome is SignatureOutcome.OTHER_SIGNER
    assert "mitr@redhat.com" in verdict.detail


def test_a_key_based_signature_does_not_satisfy_a_keyless_policy() -> None:
    verdict = verify_layer(layer("key-rekor-valid.signature-1"), KEYLESS, keyless_policy(), TRUST)
    assert verdict.outcome is SignatureOutcome.OTHER_SIGNER
    assert verify_layer(layer("key-rekor-valid.signature-1"), KEYLESS, key_policy("cosign2.pub"),
                        TRUST).outcome is SignatureOutcome.VERIFIED  # fmt: skip


def _keyless_with(change: str) -> Layer:
    """The real keyless signature with one part changed, as an attacker could."""
    good = layer("fulcio-rekor-valid.signature-1")
    annotations = dict(good.annotations)
    entry = json.loads(annotations["dev.sigstore.cosign/bundle"])
    if change == "timestamp":
        entry["Payload"]["integratedTime"] += 1
    elif change == "log":
        entry["Payload"]["logID"] = "00" * 32
    elif change == "entry":  # another genuine-looking entry: the payload hash differs
        body = json.loads(base64.b64decode(entry["Payload"]["body"]))
        body["spec"]["data"]["hash"]["value"] = "0" * 64
        entry["Payload"]["body"] = base64.b64encode(json.dumps(body).encode()).decode()
    elif change == "other-entry":  # a genuine timestamp of another genuine entry
        other = layer("key-rekor-valid.signature-1").annotations["dev.sigstore.cosign/bundle"]
        entry = json.loads(other)
    elif change == "certificate":
        annotations["dev.sigstore.cosign/certificate"] = annotations["dev.sigstore.cosign/chain"]
    annotations["dev.sigstore.cosign/bundle"] = json.dumps(entry)
    return Layer(good.media_type, good.payload, annotations)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("timestamp", "signed entry timestamp does not verify"),
        ("log", "is not in the trust root"),
        ("entry", "signed entry timestamp does not verify"),
        ("other-entry", "the Rekor entry is for another payload"),
        ("certificate", "another certificate"),
    ],
)
def test_a_tampered_keyless_signature_is_invalid(change: str, reason: str) -> None:
    verdict = verify_layer(_keyless_with(change), KEYLESS, keyless_policy(), TRUST)
    assert verdict.outcome is SignatureOutcome.INVALID
    assert reason in verdict.detail


def test_a_keyless_signature_needs_a_root_that_trusts_its_ca_and_log(tmp_path: Path) -> None:
    document = json.loads(TRUST.path.read_text())
    no_fulcio = copy.deepcopy(document)
    no_fulcio["certificateAuthorities"] = []
    (tmp_path / "no-ca.json").write_text(json.dumps(no_fulcio))
    verdict = verify_layer(layer("fulcio-rekor-valid.signature-1"), KEYLESS, keyless_policy(),
                           load_trust_root(tmp_path / "no-ca.json"))  # fmt: skip
    assert verdict.outcome is SignatureOutcome.INVALID
    assert "does not chain to a trusted Fulcio CA" in verdict.detail
    no_ct = copy.deepcopy(document)
    no_ct["ctlogs"] = []
    (tmp_path / "no-ct.json").write_text(json.dumps(no_ct))
    verdict = verify_layer(layer("fulcio-rekor-valid.signature-1"), KEYLESS, keyless_policy(),
                           load_trust_root(tmp_path / "no-ct.json"))  # fmt: skip
    assert verdict.outcome is SignatureOutcome.INVALID and "SCT" in verdict.detail


def test_the_pinned_root_is_sigstores_production_root() -> None:
    text = TRUST.path.read_bytes()
    assert hashlib.sha256(text).hexdigest() == (
        "6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66"
    )
    assert "sigstore-trusted-root.json" in (FIXTURES / "SOURCES.md").read_text()


PROVENANCE = {"provenance": Identity(GITHUB, identity=BEACON)}


def test_github_provenance_attestation_verifies_offline() -> None:
    raw = (CONFORMANCE / "happy-path-intoto-in-dsse-v3.sigstore.json").read_bytes()
    verdict = verify_bundle(raw, ATTESTED, PROVENANCE)
    assert (verdict.kind, verdict.outcome) == ("provenance", SignatureOutcome.VERIFIED), (
        verdict.detail
    )
    assert BEACON in verdict.detail


def test_an_attestation_of_another_artifact_is_invalid_here() -> None:
    raw = (CONFORMANCE / "happy-path-intoto-in-dsse-v3.sigstore.json").read_bytes()
    verdict = verify_bundle(raw, "sha256:" + "0" * 64, PROVENANCE)
    assert verdict.outcome is SignatureOutcome.INVALID
    assert "about sha256:a0cfc71271d6…, not this image" in verdict.detail


def test_an_attestation_by_another_builder_is_someone_elses() -> None:
    raw = (CONFORMANCE / "happy-path-intoto-in-dsse-v3.sigstore.json").read_bytes()
    other = {"provenance": Identity(GITHUB, identity_regexp="^https://github.com/acme/")}
    assert verify_bundle(raw, ATTESTED, other).outcome is SignatureOutcome.OTHER_SIGNER


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("dsse-invalid-sig_fail", "invalid signature"),
        ("dsse-mismatch-envelope_fail", "does not match"),
        ("dsse-mismatch-sig_fail", "do not match"),
    ],
)
def test_the_failing_twins_do_not_verify(name: str, reason: str) -> None:
    verdict = verify_bundle(
        (CONFORMANCE / f"{name}.sigstore.json").read_bytes(), ATTESTED, PROVENANCE
    )
    assert verdict.outcome is SignatureOutcome.INVALID and reason in verdict.detail


def test_not_a_bundle() -> None:
    assert verify_bundle(b"{}", ATTESTED, PROVENANCE).outcome is SignatureOutcome.INVALID


def test_patterns_match_the_repository_as_docker_names_it() -> None:
    policy = SignaturePolicy("docker.io/library/*", "test", key=IMAGE / "cosign.pub")
    assert policy.covers(repository_name("registry-1.docker.io", "library/nginx"))
    assert not policy.covers(repository_name("registry-1.docker.io", "bitnami/nginx"))
    assert not policy.covers(repository_name("ghcr.io", "library/nginx"))
