"""Shared fixtures. Tests marked ``docker`` use the real engine; when none can be had they
fail with the reason, they are never skipped silently."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.support import engine

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """The ``shared/`` folder that sits beside the repository (research data and fixtures)."""
    import os

    for candidate in (
        os.environ.get("HARDENING_SHARED", ""),
        str(REPO_ROOT.parent / "shared"),
        "/work/shared",
    ):
        if candidate and Path(candidate, "CHECKLIST.md").exists():
            return Path(candidate)
    raise RuntimeError("shared/ not found beside the repository; set HARDENING_SHARED")


@pytest.fixture(scope="session")
def shared() -> Path:
    return shared_dir()


@pytest.fixture(scope="session")
def docker_client() -> docker.DockerClient:
    try:
        return engine.ensure_engine()
    except engine.EngineUnavailable as exc:
        pytest.fail(f"no Docker engine: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def busybox_image(docker_client: docker.DockerClient) -> str:
    return engine.ensure_busybox_image(docker_client)


@pytest.fixture(scope="session")
def debian_image(docker_client: docker.DockerClient) -> str:
    return engine.ensure_debian_image(docker_client)


@pytest.fixture
def unique_tag() -> Iterator[str]:
    """A throw-away image tag; the image is removed after the test."""
    tag = f"docker-hardening.test/t-{uuid.uuid4().hex[:12]}:latest"
    yield tag
    try:
        client = docker.from_env()
        client.images.remove(tag, force=True)
    except docker.errors.DockerException:
        pass
