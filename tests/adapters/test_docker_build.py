"""The build and the single export, on the real engine with BuildKit."""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

import docker
import pytest

from hardening.adapters import docker_engine
from hardening.errors import ToolError
from hardening.request import BuildSecret, ScanRequest

pytestmark = pytest.mark.docker

SECRET_VALUE = "s3cr3t-build-value-9f2c"


def _request(ctx: Path, **kwargs: object) -> ScanRequest:
    return ScanRequest(workspace=ctx, context=ctx, dockerfile=ctx / "Dockerfile", **kwargs)  # type: ignore[arg-type]


def _multistage(ctx: Path, base: str) -> None:
    (ctx / "Dockerfile").write_text(
        f"FROM {base} AS builder\n"
        "RUN --mount=type=secret,id=token test -s /run/secrets/token "
        "&& wc -c < /run/secrets/token > /length\n"
        f"FROM {base} AS final\n"
        "COPY --from=builder /length /length\n"
        "RUN echo final > /stage\n"
        f"FROM {base} AS other\n"
        "RUN echo other > /stage\n"
    )


def test_buildkit_client_is_found() -> None:
    client = docker_engine.find_build_client()
    assert client.supports_buildkit, "a BuildKit-capable docker client is expected here"


def test_multistage_target_and_secret_never_in_image_or_log(
    tmp_path: Path, busybox_image: str, unique_tag: str, docker_client: docker.DockerClient
) -> None:
    _multistage(tmp_path, busybox_image)
    secret_file = tmp_path / "token.txt"
    secret_file.write_text(SECRET_VALUE)
    request = _request(
        tmp_path, target="final", build_secrets=(BuildSecret(id="token", src=str(secret_file)),)
    )
    outcome = docker_engine.build(request, unique_tag, docker_client)
    assert outcome.image_id.startswith("sha256:")
    assert SECRET_VALUE not in outcome.log_tail
    out = docker_client.containers.run(unique_tag, ["cat", "/stage", "/length"], remove=True)
    assert out.decode().split() == ["final", str(len(SECRET_VALUE))]

    archive = docker_engine.export_image(docker_client, unique_tag, tmp_path / "image.tar")
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            handle = tar.extractfile(member)
            if handle is not None:
                assert SECRET_VALUE.encode() not in handle.read()
    info = docker_engine.image_info(unique_tag, archive, docker_client, built=True)
    assert info.image_id == outcome.image_id
    assert info.layers and all(layer.diff_id.startswith("sha256:") for layer in info.layers)
    # The last layer is the final stage's RUN, paired with its history entry.
    assert "echo final" in info.layers[-1].created_by
    history = subprocess.run(
        ["/usr/bin/docker", "history", "--no-trunc", unique_tag], capture_output=True, text=True
    ).stdout
    assert SECRET_VALUE not in history


def test_secret_from_env_is_passed_without_reaching_the_command_line(
    tmp_path: Path,
    busybox_image: str,
    unique_tag: str,
    docker_client: docker.DockerClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _multistage(tmp_path, busybox_image)
    monkeypatch.setenv("DH_TEST_TOKEN", SECRET_VALUE)
    request = _request(
        tmp_path, target="final", build_secrets=(BuildSecret(id="token", env="DH_TEST_TOKEN"),)
    )
    seen: list[list[str]] = []
    real_run = subprocess.run

    def spy(cmd: list[str], *args: object, **kwargs: object) -> object:
        seen.append(list(cmd))
        return real_run(cmd, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(docker_engine.subprocess, "run", spy)
    docker_engine.build(request, unique_tag, docker_client)
    assert all(SECRET_VALUE not in " ".join(cmd) for cmd in seen)
    out = docker_client.containers.run(unique_tag, ["cat", "/length"], remove=True)
    assert out.decode().strip() == str(len(SECRET_VALUE))
    assert os.environ["DH_TEST_TOKEN"] == SECRET_VALUE


def test_failed_build_names_the_instruction_and_keeps_the_log_tail_as_details(
    tmp_path: Path, busybox_image: str, unique_tag: str, docker_client: docker.DockerClient
) -> None:
    (tmp_path / "Dockerfile").write_text(
        f"FROM {busybox_image} AS base\nRUN true\n\nFROM base\nRUN echo marker-xyz; exit 3\n"
    )
    with pytest.raises(ToolError) as error:
        docker_engine.build(_request(tmp_path), unique_tag, docker_client)
    assert error.value.message.startswith("docker build failed at Dockerfile:5 (RUN)")
    assert "exited with code 3" in error.value.message
    assert "\n" not in error.value.message  # one line
    assert "marker-xyz" in error.value.details


def test_export_of_a_missing_image_is_a_clear_tool_error(
    tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    with pytest.raises(ToolError) as error:
        docker_engine.export_image(
            docker_client, "docker-hardening.test/absent:none", tmp_path / "x.tar"
        )
    assert "is not in the local engine" in error.value.message
