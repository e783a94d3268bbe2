"""SBOM of a real image, by a real tool, validated with CycloneDX's own library."""

from __future__ import annotations

import json
from pathlib import Path

import docker
import pytest

from hardening.adapters import docker_engine
from hardening.supply.sbom import count_packages, generate_sbom

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def debian_archive(
    tmp_path_factory: pytest.TempPathFactory, debian_image: str, docker_client: docker.DockerClient
) -> Path:
    folder = tmp_path_factory.mktemp("sbom")
    return docker_engine.export_image(docker_client, debian_image, folder / "debian.tar")


def test_cyclonedx_sbom_is_valid_and_counts_the_dpkg_packages(
    debian_archive: Path, tmp_path: Path
) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    out = tmp_path / "image.cdx.json"
    result = generate_sbom(debian_archive, out, "cyclonedx")
    assert result.error == "" and result.tool == "syft" and result.tool_version
    document = json.loads(out.read_text())
    version = SchemaVersion.from_version(document["specVersion"])
    errors = JsonStrictValidator(version).validate_str(out.read_text())
    assert errors is None, errors
    assert result.by_type.get("deb", 0) > 50
    assert result.packages == count_packages(document, "cyclonedx")[0]


def test_spdx_sbom(debian_archive: Path, tmp_path: Path) -> None:
    out = tmp_path / "image.spdx.json"
    result = generate_sbom(debian_archive, out, "spdx")
    assert result.error == ""
    document = json.loads(out.read_text())
    assert document["spdxVersion"].startswith("SPDX-2")
    assert result.by_type.get("deb", 0) > 50


def test_no_tool_is_a_reason_not_a_crash(
    debian_archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hardening.supply import sbom

    monkeypatch.setattr(sbom, "find_tool", lambda name: "")
    result = sbom.generate_sbom(debian_archive, tmp_path / "x.json")
    assert "neither syft nor trivy" in result.error and not result.path
