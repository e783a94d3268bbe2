"""An image archive for the scanner tests: the local Debian base, a secret in ENV and a key file.

Built once per session on the real engine and saved with ``docker save``, as the pipeline's
one export does.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.support.engine import TEST_LABEL, build_image

# Fake credentials in the shapes Trivy's secret rules know; never real ones.
FAKE_TOKEN = "ghp_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"
FAKE_KEY = """-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun
VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK
-----END RSA PRIVATE KEY-----
"""


@pytest.fixture(scope="session")
def secret_debian_archive(
    docker_client: docker.DockerClient, debian_image: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("secret-image")
    (folder / "key.pem").write_text(FAKE_KEY)
    (folder / "Dockerfile").write_text(
        f"FROM {debian_image}\nENV GITHUB_TOKEN={FAKE_TOKEN}\nCOPY key.pem /app/key.pem\n"
    )
    tag = "docker-hardening.test/secret-debian:latest"
    build_image(folder, tag, "Dockerfile", "--label", TEST_LABEL)
    archive = folder / "image.tar"
    subprocess.run(["docker", "save", "-o", str(archive), tag], check=True)
    yield archive
    with contextlib.suppress(docker.errors.NotFound):  # another test's cleanup may have run
        docker_client.images.remove(tag, force=True)
