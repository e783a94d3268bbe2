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


@pytest.fixture(scope="session")
def trivy_db_repository(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The tests' Trivy database, served by a real registry on 127.0.0.1 for the whole session,
    and named in TRIVY_DB_REPOSITORY (as a user would set a mirror) for every scan the tests
    run; the real trivy from the test dependencies is put first on PATH."""
    import os
    import sys

    from tests.support import trivy_db
    from tests.support.registry import serve_registry

    cache = tmp_path_factory.mktemp("trivy-db-source")
    trivy_db.write_db(cache)
    serving = serve_registry(tmp_path_factory.mktemp("trivy-db-registry"))
    address = next(serving)
    trivy_db.push_db(address, "aquasec/trivy-db", "2", cache / "db")
    repository = f"{address}/aquasec/trivy-db:2"
    saved = {name: os.environ.get(name) for name in ("TRIVY_DB_REPOSITORY", "PATH")}
    os.environ["TRIVY_DB_REPOSITORY"] = repository
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    yield repository
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    serving.close()
