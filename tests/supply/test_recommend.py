"""The base-image recommendation on a real engine, a real registry on 127.0.0.1 and the real
trivy with the tests' own database.

One repository holds several tags of locally built images: ``12.0`` (older, with a vulnerable
package more), ``12.1`` (the full Debian base, a package with a fixable high and padding),
``12.2`` (minbase without apt, flattened), ``12.2-slim`` (busybox with Debian's os-release and
an empty package database). The same registry stands in for gcr.io (a distroless-like image
without a shell) and for cgr.dev (which holds nothing), through the mirrors setting. Every
figure of the recommendation is checked against trivy run on its own on the same image, and
against the engine.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import docker
import pytest
import requests

from hardening.model import BaseRecommendation, ImageMeasure, Severity
from hardening.request import ScanRequest
from hardening.supply.candidates import load_alternatives
from hardening.supply.recommend import Options, Target, recommend, target_from_dockerfile
from hardening.targets.dockerfile import parse_dockerfile
from tests.support import trivy_db
from tests.support.cli import run_cli
from tests.support.engine import build_image, busybox_binary, legacy_docker_cli
from tests.support.registry import serve_registry
from tests.support.trivy_db import HIGH, OsAdvisory, VulnDetail

pytestmark = pytest.mark.docker

CRITICAL = trivy_db.CRITICAL
FAKE_PACKAGE = """
Package: {name}
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 10
Maintainer: Tests <tests@example.invalid>
Architecture: amd64
Version: 1.0-1
Description: a package the tests' database knows a vulnerability of
"""


def advisories() -> list[trivy_db.Advisory]:
    return [
        *trivy_db.standard_advisories(),
        OsAdvisory("apt", "CVE-2099-0001", fixed_version="99.0"),
        OsAdvisory("fullstack-tools", "CVE-2099-0002", fixed_version="2.0-1"),
        OsAdvisory("legacy-ssl", "CVE-2099-0003", fixed_version="2.0-1"),
    ]


def details() -> list[VulnDetail]:
    ours = [("CVE-2099-0001", CRITICAL), ("CVE-2099-0002", HIGH), ("CVE-2099-0003", CRITICAL)]
    return [
        *trivy_db.standard_details(),
        *(VulnDetail(v, title=f"{v} test", severity=trivy_db.SEVERITY_NAMES[s],
                     vendor_severity={"debian": s}) for v, s in ours),
    ]  # fmt: skip


@dataclass
class World:
    registry: str
    db_repository: str
    db_cache: Path  # the same database, written directly, for trivy run on its own
    local: dict[str, str]  # tag -> the locally built image
    digests: dict[str, str]  # reference -> digest in the registry


def _push(image: str, target: str) -> str:
    docker_cli = legacy_docker_cli()
    subprocess.run([docker_cli, "tag", image, target], check=True)
    out = subprocess.run([docker_cli, "push", target], check=True, capture_output=True, text=True)
    subprocess.run([docker_cli, "rmi", target], capture_output=True)
    return re.search(r"digest: (sha256:[0-9a-f]{64})", out.stdout).group(1)  # type: ignore[union-attr]


def _flatten(client: docker.DockerClient, image: str, tag: str) -> None:
    """One layer holding the image's final filesystem (docker export | docker import)."""
    container = client.containers.create(image, command=["true"])
    try:
        export = subprocess.Popen(
            [legacy_docker_cli(), "export", container.id], stdout=subprocess.PIPE
        )
        subprocess.run([legacy_docker_cli(), "import", "-c", 'CMD ["bash"]', "-", tag],
                       stdin=export.stdout, check=True, capture_output=True)  # fmt: skip
        export.wait()
    finally:
        container.remove(force=True)


def _build(
    folder: Path, tag: str, dockerfile: str, files: dict[str, str | Path] | None = None
) -> str:
    """Build ``tag`` from ``dockerfile`` and ``files`` (text, or a file to copy)."""
    folder.mkdir(parents=True)
    (folder / "Dockerfile").write_text(dockerfile)
    for name, content in (files or {}).items():
        if isinstance(content, Path):
            shutil.copy2(content, folder / name)
        else:
            (folder / name).write_text(content)
    build_image(folder, tag)
    return tag


def _images(
    root: Path, client: docker.DockerClient, debian: str, busybox: str, run: str
) -> dict[str, str]:
    def fake(name: str) -> str:
        return FAKE_PACKAGE.lstrip("\n").format(name=name)  # dpkg's status ends with a blank line

    local = {
        "12.0": _build(root / "older", f"docker-hardening.test/rec-older:{run}",
                       f"FROM {debian}\nCOPY pkg /tmp/pkg\nRUN cat /tmp/pkg >> /var/lib/dpkg/status && rm /tmp/pkg\n",
                       {"pkg": fake("legacy-ssl")}),
        "12.1": _build(root / "full", f"docker-hardening.test/rec-full:{run}",
                       f"FROM {debian}\nCOPY pkg /tmp/pkg\nRUN cat /tmp/pkg >> /var/lib/dpkg/status && rm /tmp/pkg "
                       "&& head -c 20000000 /dev/zero > /opt/padding\n",
                       {"pkg": fake("fullstack-tools")}),
        "12.2-slim": _build(root / "slim", f"docker-hardening.test/rec-slim:{run}",
                            f"FROM {busybox}\nCOPY os-release debian_version /etc/\n"
                            "RUN mkdir -p /var/lib/dpkg && touch /var/lib/dpkg/status\n",
                            {"os-release": 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n',
                             "debian_version": "12.4\n"}),
    }  # fmt: skip
    purged = _build(root / "purged", f"docker-hardening.test/rec-purged:{run}",
                    f"FROM {debian}\nRUN dpkg --purge --force-depends --force-remove-essential apt libapt-pkg6.0\n")  # fmt: skip
    local["12.2"] = f"docker-hardening.test/rec-minbase:{run}"
    _flatten(client, purged, local["12.2"])
    client.images.remove(purged, force=True)
    local["distroless"] = _build(root / "distroless-ctx", f"docker-hardening.test/rec-distroless:{run}",
                                 "FROM scratch\nCOPY busybox /busybox\nCOPY os-release debian_version /etc/\n"
                                 "COPY base-files /var/lib/dpkg/status.d/base-files\nUSER 65532\n",
                                 {"os-release": 'PRETTY_NAME="Distroless"\nID=debian\nVERSION_ID="12"\n',
                                  "debian_version": "12.4\n",
                                  "base-files": fake("base-files").replace("1.0-1", "12.4+deb12u5"),
                                  "busybox": busybox_binary()})  # fmt: skip
    return local


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient,
    debian_image: str, busybox_image: str,
) -> Iterator[World]:  # fmt: skip
    serving = serve_registry(tmp_path_factory.mktemp("registry"))
    registry = next(serving)
    source = tmp_path_factory.mktemp("db")
    trivy_db.write_db(source, advisories(), details())
    trivy_db.push_db(registry, "aquasec/trivy-db", "2", source / "db")
    run = uuid.uuid4().hex[:8]
    root = tmp_path_factory.mktemp("images")
    local = _images(root, docker_client, debian_image, busybox_image, run)
    digests = {}
    for tag in ("12.0", "12.1", "12.2", "12.2-slim"):
        digests[f"{registry}/library/debian:{tag}"] = _push(
            local[tag], f"{registry}/library/debian:{tag}"
        )
    distroless = f"{registry}/distroless/base-debian12:nonroot"
    digests[distroless] = _push(local["distroless"], distroless)
    try:
        yield World(registry, f"{registry}/aquasec/trivy-db:2", source, local, digests)
    finally:
        for image in local.values():
            try:
                docker_client.images.remove(image, force=True)
            except docker.errors.DockerException:
                pass
        serving.close()


def scan_request(world: World, tmp: Path) -> ScanRequest:
    return ScanRequest(
        workspace=tmp, scanners=("trivy",), scanners_explicit=True,
        trivy_db_repositories=(world.db_repository,), db_cache_dir=tmp / "cache",
    )  # fmt: skip


def options(world: World, **fields: object) -> Options:
    mirrors = {"gcr.io": world.registry, "cgr.dev": world.registry}
    return Options(alternatives=load_alternatives(), mirrors=mirrors, **fields)  # type: ignore[arg-type]


def trivy_alone(world: World, image: str, tmp: Path) -> dict[str, object]:
    """What trivy says about ``image`` scanned on its own, and what the engine says of it."""
    archive, out = tmp / f"{uuid.uuid4().hex}.tar", tmp / f"{uuid.uuid4().hex}.json"
    subprocess.run([legacy_docker_cli(), "save", "-o", str(archive), image], check=True)
    done = trivy_db.run_trivy(
        ["image", "--input", str(archive), "--format", "json", "--output", str(out),
         "--scanners", "vuln", "--list-all-pkgs", "--cache-dir", str(world.db_cache),
         "--skip-db-update", "--quiet", "--skip-version-check", "--disable-telemetry"], tmp,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text()).get("Results") or []
    vulns = [v for r in results for v in r.get("Vulnerabilities") or []]
    packages = [p for r in results if r.get("Class") == "os-pkgs" for p in r.get("Packages") or []]

    def count(severity: str, fixed: bool = False) -> int:
        return sum(
            1 for v in vulns if v["Severity"] == severity and (v.get("FixedVersion") or not fixed)
        )

    archive.unlink()
    return {
        "critical": count("CRITICAL"), "high": count("HIGH"),
        "fixable_critical": count("CRITICAL", True), "fixable_high": count("HIGH", True),
        "packages": len(packages), "size": docker.from_env().images.get(image).attrs["Size"],
    }  # fmt: skip


def figures(m: ImageMeasure) -> dict[str, object]:
    return {
        "critical": m.count(Severity.CRITICAL), "high": m.count(Severity.HIGH),
        "fixable_critical": m.fixable_critical, "fixable_high": m.fixable_high,
        "packages": m.packages, "size": m.size,
    }  # fmt: skip


@pytest.fixture(scope="module")
def measured(world: World, tmp_path_factory: pytest.TempPathFactory) -> BaseRecommendation:
    tmp = tmp_path_factory.mktemp("recommend")
    text = f"FROM {world.registry}/library/debian:12.1 AS app\nRUN true\nUSER 10001\n"
    target = target_from_dockerfile(parse_dockerfile(text, "Dockerfile"))
    client = docker.from_env()
    return recommend(target, options(world), scan_request(world, tmp), client, tmp / "work")


def test_candidates_ranked_with_measured_figures(world: World, measured: BaseRecommendation,
                                                 tmp_path: Path) -> None:  # fmt: skip
    debian = f"{world.registry}/library/debian"
    distroless = f"{world.registry}/distroless/base-debian12:nonroot"
    assert [(c.measure.reference, c.why) for c in measured.candidates] == [
        (f"{debian}:12.2-slim", "smaller variant (slim)"),
        (distroless, "minimal alternative"),
        (f"{debian}:12.2", "newer minor version"),
    ]  # the older 12.0 is no candidate; ranked, not listed, order
    assert measured.unmeasured == (
        (f"{world.registry}/chainguard/wolfi-base:latest",
         f"chainguard/wolfi-base:latest was not found in {world.registry}"),
    )  # fmt: skip
    assert measured.recommended and measured.best is measured.candidates[0]
    assert measured.scanners == ("trivy",) and measured.current is not None
    # Every figure is what trivy says about that image scanned on its own, and the engine.
    alone = {
        "12.1": trivy_alone(world, world.local["12.1"], tmp_path),
        "12.2-slim": trivy_alone(world, world.local["12.2-slim"], tmp_path),
        "distroless": trivy_alone(world, world.local["distroless"], tmp_path),
        "12.2": trivy_alone(world, world.local["12.2"], tmp_path),
    }
    assert figures(measured.current) == alone["12.1"]
    for candidate, key in zip(
        measured.candidates, ("12.2-slim", "distroless", "12.2"), strict=True
    ):
        assert figures(candidate.measure) == alone[key], key
    current = alone["12.1"]
    assert (
        current["critical"],
        current["fixable_critical"],
        current["high"],
        current["fixable_high"],
    ) == (3, 2, 3, 3)  # apt and libapt-pkg6.0 (one source), zlib; glibc twice, ours
    assert alone["12.2"]["fixable_critical"] == 0 and alone["12.2"]["high"] == 2


def test_deltas_notes_and_pinned_lines(world: World, measured: BaseRecommendation) -> None:
    current = measured.current
    assert current is not None and current.os.startswith("Debian GNU/Linux 12")
    assert current.eol == "2028-06-30" and current.shells and "apt" in current.package_managers
    slim, distroless, minbase = measured.candidates
    packages = current.packages
    assert packages is not None and packages > 80
    size = (slim.measure.size - current.size) / 1e6
    assert slim.changes == ("-3 critical", "-3 high", "-5 fixable critical or high",
                            f"-{packages} packages", f"{size:+.0f} MB")  # fmt: skip
    assert slim.measure.package_managers == ("rpm",) and not slim.notes  # a busybox applet
    assert "no shell" in distroless.changes and "runs as 65532" in distroless.changes
    assert distroless.notes[0].startswith("no shell: the 1 RUN instruction(s) on it")
    assert minbase.changes[:3] == ("-2 critical", "-1 high", "-3 fixable critical or high")
    for candidate in measured.candidates:
        reference = candidate.measure.reference
        digest = world.digests[reference]
        assert candidate.measure.digest == digest
        assert candidate.from_line == f"FROM {reference}@{digest} AS app"
    assert measured.current.digest == world.digests[f"{world.registry}/library/debian:12.1"]


def test_a_time_limit_and_a_cap_bound_it(world: World, tmp_path: Path) -> None:
    target = Target(f"{world.registry}/library/debian:12.1")
    capped = recommend(target, options(world, max_candidates=1), scan_request(world, tmp_path),
                       docker.from_env(), tmp_path / "work")  # fmt: skip
    assert [c.measure.reference for c in capped.candidates] == [
        f"{world.registry}/library/debian:12.2"
    ]
    late = recommend(target, options(world, timeout_s=0.5), scan_request(world, tmp_path),
                     docker.from_env(), tmp_path / "late")  # fmt: skip
    assert not late.recommended and late.duration_s < 10
    assert "time limit" in late.note or "time limit" in (
        late.current.problem if late.current else ""
    )


class TokenProxy(BaseHTTPRequestHandler):
    """A registry that asks for a Bearer token, in front of the real one."""

    upstream = ""
    seen: list[str] = []

    def log_message(self, *args: object) -> None:
        pass

    def _forward(self, method: str) -> None:
        self.seen.append(f"{method} {self.path}")
        if self.path.startswith("/token"):
            body = b'{"token": "t0k3n"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if self.headers.get("Authorization") != "Bearer t0k3n":
            realm = f"http://127.0.0.1:{self.server.server_address[1]}/token"
            self.send_response(401)
            self.send_header("WWW-Authenticate", f'Bearer realm="{realm}",service="local"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        accept = {"Accept": ", ".join(self.headers.get_all("Accept") or ["*/*"])}
        answer = requests.request(
            method, f"http://{self.upstream}{self.path}", headers=accept, timeout=60
        )
        self.send_response(answer.status_code)
        for name in (
            "Content-Type",
            "Docker-Content-Digest",
            "Link",
            "Docker-Distribution-Api-Version",
        ):
            if name in answer.headers:
                self.send_header(name, answer.headers[name])
        self.send_header(
            "Content-Length", answer.headers.get("Content-Length", str(len(answer.content)))
        )
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(answer.content)

    def do_GET(self) -> None:
        self._forward("GET")

    def do_HEAD(self) -> None:
        self._forward("HEAD")


def test_a_registry_that_needs_a_token(world: World, tmp_path: Path, busybox_image: str) -> None:
    padded = _build(tmp_path / "padded", f"docker-hardening.test/rec-padded:{uuid.uuid4().hex[:8]}",
                    f"FROM {busybox_image}\nRUN head -c 3000000 /dev/zero > /padding\n")  # fmt: skip
    try:
        old = _push(padded, f"{world.registry}/team/tool:1.0")
    finally:
        docker.from_env().images.remove(padded, force=True)
    new = _push(busybox_image, f"{world.registry}/team/tool:1.1")
    TokenProxy.upstream, TokenProxy.seen = world.registry, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), TokenProxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    proxy = f"127.0.0.1:{server.server_address[1]}"
    try:
        result = recommend(Target(f"{proxy}/team/tool:1.0", "Dockerfile", 1), options(world),
                           scan_request(world, tmp_path), docker.from_env(), tmp_path / "work")  # fmt: skip
    finally:
        server.shutdown()
    assert result.current is not None and result.current.digest == old
    (candidate,) = result.candidates
    assert (
        candidate.measure.reference == f"{proxy}/team/tool:1.1" and candidate.measure.digest == new
    )
    assert result.recommended and candidate.from_line == f"FROM {proxy}/team/tool:1.1@{new}"
    assert candidate.changes == ("-3.0 MB",)
    assert any(s.startswith("GET /token?") and "scope=repository%3Ateam%2Ftool%3Apull" in s
               for s in TokenProxy.seen)  # fmt: skip
    assert any(s.startswith("GET /v2/team/tool/tags/list") for s in TokenProxy.seen)
    assert any("/blobs/" in s for s in TokenProxy.seen)  # the engine pulled through it too


def _policy(world: World, folder: Path, extra: str = "") -> Path:
    path = folder / ".hardening.yml"
    path.write_text(
        f"recommend-base:\n  mirrors:\n    gcr.io: {world.registry}\n    cgr.dev: {world.registry}\n"
        + extra
    )
    return path


def test_the_scan_stage_reports_it_and_leaves_the_verdict(world: World, tmp_path: Path) -> None:
    """`hardening scan --recommend-base`: the table in the summary, a note-level SARIF result
    with the fix on the FROM line, and the gate deciding on the other findings alone."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "Dockerfile").write_text(
        f"FROM {world.registry}/library/debian:12.1 AS app\nRUN true\nUSER 10001\n"
    )
    _policy(world, project)
    sarif_path, summary = tmp_path / "out.sarif", tmp_path / "out.md"
    done = run_cli(
        "scan", str(project), "--workspace", str(project), "--scanners", "trivy",
        "--trivy-db-repository", world.db_repository, "--db-cache-dir", str(tmp_path / "cache"),
        "--no-probes", "--sbom", "none", "--fail-on", "critical", "--recommend-base",
        "--sarif", str(sarif_path), "--summary", str(summary),
        env={"HARDENING_KEV_URL": "none", "HARDENING_EPSS_URL": "none"},
    )  # fmt: skip
    assert done.code == 1, done.output
    run = json.loads(sarif_path.read_text())["runs"][0]
    results, rules = run["results"], run["tool"]["driver"]["rules"]
    (advice,) = [r for r in results if r["ruleId"] == "DH-B601"]
    slim = f"{world.registry}/library/debian:12.2-slim"
    line = f"FROM {slim}@{world.digests[slim]} AS app"
    assert (
        advice["level"] == "note"
        and advice["locations"][0]["physicalLocation"]["region"]["startLine"] == 1
    )
    assert (
        advice["fixes"][0]["artifactChanges"][0]["replacements"][0]["insertedContent"]["text"]
        == line + "\n"
    )
    severity = [
        float(rules[r["ruleIndex"]]["properties"].get("security-severity", 0)) for r in results
    ]
    critical = [r for r, score in zip(results, severity, strict=True) if score >= 9.0]
    assert len(critical) == 3  # apt and libapt-pkg6.0, zlib: the recommendation is not counted
    assert f"failed: {len(critical)} finding(s) at or above critical" in done.stdout
    text = summary.read_text()
    assert "### A better base image, measured" in text and line in text
    assert "| base recommendation | ok |" in text


def test_the_recommend_command(world: World, tmp_path: Path) -> None:
    policy = _policy(world, tmp_path)
    common = ("--scanners", "trivy", "--trivy-db-repository", world.db_repository,
              "--db-cache-dir", str(tmp_path / "cache"), "--config", str(policy))  # fmt: skip
    done = run_cli("recommend", f"{world.registry}/library/debian:12.1", "--json", *common)
    assert done.code == 0, done.output
    data = json.loads(done.stdout)
    slim = f"{world.registry}/library/debian:12.2-slim"
    assert data["recommended"] == f"FROM {slim}@{world.digests[slim]}"
    assert data["candidates"][0]["reference"] == slim and data["current"]["packages"] > 80
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(f"ARG TAG=12.1\nFROM {world.registry}/library/debian:${{TAG}}\n")
    done = run_cli(
        "recommend", str(dockerfile), "--max-candidates", "1", "--workspace", str(tmp_path), *common
    )
    assert done.code == 0, done.output
    assert f"base image {world.registry}/library/debian:12.1 (Dockerfile:2)" in done.stdout
    assert f"recommended: FROM {world.registry}/library/debian:12.2@" in done.stdout
    missing = run_cli("recommend", str(tmp_path / "nope"), "--target", "x")
    assert missing.code == 2 and "--target and --build-arg need a Dockerfile" in missing.stderr
