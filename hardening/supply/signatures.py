"""Signature checks of the base images and the scanned image, as the policy file asks.

For each image a ``signatures:`` entry covers, the digest (pinned, or resolved from the tag by
the same registry code as the digest pins), then what is attached to that digest in its
repository: the cosign ``sha256-<hex>.sig`` tag (simple-signing layers, ``cosign.py``) and the
Sigstore bundles listed by the OCI referrers API or, where the registry has none, the referrers
tag ``sha256-<hex>`` (``bundles.py``). A signature that does not verify is a result; a registry
that cannot be reached is not: it is named in ``Unreachable`` and the stage fails.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hardening.model import SignatureCheck, SignatureOutcome
from hardening.policy.signatures import SignaturePolicy, policy_for, repository_name
from hardening.supply.bundles import BundleVerdict, verify_bundle
from hardening.supply.cosign import Layer, Verdict, verify_layers
from hardening.supply.registry import Answer, Reference, Registry, parse_reference
from hardening.supply.trust import ROOT_PATH, load_trust_root
from hardening.targets.dockerfile import DockerfileModel

BUNDLE_TYPE = "application/vnd.dev.sigstore.bundle"  # + ".v0.3+json" and other versions
MAX_ATTACHMENTS = 20  # per image: enough for any real image, bounded against a hostile index
_RANK = (SignatureOutcome.INVALID, SignatureOutcome.OTHER_SIGNER, SignatureOutcome.MISSING)


class Unreachable(Exception):
    """A registry that could not be asked: the check is incomplete, not failed."""


@dataclass(frozen=True, slots=True)
class Target:
    image: str  # the reference as written
    line: int = 0  # its FROM line; 0 for the scanned image


@dataclass(frozen=True, slots=True)
class Outcome:
    checks: tuple[SignatureCheck, ...]
    unreachable: tuple[str, ...]  # why an image could not be checked
    uncovered: tuple[str, ...]  # images no policy entry covers


def base_images(model: DockerfileModel) -> list[Target]:
    """Each FROM that names an image (not scratch, not an earlier stage, no unset variable)."""
    return [
        Target(stage.base_resolved, stage.from_line)
        for stage in model.stages
        if stage.parent is None and not stage.is_scratch and "$" not in stage.base_resolved
    ]


def check_images(
    targets: Iterable[Target],
    policies: tuple[SignaturePolicy, ...],
    registry: Registry | None = None,
    root: Path = ROOT_PATH,
) -> Outcome:
    registry = registry or Registry()
    checks, unreachable, uncovered = [], [], []
    for target in targets:
        ref = parse_reference(target.image)
        policy = policy_for(policies, repository_name(ref.registry, ref.repository))
        if policy is None:
            uncovered.append(target.image)
            continue
        try:
            checks.append(check_image(target, ref, policy, registry, root))
        except Unreachable as exc:
            unreachable.append(f"{target.image}: {exc}")
    return Outcome(tuple(checks), tuple(unreachable), tuple(uncovered))


def check_image(
    target: Target, ref: Reference, policy: SignaturePolicy, registry: Registry, root: Path
) -> SignatureCheck:
    where = f"{policy.images} ({policy.source})"
    digest = ref.digest or _resolve(registry, ref)
    if not digest:
        return SignatureCheck(target.image, "", where, policy.requirement, SignatureOutcome.MISSING,
                              f"{ref.repository}:{ref.tag} is not in {ref.registry}",
                              target.line)  # fmt: skip
    layers = list(sig_layers(registry, ref, digest))
    legacy = verify_layers(layers, digest, policy, load_trust_root(root))
    identities = {"signature": policy.keyless, "provenance": policy.provenance}
    bundles = [
        verify_bundle(raw, digest, identities, root)
        for raw in attached_bundles(registry, ref, digest)
    ]
    signature = _signature(legacy, [b for b in bundles if b.kind == "signature"], policy)
    provenance = _provenance([b for b in bundles if b.kind == "provenance"], policy)
    return SignatureCheck(
        image=target.image, digest=digest, policy=where, requirement=policy.requirement,
        signature=signature.outcome, detail=signature.detail, line=target.line,
        provenance=provenance.outcome, provenance_detail=provenance.detail,
    )  # fmt: skip


def _signature(
    legacy: Verdict, bundles: Sequence[BundleVerdict], policy: SignaturePolicy
) -> Verdict:
    found = [legacy] if legacy.outcome is not SignatureOutcome.MISSING else []
    for bundle in bundles:
        if policy.key is not None and bundle.outcome is not SignatureOutcome.INVALID:
            # A Sigstore bundle is signed keyless here; one signed with a key is not verified.
            found.append(Verdict(SignatureOutcome.OTHER_SIGNER,
                                 f"a Sigstore bundle, not signed with {policy.key.name}"))  # fmt: skip
        else:
            found.append(Verdict(bundle.outcome, f"Sigstore bundle {bundle.detail}"))
    return _best(found, "no signature: neither a cosign .sig tag nor a signature bundle")


def _provenance(bundles: Sequence[BundleVerdict], policy: SignaturePolicy) -> Verdict:
    if policy.provenance is None:
        return Verdict(SignatureOutcome.NOT_REQUIRED, "")
    found = [Verdict(b.outcome, f"provenance {b.detail}") for b in bundles]
    return _best(found, "no SLSA provenance attestation is attached")


def _best(found: list[Verdict], none: str) -> Verdict:
    """Verified when one verifies as required; else the worst of the others."""
    verified = [v for v in found if v.outcome is SignatureOutcome.VERIFIED]
    if verified:
        return verified[0]
    if not found:
        return Verdict(SignatureOutcome.MISSING, none)
    return sorted(found, key=lambda v: _RANK.index(v.outcome))[0]


def _resolve(registry: Registry, ref: Reference) -> str:
    answer = registry.resolve(ref)
    if answer.status == 404:
        return ""
    return _ok(answer).digest


def _ok(answer: Answer) -> Answer:
    """The answer, or Unreachable when the registry could not be asked or refused."""
    if answer.error and answer.status != 404:
        raise Unreachable(answer.error)
    return answer


def _json(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body or b"{}")
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def sig_layers(registry: Registry, ref: Reference, digest: str) -> Iterator[Layer]:
    """The layers of the cosign signature tag ``sha256-<hex>.sig``; none when it is absent."""
    tag = digest.replace(":", "-") + ".sig"
    answer = _ok(registry.manifest(ref, tag, "GET"))
    for layer in _json(answer.body).get("layers", [])[:MAX_ATTACHMENTS] if not answer.error else []:
        if not isinstance(layer, dict) or not str(layer.get("digest", "")).startswith("sha256:"):
            continue
        blob = _ok(registry.blob(ref, layer["digest"]))
        annotations = layer.get("annotations") or {}
        if not blob.error and isinstance(annotations, dict):
            yield Layer(str(layer.get("mediaType", "")), blob.body,
                        {str(k): str(v) for k, v in annotations.items()})  # fmt: skip


def attached_bundles(registry: Registry, ref: Reference, digest: str) -> Iterator[bytes]:
    """The Sigstore bundles that refer to ``digest``: from the referrers API, or the
    referrers tag ``sha256-<hex>`` where the registry has no such API."""
    index = registry.referrers(ref, digest)
    if index.error and (index.status in (0, 401, 403) or index.status >= 500):
        raise Unreachable(index.error)
    if index.error:  # 404, or another refusal of an API the registry does not have
        index = _ok(registry.manifest(ref, digest.replace(":", "-"), "GET"))
    manifests = _json(index.body).get("manifests", []) if not index.error else []
    for entry in manifests[:MAX_ATTACHMENTS]:
        if not isinstance(entry, dict) or not str(entry.get("artifactType", "")).startswith(
            BUNDLE_TYPE
        ):
            continue
        manifest = _ok(registry.manifest(ref, str(entry.get("digest", "")), "GET"))
        layers = _json(manifest.body).get("layers", []) if not manifest.error else []
        for layer in layers[:1]:  # one bundle per referring manifest
            blob = _ok(registry.blob(ref, str(layer.get("digest", ""))))
            if not blob.error:
                yield blob.body
