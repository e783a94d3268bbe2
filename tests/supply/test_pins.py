"""Digest pins resolved against a real registry on 127.0.0.1, and the token flow."""

from __future__ import annotations

import json
import re
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import docker
import pytest
import requests

from hardening.model import Finding, Kind, Location, Severity
from hardening.rules import check_pins
from hardening.supply.pins import apply_pins, resolve_pins
from hardening.supply.registry import Registry, parse_reference
from hardening.targets.dockerfile import parse_dockerfile
from tests.support.engine import build_image, legacy_docker_cli
from tests.support.registry import free_port, serve_registry

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from serve_registry(tmp_path_factory.mktemp("registry"))


def _push(image: str, target: str) -> str:
    subprocess.run([legacy_docker_cli(), "tag", image, target], check=True)
    out = subprocess.run(
        [legacy_docker_cli(), "push", target], check=True, capture_output=True, text=True
    ).stdout
    subprocess.run([legacy_docker_cli(), "rmi", target], capture_output=True)
    return re.search(r"digest: (sha256:[0-9a-f]{64})", out).group(1)  # type: ignore[union-attr]


def test_references_follow_dockers_naming_rules() -> None:
    assert parse_reference("nginx").repository == "library/nginx"
    hub = parse_reference("bitnami/redis:7")
    assert (hub.registry, hub.repository, hub.tag) == ("registry-1.docker.io", "bitnami/redis", "7")
    local = parse_reference("127.0.0.1:5000/dh/app@sha256:" + "a" * 64)
    assert (local.registry, local.tag, local.scheme) == ("127.0.0.1:5000", "", "http")
    assert parse_reference("ghcr.io/org/app:1.2").registry == "ghcr.io"


def test_unpinned_from_gets_the_exact_replacement_line(registry: str, busybox_image: str) -> None:
    digest = _push(busybox_image, f"{registry}/dh/busybox:1")
    text = f"FROM --platform=linux/amd64 {registry}/dh/busybox:1 AS base\nUSER 10001\n"
    model = parse_dockerfile(text, "Dockerfile")
    (pin,) = resolve_pins(model)
    assert pin.digest == digest
    assert (
        pin.replacement == f"FROM --platform=linux/amd64 {registry}/dh/busybox:1@{digest} AS base"
    )
    finding = Finding("DH-D107", Kind.MISCONFIGURATION, Severity.LOW, "t", "not pinned",
                      location=Location(path="Dockerfile", line=1))  # fmt: skip
    (fixed,) = apply_pins([finding], [pin], "Dockerfile")
    assert fixed.fix == f"Replace line 1 with: {pin.replacement}"
    assert fixed.property("replacement") == pin.replacement


def test_stale_pin_is_reported_with_the_new_line_and_the_age(
    registry: str, busybox_image: str, tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    old = _push(busybox_image, f"{registry}/dh/app:stable")
    (tmp_path / "Dockerfile").write_text(f"FROM {busybox_image}\nRUN echo v2 > /version\n")
    newer = "docker-hardening.test/pins-newer:latest"
    build_image(tmp_path, newer)
    try:
        new = _push(newer, f"{registry}/dh/app:stable")
    finally:
        docker_client.images.remove(newer, force=True)
    assert new != old
    model = parse_dockerfile(f"FROM {registry}/dh/app:stable@{old}\n", "Dockerfile")
    (pin,) = resolve_pins(model)
    assert pin.stale and pin.current == new and pin.age_days is not None and pin.age_days >= 0
    (stale,) = check_pins(model, [pin])
    assert stale.rule_id == "DH-D123" and new in stale.fix and old not in stale.fix


def test_multi_platform_index_pins_the_index_digest(registry: str, busybox_image: str) -> None:
    manifest_digest = _push(busybox_image, f"{registry}/dh/multi:src")
    manifest = requests.get(
        f"http://{registry}/v2/dh/multi/manifests/src",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"}, timeout=5,
    )  # fmt: skip
    index = {
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": manifest.headers["Content-Type"], "digest": manifest_digest,
                       "size": len(manifest.content), "platform": {"architecture": "amd64", "os": "linux"}}],
    }  # fmt: skip
    put = requests.put(
        f"http://{registry}/v2/dh/multi/manifests/1", data=json.dumps(index),
        headers={"Content-Type": "application/vnd.oci.image.index.v1+json"}, timeout=5,
    )  # fmt: skip
    assert put.status_code == 201, put.text
    index_digest = put.headers["Docker-Content-Digest"]
    (pin,) = resolve_pins(parse_dockerfile(f"FROM {registry}/dh/multi:1\n", "Dockerfile"))
    assert pin.digest == index_digest != manifest_digest
    assert Registry().created(
        parse_reference(f"{registry}/dh/multi:1"), index_digest
    )  # platform manifest's config


def test_unreachable_registry_leaves_a_reason_not_a_failure() -> None:
    port = free_port()
    (pin,) = resolve_pins(parse_dockerfile(f"FROM 127.0.0.1:{port}/dh/app:1\n", "Dockerfile"))
    assert pin.replacement == "" and "could not be reached" in pin.note
    finding = Finding(
        "DH-D107",
        Kind.MISCONFIGURATION,
        Severity.LOW,
        "t",
        "not pinned",
        location=Location(path="Dockerfile", line=1),
    )
    (kept,) = apply_pins([finding], [pin], "Dockerfile")
    assert "digest not resolved" in kept.message


def test_bearer_token_flow() -> None:
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            seen.append(self.path)
            if self.path.startswith("/token"):
                body = b'{"token": "t0k3n"}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        def do_HEAD(self) -> None:
            seen.append(f"HEAD {self.path} {self.headers.get('Authorization', '')}")
            if self.headers.get("Authorization") != "Bearer t0k3n":
                self.send_response(401)
                realm = f"http://127.0.0.1:{self.server.server_address[1]}/token"
                self.send_header(
                    "WWW-Authenticate",
                    f'Bearer realm="{realm}",service="local",scope="repository:team/app:pull"',
                )
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Docker-Content-Digest", "sha256:" + "b" * 64)
            self.send_header("Content-Type", "application/vnd.oci.image.index.v1+json")
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        answer = Registry().resolve(
            parse_reference(f"127.0.0.1:{server.server_address[1]}/team/app:2")
        )
    finally:
        server.shutdown()
    assert answer.digest == "sha256:" + "b" * 64
    assert any(
        s.startswith("/token?")
        and "scope=repository%3Ateam%2Fapp%3Apull" in s
        and "service=local" in s
        for s in seen
    )
