"""What a pull request changes: the base commit built and scanned in the same run, on the real
engine with the real trivy and the tests' database.

A repository with two commits; the second adds a vulnerable Python package, switches to
`USER root`, removes a secret ENV and moves lines around. Findings must be classified by what
they are, never by line: the Debian CVEs and the base-image findings stay unchanged though
their lines moved. The base's work runs beside the head's, so a SIGTERM or SIGINT during it
must still stop the run within the cancellation tests' bounds and leave nothing behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import docker
import pytest

from tests.support import trivy_db
from tests.support.cli import REPO_ROOT, Completed, run_cli
from tests.support.engine import DEBIAN_IMAGE

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("trivy_db_repository")]

TOKEN = "ghp_" + "Bq7xWv3Kp9Lm2Nn4Rr6Tt8Yy0Zz1Aa5Cc7Ee"
BASE = f"""\
ARG BASE_IMAGE
FROM ${{BASE_IMAGE}}
ENV GITHUB_TOKEN={TOKEN}
WORKDIR /app
USER 1000
CMD ["sleep", "infinity"]
"""
HEAD = """\
ARG BASE_IMAGE
FROM {busybox} AS wheels
COPY urllib3.whl /tmp/urllib3.whl
RUN mkdir -p /out && unzip -q /tmp/urllib3.whl -d /out

# The application image.
FROM ${{BASE_IMAGE}}

WORKDIR /app
RUN --mount=type=bind,from=wheels,source=/out,target=/mnt/wheel \\
    mkdir -p /usr/lib/python3/dist-packages && cp -r /mnt/wheel/. /usr/lib/python3/dist-packages/
USER root
CMD ["sleep", "infinity"]
"""
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
}  # fmt: skip


def _git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True,
        env={**os.environ, **GIT_ENV},
    )  # fmt: skip
    return result.stdout.strip()


def _commit(repo: Path, files: dict[str, str | bytes], message: str) -> str:
    for name, content in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return trivy_db.urllib3_wheel(tmp_path_factory.mktemp("wheel")).read_bytes()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    return root


def _scan(repo: Path, out: Path, *extra: str) -> Completed:
    return run_cli(
        "scan", "app", "--build-arg", f"BASE_IMAGE={DEBIAN_IMAGE}", "--scanners", "trivy",
        "--no-probes", "--sbom", "none", "--no-pin-lookup",
        "--sarif", str(out / "s.sarif"), "--summary", str(out / "s.md"), *extra,
        cwd=repo, env={"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
    )  # fmt: skip


def _results(out: Path) -> tuple[dict[str, list[dict]], dict]:  # type: ignore[type-arg]
    run = json.loads((out / "s.sarif").read_text())["runs"][0]
    by_rule: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    for result in run["results"]:
        by_rule.setdefault(result["ruleId"], []).append(result)
    return by_rule, run["properties"]["comparison"]


def test_findings_are_new_unchanged_or_fixed_by_what_they_are(
    repo: Path, tmp_path: Path, wheel: bytes, busybox_image: str
) -> None:
    base = _commit(repo, {"app/Dockerfile": BASE, "app/.dockerignore": ".git\n"}, "base")
    _commit(
        repo,
        {"app/Dockerfile": HEAD.format(busybox=busybox_image), "app/urllib3.whl": wheel},
        "head",
    )
    new_only, everything = tmp_path / "new", tmp_path / "all"
    result = _scan(
        repo, new_only, "--compare-with", base, "--fail-on", "critical", "--fail-on-scope", "new"
    )
    assert result.code == 0, result.output  # the unchanged critical zlib CVE does not count
    by_rule, comparison = _results(new_only)
    assert comparison["compared"] is True and comparison["base"] == f"base commit {base[:12]}"
    states = {rule: {r["baselineState"] for r in results} for rule, results in by_rule.items()}
    for unchanged in ("CVE-2005-2541", "CVE-2016-2781", "CVE-2023-45853", "CVE-2025-4802"):
        assert states[unchanged] == {"unchanged"}, unchanged  # the FROM line moved; same finding
    assert states["CVE-2023-45803"] == {"new"}  # urllib3, added by the change
    assert states["DH-D101"] == {"new"}  # USER root
    fixed = {f["ruleId"] for f in comparison["fixedFindings"]}
    assert "DH-D108" in fixed  # the secret ENV is gone
    assert not any(
        r["ruleId"] == "DH-D108"
        for r in json.loads((new_only / "s.sarif").read_text())["runs"][0]["results"]
    )
    summary = (new_only / "s.md").read_text()
    opening = next(line for line in summary.splitlines() if line.startswith("**Compared with"))
    assert f"the base commit {base[:12]}:** +{comparison['new']} new (" in opening
    assert f"-{comparison['fixed']} fixed, {comparison['unchanged']} unchanged" in opening
    assert summary.index("### New ") < summary.index("Unchanged findings")  # new ones first
    assert "Fixed by this change" in summary
    # The stage list names the comparison; it waited for the base's work, run beside the head's.
    stage = next(line for line in summary.splitlines() if line.startswith("| base comparison |"))
    assert "| ok |" in stage and "the base's own work took" in stage, stage
    every = _scan(
        repo, everything, "--compare-with", base, "--fail-on", "critical",
        "--db-cache-dir", str(tmp_path / "cache"),
    )  # fmt: skip
    assert every.code == 1, every.output  # scope all: the unchanged critical counts
    # One database cache for both (their Trivy runs take turns on it): the same comparison.
    _, shared = _results(everything)
    assert {k: shared[k] for k in ("new", "unchanged", "fixed")} == {
        k: comparison[k] for k in ("new", "unchanged", "fixed")
    }
    assert not list(repo.glob(".git/worktrees/*"))  # the base worktree is gone


def test_a_dockerfile_added_by_the_change_makes_everything_new(
    repo: Path, tmp_path: Path, busybox_image: str
) -> None:
    base = _commit(repo, {"README.md": "nothing to build yet\n"}, "base")
    _commit(repo, {"app/Dockerfile": BASE.replace("USER 1000", "USER root")}, "head")
    result = _scan(
        repo, tmp_path, "--compare-with", base, "--fail-on", "critical", "--fail-on-scope", "new"
    )
    by_rule, comparison = _results(tmp_path)
    assert (
        comparison["compared"] is False
        and "does not exist at the base commit" in comparison["reason"]
    )
    assert {r["baselineState"] for rs in by_rule.values() for r in rs} == {"new"}
    assert result.code == 1, result.output  # everything is new, the critical CVE included
    assert "every finding counts as new" in (tmp_path / "s.md").read_text()


def test_a_base_that_does_not_build_is_said_and_everything_is_new(
    repo: Path, tmp_path: Path
) -> None:
    base = _commit(repo, {"app/Dockerfile": BASE.replace("WORKDIR /app", "RUN exit 4")}, "base")
    _commit(repo, {"app/Dockerfile": BASE}, "head")
    result = _scan(repo, tmp_path, "--compare-with", base, "--fail-on", "none")
    assert result.code == 0, result.output  # the head's own run is complete
    _, comparison = _results(tmp_path)
    assert comparison["compared"] is False and "build" in comparison["reason"]
    assert "exited with code 4" in comparison["reason"]


def test_a_base_commit_not_in_the_checkout_is_said_with_the_fix(repo: Path, tmp_path: Path) -> None:
    _commit(repo, {"app/Dockerfile": BASE}, "only")
    result = _scan(repo, tmp_path, "--compare-with", "0123456789abcdef0123456789abcdef01234567")
    _, comparison = _results(tmp_path)
    assert comparison["compared"] is False
    assert (
        "is not in the checkout" in comparison["reason"] and "fetch-depth" in comparison["reason"]
    )
    assert "not compared with" in result.stderr


SLOW = """\
FROM {busybox}
ARG CACHEBUST
RUN echo "$CACHEBUST" && sleep 2
USER 1000
CMD ["sleep", "600"]
"""


def _leftovers(client: docker.DockerClient, run_id: str, repo: Path) -> list[str]:
    """Whatever carries the run's id, the head's or the base's: containers, images, tags,
    temporary folders, processes, and the base's worktree."""
    left = []
    for value in (run_id, f"{run_id}-base"):
        label = {"label": f"docker-hardening.run={value}"}
        left += [f"container {c.name}" for c in client.containers.list(all=True, filters=label)]
        left += [f"image {i.id}" for i in client.images.list(filters=label)]
    left += [f"tag {t}" for i in client.images.list() for t in i.tags if run_id in t]
    left += [
        f"folder {p}" for p in Path(tempfile.gettempdir()).glob(f"docker-hardening-{run_id}-*")
    ]
    left += [f"worktree {p}" for p in repo.glob(".git/worktrees/*")]
    for proc in Path("/proc").iterdir():
        try:
            environ = (proc / "environ").read_bytes() if proc.name.isdigit() else b""
        except OSError:
            continue
        if f"DOCKER_HARDENING_RUN={run_id}".encode() in environ.split(b"\0"):
            left.append(f"process {proc.name}")
    return left


def _cancel_at(repo: Path, out: Path, trigger: str, sig: int) -> tuple[str, int, float, str]:
    """Start a compared scan, send ``sig`` when the log line ending in ``trigger`` appears;
    (run id, exit code, seconds from the signal to the exit, the log)."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT),
           "HARDENING_HELPER_IMAGE": "docker-hardening.test/busybox:latest"}  # fmt: skip
    base = _git(repo, "rev-parse", "HEAD~1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hardening", "scan", ".", "--compare-with", base,
         "--build-arg", f"CACHEBUST={uuid.uuid4().hex}", "--scanners", "trivy",
         "--trial-grace", "2", "--sbom", "none", "--no-pin-lookup",
         "--db-cache-dir", str(out / "cache"),
         "--sarif", str(out / "c.sarif"), "--summary", str(out / "c.md")],
        cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    lines, run_id, deadline = [], "", time.monotonic() + 120
    for line in proc.stderr:
        lines.append(line)
        run_id = run_id or (line.rsplit(" ", 1)[1].strip() if "] run " in line else "")
        if line.strip().endswith(trigger) or time.monotonic() > deadline:
            break
    proc.send_signal(sig)
    sent = time.monotonic()
    try:
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    return run_id, proc.returncode, time.monotonic() - sent, "".join(lines) + proc.stderr.read()


@pytest.mark.parametrize(
    ("trigger", "sig"),
    [
        ("base: build...", signal.SIGTERM),
        ("base: scanners...", signal.SIGINT),
        ("base: runtime probes...", signal.SIGTERM),
    ],
)
def test_cancelled_during_the_base_stops_and_leaves_nothing_behind(
    repo: Path, tmp_path: Path, busybox_image: str, docker_client: docker.DockerClient,
    trigger: str, sig: int,
) -> None:  # fmt: skip
    _commit(repo, {"Dockerfile": SLOW.format(busybox=busybox_image)}, "base")
    _commit(repo, {"Dockerfile": SLOW.format(busybox=busybox_image) + "EXPOSE 8080\n"}, "head")
    run_id, code, elapsed, log = _cancel_at(repo, tmp_path, trigger, sig)
    assert run_id and trigger in log, log
    name = signal.Signals(sig).name
    assert code == 3, (trigger, code, log)
    assert elapsed < 10, (trigger, elapsed)
    assert f"cancelled ({name})" in (tmp_path / "c.md").read_text()
    sarif = json.loads((tmp_path / "c.sarif").read_text())
    notes = [
        n["message"]["text"]
        for n in sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    ]
    assert any(f"cancelled ({name})" in n for n in notes), notes
    time.sleep(0.5)  # let the engine settle what the killed client had asked for
    assert _leftovers(docker_client, run_id, repo) == [], (trigger, log)
