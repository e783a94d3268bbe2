"""Several images in one step, on the real engine with the real trivy: a repository with three
Dockerfiles (one in a hidden .devcontainer folder, one that fails to build), the test database
served once from a local registry behind a counting proxy, and the recorded-Grype stand-in."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from hardening.model import Report
from hardening.report.formats import RenderInput
from hardening.report.sarif import MAX_RUNS_PER_FILE, run_documents
from tests.conftest import shared_dir
from tests.support import fault_registry
from tests.support.cli import REPO_ROOT, run_cli
from tests.support.engine import DEBIAN_IMAGE
from tests.support.sarif_validate import validate_sarif

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("trivy_db_repository")]

STANDINS = REPO_ROOT / "tests" / "standins"
GRYPE_FIXTURE = shared_dir() / "fixtures" / "scanners" / "grype-busybox-latest-msusel-v0.62.3.json"
TOKEN = "ghp_" + "Mn3Bv5Cx7Zl9Kj2Hg4Fd6Sa8Qw0Er1Ty3Ui5"


def _repo(root: Path, busybox: str) -> Path:
    files = {
        "services/api/Dockerfile": f"ARG BASE_IMAGE\nFROM ${{BASE_IMAGE}}\nENV API_TOKEN={TOKEN}\nUSER 1000\n",
        ".devcontainer/Dockerfile": f"FROM {busybox}\nUSER 1000\n",
        "services/broken/Dockerfile": f"FROM {busybox}\nRUN exit 5\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    bin_dir = root.parent / "bin"
    bin_dir.mkdir()
    (bin_dir / "grype").write_text(
        f'#!/bin/sh\nSTANDIN_FIXTURE="{GRYPE_FIXTURE}" exec "{STANDINS / "grype"}" "$@"\n'
    )
    (bin_dir / "grype").chmod(0o755)
    return bin_dir


def test_three_images_one_database_download_one_sarif_one_report(
    tmp_path: Path, busybox_image: str, trivy_db_repository: str
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    bin_dir = _repo(repo, busybox_image)
    upstream = trivy_db_repository.split("/", 1)[0]
    with fault_registry.rate_limited(upstream, failures=0) as counting:
        result = run_cli(
            "scan", "--images", "**/Dockerfile", "--build-arg", f"BASE_IMAGE={DEBIAN_IMAGE}",
            "--scanners", "trivy,grype", "--no-probes", "--sbom", "none", "--no-pin-lookup",
            "--db-cache-dir", str(tmp_path / "cache"), "--fail-on", "high",
            "--sarif", "out/s.sarif", "--summary", "out/s.md",
            cwd=repo,
            env={
                "PATH": f"{bin_dir}:{Path(sys.executable).parent}:{os.environ['PATH']}",
                "TRIVY_DB_REPOSITORY": f"{counting}/aquasec/trivy-db:2",
            },
        )  # fmt: skip
        blobs = [r for r in counting.requests if "/blobs/" in r[1] and r[0] == "GET"]
    assert result.code == 3, result.output  # the broken image: incomplete, named
    assert "services/broken/Dockerfile" in result.stdout
    assert len(blobs) <= 2 and any("/blobs/" in r[1] for r in counting.requests)  # one download
    manifests = [r for r in counting.requests if "/manifests/" in r[1] and r[0] == "GET"]
    assert len(manifests) == 1, counting.requests
    document = json.loads((repo / "out" / "s.sarif").read_text())
    assert (
        validate_sarif(repo / "out" / "s.sarif") == []
    )  # schema, Multitool (Gh;Sarif), sarif-tools
    runs = {run["automationDetails"]["id"]: run for run in document["runs"]}
    assert set(runs) == {
        "docker-hardening/services/api/Dockerfile/",
        "docker-hardening/.devcontainer/Dockerfile/",
        "docker-hardening/services/broken/Dockerfile/",
    }
    api = runs["docker-hardening/services/api/Dockerfile/"]
    assert any(r["ruleId"] == "CVE-2005-2541" for r in api["results"])  # scanned with the DB
    assert all(
        loc["physicalLocation"]["artifactLocation"]["uri"].startswith("services/api/")
        for r in api["results"] for loc in r["locations"]
    )  # fmt: skip
    assert (
        runs["docker-hardening/services/broken/Dockerfile/"]["invocations"][0][
            "executionSuccessful"
        ]
        is False
    )
    assert (
        runs["docker-hardening/.devcontainer/Dockerfile/"]["invocations"][0]["executionSuccessful"]
        is True
    )
    summary = (repo / "out" / "s.md").read_text()
    assert summary.startswith("## docker-hardening: 3 images")
    for name in (
        "services/api/Dockerfile",
        ".devcontainer/Dockerfile",
        "services/broken/Dockerfile",
    ):
        assert f"### `{name}`" in summary
    assert TOKEN not in summary + json.dumps(document) + result.output


def test_more_than_twenty_images_make_more_than_one_sarif_file() -> None:
    parts = tuple(
        Report(
            findings=(),
            dockerfile=f"s{i}/Dockerfile",
            category=f"docker-hardening/s{i}/Dockerfile/",
        )
        for i in range(MAX_RUNS_PER_FILE + 3)
    )
    documents = run_documents(RenderInput(Report(findings=(), parts=parts)))
    assert [len(d["runs"]) for d in documents] == [MAX_RUNS_PER_FILE, 3]
    categories = [run["automationDetails"]["id"] for d in documents for run in d["runs"]]
    assert len(categories) == len(set(categories)) == MAX_RUNS_PER_FILE + 3


def test_images_that_match_nothing_are_a_usage_error_before_anything_runs(tmp_path: Path) -> None:
    result = run_cli(
        "scan", "--images", "nowhere/**/Dockerfile", "--sarif", "s.sarif", cwd=tmp_path
    )
    assert result.code == 2 and "no Dockerfile found" in result.stderr
    assert list(tmp_path.iterdir()) == []


def _two_images(root: Path, busybox: str) -> Path:
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        (root / name / "Dockerfile").write_text(f"FROM {busybox}\nUSER 1000\n")
    return _repo(root / "unused", busybox)


def _grype_env(bin_dir: Path, log: Path, **extra: str) -> dict[str, str]:
    return {"PATH": f"{bin_dir}:{Path(sys.executable).parent}:{os.environ['PATH']}",
            "STANDIN_LOG": str(log), **extra}  # fmt: skip


def _calls(log: Path) -> list[list[str]]:
    """Each grype call's arguments, in order (the stand-in's log)."""
    lines = log.read_text().splitlines() if log.exists() else []
    return [json.loads(line)["argv"] for line in lines]


GRYPE_ONLY = ("--scanners", "grype", "--no-probes", "--sbom", "none", "--no-pin-lookup")


@pytest.mark.parametrize("fails", [False, True])
def test_grype_database_is_fetched_once_before_the_images(
    tmp_path: Path, busybox_image: str, fails: bool
) -> None:
    repo = tmp_path / "repo"
    bin_dir = _two_images(repo, busybox_image)
    log = tmp_path / "calls.jsonl"
    extra = {"STANDIN_DB_FAIL": "the listing could not be fetched"} if fails else {}
    result = run_cli(
        "scan", "--images", "*/Dockerfile", *GRYPE_ONLY, "--db-cache-dir", str(tmp_path / "cache"),
        "--sarif", "out/s.sarif", "--summary", "out/s.md", cwd=repo,
        env=_grype_env(bin_dir, log, **extra),
    )  # fmt: skip
    assert result.code == 0, result.output
    calls = _calls(log)
    assert calls[0] == ["db", "update"] and len(calls) == 3, calls
    assert all("db" not in call for call in calls[1:]), calls  # the two images' scans
    if fails:
        assert "grype database for every image: not fetched ahead (" in result.output
        assert "the listing could not be fetched" in result.output
    else:
        assert "grype database for every image: fetched" in result.output
        assert (tmp_path / "cache" / "grype" / "6").is_dir()  # where every image's Grype looks


def test_cancelled_while_the_databases_are_fetched_still_writes_its_outputs(
    tmp_path: Path, busybox_image: str
) -> None:
    import signal
    import subprocess
    import time

    repo = tmp_path / "repo"
    bin_dir = _two_images(repo, busybox_image)
    log = tmp_path / "calls.jsonl"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT),
           **_grype_env(bin_dir, log, STANDIN_DB_SLEEP="60")}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "hardening", "scan", "--images", "*/Dockerfile", *GRYPE_ONLY,
         "--sarif", "out/s.sarif", "--summary", "out/s.md"],
        cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not _calls(log) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _calls(log), "grype db update never started"
    proc.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 3, out + err
    assert time.monotonic() - sent < 10
    summary = (repo / "out" / "s.md").read_text()
    assert "cancelled (SIGTERM)" in summary + out + err
    document = json.loads((repo / "out" / "s.sarif").read_text())
    assert len(document["runs"]) == 2
    assert all(run["invocations"][0]["executionSuccessful"] is False for run in document["runs"])
    assert len(_calls(log)) == 1  # no image was scanned
