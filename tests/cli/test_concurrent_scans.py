"""Four scans at once on one engine (a matrix on one self-hosted runner): each builds, scans
with the real trivy, probes and reports on its own, they reach the same findings, and none of
them leaves anything behind or removes what another one made."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import docker
import pytest

from tests.cli.test_cancellation import _leftovers
from tests.support.cli import REPO_ROOT

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("trivy_db_repository")]


def test_four_concurrent_scans_do_not_interfere(
    tmp_path: Path, busybox_image: str, docker_client: docker.DockerClient
) -> None:
    (tmp_path / "Dockerfile").write_text(
        f'FROM {busybox_image}\nENV API_TOKEN=ghp_{"x1Y2z3" * 6}\nCMD ["sleep", "600"]\n'
    )
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    env["HARDENING_HELPER_IMAGE"] = busybox_image
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hardening",
                "scan",
                ".",
                "--scanners",
                "trivy",
                "--trial-grace",
                "1",
                "--sbom",
                "none",
                "--no-pin-lookup",
                "--sarif",
                f"out{i}/s.sarif",
                "--summary",
                f"out{i}/s.md",
            ],  # fmt: skip
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    outcomes = [(p.wait(timeout=300), p.stderr.read() if p.stderr else "") for p in procs]
    run_ids = []
    results = []
    for index, (code, log) in enumerate(outcomes):
        assert code == 1, log  # the secret in ENV fails the gate; nothing failed to run
        run_ids.append(
            next(line for line in log.splitlines() if "] run " in line).rsplit(" ", 1)[1]
        )
        sarif = json.loads((tmp_path / f"out{index}" / "s.sarif").read_text())
        run = sarif["runs"][0]
        assert run["invocations"][0]["executionSuccessful"] is True, log
        results.append(
            sorted(r["partialFingerprints"]["dockerHardeningFinding/v1"] for r in run["results"])
        )
    assert len(set(run_ids)) == 4
    assert all(r == results[0] for r in results)
    for run_id in run_ids:
        assert _leftovers(docker_client, run_id) == []
