"""Cancellation on the real engine: SIGTERM (how GitHub cancels a job) or SIGINT at each stage
boundary and at seeded random moments of a real scan. Each time the run must end within 10 s
with exit 3, a complete SARIF file and summary that say it was cancelled, and nothing left
behind that carries its run id: no container, no image or tag, no temporary folder, no
process."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import docker
import pytest

from tests.conftest import shared_dir
from tests.support.cli import REPO_ROOT

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("trivy_db_repository")]

STANDINS = REPO_ROOT / "tests" / "standins"
GRYPE_FIXTURE = shared_dir() / "fixtures" / "scanners" / "grype-busybox-latest-msusel-v0.62.3.json"
STAGES = ("build...", "export...", "scanners...", "runtime probes...", "merge...")
SEED = 20261130
RANDOM_POINTS = 3


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, busybox_image: str) -> Path:
    root = tmp_path_factory.mktemp("cancel")
    (root / "Dockerfile").write_text(
        f'FROM {busybox_image}\nARG CACHEBUST\nRUN echo "$CACHEBUST" && sleep 2\n'
        'USER 1000\nCMD ["sleep", "600"]\n'
    )
    bin_dir = root / "bin"
    bin_dir.mkdir()
    grype = bin_dir / "grype"
    grype.write_text(
        f'#!/bin/sh\nSTANDIN_SLEEP=3 STANDIN_FIXTURE="{GRYPE_FIXTURE}" exec "{STANDINS / "grype"}" "$@"\n'
    )
    grype.chmod(0o755)
    return root


def _start(project: Path, out: Path) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT)
    env["PATH"] = f"{project / 'bin'}{os.pathsep}{env['PATH']}"
    env["HARDENING_HELPER_IMAGE"] = "docker-hardening.test/busybox:latest"
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hardening",
            "scan",
            ".",
            "--build-arg",
            f"CACHEBUST={uuid.uuid4().hex}",
            "--scanners",
            "trivy,grype",
            "--trial-grace",
            "2",
            "--sbom",
            "none",
            "--sarif",
            str(out / "c.sarif"),
            "--summary",
            str(out / "c.md"),
        ],  # fmt: skip
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _leftovers(client: docker.DockerClient, run_id: str) -> list[str]:
    left = []
    label = f"docker-hardening.run={run_id}"
    left += [
        f"container {c.name}" for c in client.containers.list(all=True, filters={"label": label})
    ]
    left += [f"image {i.id}" for i in client.images.list(filters={"label": label})]
    left += [f"tag {t}" for i in client.images.list() for t in i.tags if run_id in t]
    left += [
        f"folder {p}" for p in Path(tempfile.gettempdir()).glob(f"docker-hardening-{run_id}-*")
    ]
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if f"DOCKER_HARDENING_RUN={run_id}".encode() in environ.split(b"\0"):
            left.append(f"process {proc.name}")
    return left


def _run_and_cancel(
    project: Path, out: Path, trigger: str | float, sig: int
) -> tuple[str, int, float, str, bool]:
    proc = _start(project, out)
    assert proc.stderr is not None
    lines: list[str] = []
    run_id = ""
    fired = threading.Event()
    deadline = time.monotonic() + 120

    def send() -> None:
        if not fired.is_set():
            fired.set()
            proc.send_signal(sig)

    timer = threading.Timer(trigger, send) if isinstance(trigger, float) else None
    if timer:
        timer.start()
    for line in proc.stderr:
        lines.append(line)
        if not run_id and "] run " in line:
            run_id = line.rsplit(" ", 1)[1].strip()
        if isinstance(trigger, str) and line.strip().endswith(trigger):
            send()
        if fired.is_set() or time.monotonic() > deadline:
            break
    sent = time.monotonic()
    try:
        proc.wait(timeout=30)
    finally:
        if timer:
            timer.cancel()
        if proc.poll() is None:
            proc.kill()
    elapsed = time.monotonic() - sent
    rest = proc.stderr.read()
    return run_id, proc.returncode, elapsed, "".join(lines) + rest, fired.is_set()


def test_cancelled_at_every_stage_and_random_points_leaves_nothing_behind(
    project: Path, tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    rng = random.Random(SEED)
    triggers: list[str | float] = [
        *STAGES,
        *(round(rng.uniform(0.5, 9.0), 2) for _ in range(RANDOM_POINTS)),
    ]
    for index, trigger in enumerate(triggers):
        sig = signal.SIGTERM if index % 2 == 0 else signal.SIGINT
        out = tmp_path / f"run{index}"
        run_id, code, elapsed, log, fired = _run_and_cancel(project, out, trigger, sig)
        assert run_id, log
        name = signal.Signals(sig).name
        if not fired:  # the run ended before the moment came: a complete, normal run
            assert code in (0, 1), (trigger, code, log)
            assert _leftovers(docker_client, run_id) == [], trigger
            continue
        if code in (0, 1) and "cancelled" not in (out / "c.md").read_text():
            # The signal came after the scan's work was done: its verdict stands.
            assert _leftovers(docker_client, run_id) == [], trigger
            continue
        assert code == 3, (trigger, name, code, log)
        assert elapsed < 10, (trigger, name, elapsed)
        sarif = json.loads((out / "c.sarif").read_text())
        notes = [
            n["message"]["text"]
            for n in sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        ]
        assert any(f"cancelled ({name})" in n for n in notes), (trigger, notes)
        assert f"cancelled ({name})" in (out / "c.md").read_text()
        time.sleep(0.5)  # let the engine settle what the killed client had asked for
        assert _leftovers(docker_client, run_id) == [], (trigger, name)
