"""Images and cosign signatures pushed to a local registry over its HTTP API (no engine).

The signatures are made here with ``cryptography`` in cosign's simple-signing format: a
``sha256-<hex>.sig`` tag whose one layer is the payload, its signature in the
``dev.cosignproject.cosign/signature`` annotation. They exercise fetching and the checks of
what was fetched; the verification itself is proven on signatures real cosign made
(tests/fixtures/signatures).
"""

from __future__ import annotations

import base64
import hashlib
import json

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"


def push_blob(http: requests.Session, registry: str, name: str, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    start = http.post(f"http://{registry}/v2/{name}/blobs/uploads/", timeout=10)
    assert start.status_code == 202, start.text
    location = start.headers["Location"]
    location = location if location.startswith("http") else f"http://{registry}{location}"
    put = http.put(location, params={"digest": digest}, data=data, timeout=10,
                       headers={"Content-Type": "application/octet-stream"})  # fmt: skip
    assert put.status_code == 201, put.text
    return digest


def push_manifest(
    http: requests.Session, registry: str, name: str, reference: str, manifest: dict[str, object]
) -> str:
    body = json.dumps(manifest).encode()
    put = http.put(f"http://{registry}/v2/{name}/manifests/{reference}", data=body,
                       headers={"Content-Type": OCI_MANIFEST}, timeout=10)  # fmt: skip
    assert put.status_code == 201, put.text
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _descriptor(media_type: str, data: bytes, digest: str, **more: object) -> dict[str, object]:
    return {"mediaType": media_type, "digest": digest, "size": len(data), **more}


def push_image(http: requests.Session, registry: str, name: str, tag: str) -> str:
    """A small image (one layer, its own config) under ``name:tag``; its manifest digest."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "created": "2026-01-01T00:00:00Z",
                         "rootfs": {"type": "layers", "diff_ids": []}, "comment": f"{name}:{tag}"}).encode()  # fmt: skip
    layer = f"layer of {name}:{tag}".encode()
    manifest = {
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": _descriptor("application/vnd.oci.image.config.v1+json", config,
                              push_blob(http, registry, name, config)),
        "layers": [_descriptor("application/vnd.oci.image.layer.v1.tar+gzip", layer,
                               push_blob(http, registry, name, layer))],
    }  # fmt: skip
    return push_manifest(http, registry, name, tag, manifest)


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def sign(
    http: requests.Session,
    registry: str,
    name: str,
    digest: str,
    key: ec.EllipticCurvePrivateKey,
    signed: str = "",
) -> None:
    """Push a cosign signature of ``signed`` (default: ``digest``) to ``digest``'s .sig tag."""
    payload = json.dumps({
        "critical": {"identity": {"docker-reference": f"{registry}/{name}"},
                     "image": {"docker-manifest-digest": signed or digest},
                     "type": "cosign container image signature"},
        "optional": None,
    }).encode()  # fmt: skip
    signature = base64.b64encode(key.sign(payload, ec.ECDSA(hashes.SHA256()))).decode()
    empty = b"{}"
    manifest = {
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": _descriptor("application/vnd.oci.image.config.v1+json", empty,
                              push_blob(http, registry, name, empty)),
        "layers": [_descriptor(SIMPLE_SIGNING, payload, push_blob(http, registry, name, payload),
                               annotations={"dev.cosignproject.cosign/signature": signature})],
    }  # fmt: skip
    push_manifest(http, registry, name, digest.replace(":", "-") + ".sig", manifest)
