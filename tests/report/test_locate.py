"""Image findings on the Dockerfile line that added them, on a real build, checked with a real
tool that reports layer ids the way Trivy and Grype do (Syft)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import docker
import pytest

from hardening.adapters import docker_engine
from hardening.model import Finding, Kind, Location, Package, Severity
from hardening.report.locate import locate_image_findings
from hardening.targets.dockerfile import parse_dockerfile
from tests.support.engine import build_image

pytestmark = pytest.mark.docker


def test_packages_map_to_the_run_line_that_installed_them_or_the_final_from(
    tmp_path: Path, debian_image: str, unique_tag: str, docker_client: docker.DockerClient
) -> None:
    text = (
        f"FROM {debian_image} AS build\nRUN echo built > /artifact\n\n"
        f"FROM {debian_image}\n"
        "COPY --from=build /artifact /artifact\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends libcap2-bin && rm -rf /var/lib/apt/lists/*\n"
        "USER 10001\n"
    )
    (tmp_path / "Dockerfile").write_text(text)
    build_image(tmp_path, unique_tag)
    archive = docker_engine.export_image(docker_client, unique_tag, tmp_path / "image.tar")
    image = docker_engine.image_info(unique_tag, archive, docker_client)
    syft = Path(sys.executable).parent / "syft"
    out = subprocess.run(
        [str(syft), f"docker-archive:{archive}", "-o", "json", "-q"],
        capture_output=True, text=True, check=True, timeout=300,
        env={"SYFT_CHECK_FOR_APP_UPDATE": "false", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    ).stdout  # fmt: skip
    packages = json.loads(out)["artifacts"]
    findings = []
    for pkg in packages:
        layers = [
            loc.get("layerID", "")
            for loc in pkg.get("locations", [])
            if not loc["path"].startswith("/var/lib/dpkg/status")
        ]
        if pkg["name"] in ("libcap2-bin", "bash", "dpkg") and layers:
            findings.append(Finding(
                f"TEST-{pkg['name']}", Kind.VULNERABILITY, Severity.LOW, pkg["name"], pkg["name"],
                package=Package(pkg["name"], pkg["version"], "", "deb"), location=Location(layer=layers[0]),
                tools=("test",),
            ))  # fmt: skip
    assert {f.package.name for f in findings if f.package} == {"libcap2-bin", "bash", "dpkg"}
    model = parse_dockerfile(text, "Dockerfile")
    located = {
        f.package.name: f.location
        for f in locate_image_findings(findings, image, model)
        if f.package
    }
    assert located["libcap2-bin"].line == 6  # the RUN that installed it
    assert located["bash"].line == 4 and "base image" in located["bash"].note  # the final FROM
    assert located["dpkg"].line == 4
    assert all(loc.path == "Dockerfile" for loc in located.values())
