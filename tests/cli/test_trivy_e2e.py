"""`hardening scan` end to end with the REAL trivy and a database written in its real format.

The example is multi-stage: a later RUN installs a vulnerable Python package (a real urllib3
wheel, unpacked in an earlier stage) on the local Debian base, and an ENV holds a fake
credential. The product's vulnerabilities must equal what `trivy image` says when run on its
own on the same image.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from hardening.model import SECURITY_SEVERITY_BANDS, Severity
from tests.support import trivy_db
from tests.support.cli import Completed, run_cli

pytestmark = pytest.mark.docker

FAKE_TOKEN = "ghp_" + "ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210"
REFUSED = "127.0.0.1:9/aquasec/trivy-db:2"
DOCKERFILE = """\
ARG BASE_IMAGE
FROM {busybox} AS wheels
COPY urllib3.whl /tmp/urllib3.whl
RUN mkdir -p /out && unzip -q /tmp/urllib3.whl -d /out

FROM ${{BASE_IMAGE}}
WORKDIR /app
COPY deploy.pem /app/deploy.pem
ENV GITHUB_TOKEN={token}
RUN --mount=type=bind,from=wheels,source=/out,target=/mnt/wheel \\
    mkdir -p /usr/lib/python3/dist-packages && cp -r /mnt/wheel/. /usr/lib/python3/dist-packages/
USER 1000
CMD ["sleep", "infinity"]
"""


@pytest.fixture(scope="module")
def project(
    tmp_path_factory: pytest.TempPathFactory, busybox_image: str, debian_image: str
) -> Path:
    root = tmp_path_factory.mktemp("e2e")
    context = root / "app"
    context.mkdir()
    wheel = trivy_db.urllib3_wheel(root / "wheels")
    with zipfile.ZipFile(wheel) as check:
        assert any(n.endswith(".dist-info/METADATA") for n in check.namelist())
    (context / "urllib3.whl").write_bytes(wheel.read_bytes())
    (context / "Dockerfile").write_text(DOCKERFILE.format(busybox=busybox_image, token=FAKE_TOKEN))
    (context / ".dockerignore").write_text(".git\n")
    from tests.scanners.conftest import FAKE_KEY

    (context / "deploy.pem").write_text(FAKE_KEY)
    return root


@pytest.fixture
def tag(docker_client: docker.DockerClient) -> Iterator[str]:
    name = f"docker-hardening.test/e2e-{uuid.uuid4().hex[:8]}:latest"
    yield name
    try:
        docker_client.images.remove(name, force=True)
    except docker.errors.DockerException:
        pass


def _scan(project: Path, out: Path, cache: Path, *extra: str) -> Completed:
    venv_bin = str(Path(sys.executable).parent)
    return run_cli(
        "scan", "app",
        "--build-arg", f"BASE_IMAGE={trivy_db_base()}",
        "--scanners", "trivy",
        "--db-cache-dir", str(cache),
        "--no-probes", "--sbom", "none",
        "--sarif", str(out / "scan.sarif"),
        "--summary", str(out / "scan.md"),
        "--gitlab-report", str(out / "gl.json"),
        "--fail-on", "none",
        *extra,
        cwd=project,
        env={"PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin", "HARDENING_RETRY_BACKOFF": "0.2"},
    )  # fmt: skip


def trivy_db_base() -> str:
    from tests.support.engine import DEBIAN_IMAGE

    return DEBIAN_IMAGE


def _results(out: Path) -> list[dict]:  # type: ignore[type-arg]
    return json.loads((out / "scan.sarif").read_text())["runs"][0]["results"]  # type: ignore[no-any-return]


def _trivy_alone(tag: str, folder: Path, cache: Path) -> dict[tuple[str, str, str], dict]:  # type: ignore[type-arg]
    archive = folder / "alone.tar"
    subprocess.run(["docker", "save", "-o", str(archive), tag], check=True)
    report = folder / "alone.json"
    result = trivy_db.run_trivy(
        ["image", "--input", str(archive), "--format", "json", "--output", str(report),
         "--scanners", "vuln", "--cache-dir", str(cache), "--skip-db-update", "--quiet"],
        cwd=folder,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    vulns = {}
    for entry in json.loads(report.read_text()).get("Results") or []:
        for v in entry.get("Vulnerabilities") or []:
            vulns[(v["VulnerabilityID"], v["PkgName"], v["InstalledVersion"])] = v
    return vulns


def test_scan_equals_trivy_alone_with_lines_bands_and_stable_secrets(
    project: Path, tmp_path: Path, tag: str
) -> None:
    cache = tmp_path / "cache"
    trivy_db.write_db(cache / "trivy")
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    result = _scan(project, first, cache, "-t", tag, "--trivy-db-repository", REFUSED)
    assert result.code == 0, result.output
    results = _results(first)
    vulns = [r for r in results if r["properties"]["kind"] == "vulnerability"]
    ours = {
        (r["ruleId"], r["properties"]["package"]["name"], r["properties"]["package"]["version"]): r
        for r in vulns
    }
    alone = _trivy_alone(tag, tmp_path, cache / "trivy")
    assert set(ours) == set(alone)
    assert ("CVE-2023-45803", "urllib3", "1.26.5") in ours
    for key, theirs in alone.items():
        props = ours[key]["properties"]
        assert props["package"].get("fixedVersion", "") == theirs.get("FixedVersion", "")
        assert props["fixStatus"] == theirs["Status"]
        assert props["severity"] == theirs["Severity"].lower()
        assert props.get("severitySource", "") == theirs.get("SeveritySource", "")

    dockerfile = (project / "app" / "Dockerfile").read_text().splitlines()
    run_line = next(i for i, line in enumerate(dockerfile, 1) if line.startswith("RUN --mount"))
    from_line = next(i for i, line in enumerate(dockerfile, 1) if line.startswith("FROM ${"))
    env_line = next(i for i, line in enumerate(dockerfile, 1) if line.startswith("ENV GITHUB"))
    for (vid, name, _), r in ours.items():
        line = r["locations"][0]["physicalLocation"]["region"]["startLine"]
        assert line == (run_line if name == "urllib3" else from_line), (vid, name, line)

    rules = {
        rule["id"]: rule
        for rule in json.loads((first / "scan.sarif").read_text())["runs"][0]["tool"]["driver"][
            "rules"
        ]
    }
    for r in vulns:
        severity = Severity(r["properties"]["severity"])
        score = rules[r["ruleId"]]["properties"].get("security-severity")
        if severity in SECURITY_SEVERITY_BANDS:
            low, high = SECURITY_SEVERITY_BANDS[severity]
            assert low <= float(score) <= high, (r["ruleId"], severity, score)
    assert rules["CVE-2005-2541"]["properties"]["security-severity"] == "2.0"

    secrets = [r for r in results if r["properties"]["kind"] == "secret"]
    token = [r for r in secrets if "GITHUB_TOKEN" in json.dumps(r)]
    assert len(token) == 1, [r["ruleId"] for r in secrets]  # one finding per secret
    assert "trivy" in token[0]["properties"]["tools"]
    assert token[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == env_line

    copy_line = next(i for i, line in enumerate(dockerfile, 1) if line.startswith("COPY deploy"))
    key = [r for r in secrets if "deploy.pem" in json.dumps(r)]
    assert len(key) == 1, [r["ruleId"] for r in key]  # one finding per secret file, DH-D109 too
    assert key[0]["ruleId"] == "DH-I204" and "trivy" in key[0]["properties"]["tools"]
    assert key[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == copy_line

    # The same image again: the same fingerprints, and no temporary path or value anywhere.
    again = _scan(project, second, cache, "--trivy-db-repository", REFUSED)
    assert again.code == 0, again.output

    def prints(out: Path) -> set[str]:
        return {r["partialFingerprints"]["dockerHardeningFinding/v1"] for r in _results(out)}

    assert prints(first) == prints(second)
    assert "trivyFingerprint" not in (first / "scan.sarif").read_text()
    for out, run in ((first, result), (second, again)):
        for path in out.iterdir():
            text = path.read_text()
            assert "docker-hardening-" not in text and "image.tar" not in text, path.name
            assert FAKE_TOKEN not in text, path.name
        assert FAKE_TOKEN not in run.output


def test_database_unreachable_ends_in_seconds_names_it_and_keeps_secrets(
    project: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    started = time.monotonic()
    result = _scan(
        project, out, tmp_path / "empty-cache",
        "--trivy-db-repository", REFUSED, "--trivy-db-repository", "nx.invalid/aquasec/trivy-db:2",
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert result.code == 3, result.output
    summary = (out / "scan.md").read_text()
    assert "vulnerability database" in summary
    sarif = json.loads((out / "scan.sarif").read_text())
    notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert any("vulnerability database" in n["message"]["text"] for n in notes)
    secrets = [r for r in _results(out) if r["properties"]["kind"] == "secret"]
    assert any("trivy" in r["properties"]["tools"] for r in secrets)
    # The build is most of it; the database failure itself costs well under a second.
    assert elapsed < 60, elapsed
