"""The SBOM made from Trivy's own scan (its report of every package, re-encoded by `trivy
convert`) lists what Syft finds on the same image: the same name and version for every deb,
python and npm package. The image holds all three: Debian's packages, a real urllib3 wheel
unpacked into dist-packages, and two npm packages under node_modules."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import docker
import pytest

from hardening.supply.sbom import generate_sbom, sbom_from_report
from tests.support import trivy_db
from tests.support.engine import build_image

pytestmark = pytest.mark.docker

DOCKERFILE = """\
FROM {base}
COPY site/ /usr/lib/python3/dist-packages/
COPY node_modules/ /usr/lib/node_modules/
"""
NPM = {"left-pad": "1.3.0", "@scope/tiny": "0.2.1"}


def _context(root: Path, base: str) -> Path:
    context = root / "ctx"
    with zipfile.ZipFile(trivy_db.urllib3_wheel(root / "wheels")) as wheel:
        wheel.extractall(context / "site")
    for name, version in NPM.items():
        folder = context / "node_modules" / name
        folder.mkdir(parents=True)
        (folder / "package.json").write_text(
            json.dumps({"name": name, "version": version, "license": "MIT"})
        )
    (context / "Dockerfile").write_text(DOCKERFILE.format(base=base))
    return context


def _packages(document: dict[str, object]) -> dict[str, set[tuple[str, str]]]:
    """(name, version) by PURL type, for the types compared."""
    found: dict[str, set[tuple[str, str]]] = {"deb": set(), "pypi": set(), "npm": set()}
    for component in document.get("components") or []:  # type: ignore[attr-defined]
        purl = str(component.get("purl", ""))
        kind = purl[4:].split("/", 1)[0] if purl.startswith("pkg:") else ""
        if kind in found:  # a scoped npm package: its scope is the CycloneDX group
            name = "/".join(p for p in (component.get("group"), component["name"]) if p)
            found[kind].add((name, str(component.get("version", ""))))
    return found


def test_sbom_from_the_trivy_scan_matches_syft(
    tmp_path: Path, debian_image: str, unique_tag: str, docker_client: docker.DockerClient
) -> None:
    build_image(_context(tmp_path, debian_image), unique_tag)
    image_id = docker_client.images.get(unique_tag).id
    cache = tmp_path / "cache"
    trivy_db.write_db(cache)
    report = tmp_path / "trivy.json"
    scanned = trivy_db.run_trivy(
        ["image", "--image-src", "docker", image_id, "--cache-dir", str(cache), "--format", "json",
         "--output", str(report), "--scanners", "vuln", "--list-all-pkgs", "--skip-db-update",
         "--quiet", "--skip-version-check", "--disable-telemetry"], tmp_path, timeout=300,
    )  # fmt: skip
    assert scanned.returncode == 0, scanned.stderr
    converted = sbom_from_report(report, tmp_path / "from-scan.cdx.json")
    assert not converted.error and converted.tool == "trivy", converted
    syft = generate_sbom(None, tmp_path / "syft.cdx.json", engine_id=image_id)
    assert not syft.error and syft.tool == "syft", syft
    ours = _packages(json.loads(Path(converted.path).read_text()))
    theirs = _packages(json.loads(Path(syft.path).read_text()))
    assert len(ours["deb"]) > 50
    assert ours["pypi"] == {("urllib3", "1.26.5")}
    assert ours["npm"] == {(name, version) for name, version in NPM.items()}
    for kind in ("deb", "pypi", "npm"):
        assert ours[kind] == theirs[kind], (kind, ours[kind] ^ theirs[kind])


def test_spdx_from_the_scan(tmp_path: Path) -> None:
    """SPDX too comes from the report, naming the same packages."""
    report = tmp_path / "trivy.json"
    report.write_text(json.dumps(_REPORT))
    made = sbom_from_report(report, tmp_path / "sbom.spdx.json", "spdx")
    assert not made.error, made
    names = {p["name"] for p in json.loads(Path(made.path).read_text())["packages"]}
    assert {"zlib1g", "urllib3"} <= names
    assert made.by_type.get("deb") == 1 and made.by_type.get("pypi") == 1


_REPORT = {
    "SchemaVersion": 2,
    "ArtifactName": "example",
    "ArtifactType": "container_image",
    "Metadata": {"OS": {"Family": "debian", "Name": "12.15"}, "ImageConfig": {}},
    "Results": [
        {"Target": "example (debian 12.15)", "Class": "os-pkgs", "Type": "debian",
         "Packages": [{"ID": "zlib1g@1:1.2.13.dfsg-1", "Name": "zlib1g", "Version": "1.2.13.dfsg-1",
                       "Epoch": 1, "Arch": "amd64", "SrcName": "zlib", "SrcVersion": "1.2.13.dfsg-1",
                       "Identifier": {"PURL": "pkg:deb/debian/zlib1g@1.2.13.dfsg-1?arch=amd64&distro=debian-12.15&epoch=1"}}]},
        {"Target": "Python", "Class": "lang-pkgs", "Type": "python-pkg",
         "Packages": [{"Name": "urllib3", "Version": "1.26.5", "FilePath": "usr/lib/python3/dist-packages/urllib3-1.26.5.dist-info/METADATA",
                       "Identifier": {"PURL": "pkg:pypi/urllib3@1.26.5"}}]},
    ],
}  # fmt: skip
