"""The action as GitHub runs it: its own container, /github/workspace mounted, the Docker
socket mounted, INPUT_* and GITHUB_* in the environment, a pull_request event."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import docker
import pytest

from tests.support.action_image import build_action_image, run_like_github
from tests.support.cli import REPO_ROOT
from tests.support.engine import DEBIAN_IMAGE

pytestmark = pytest.mark.docker

PR_EVENT = {
    "action": "synchronize",
    "number": 7,
    "pull_request": {
        "number": 7,
        "head": {"sha": "a" * 40, "repo": {"full_name": "octo/app"}},
        "base": {"sha": "b" * 40, "repo": {"full_name": "octo/app"}},
    },
    "repository": {"full_name": "octo/app"},
}


@pytest.fixture(scope="module")
def action_image(debian_image: str) -> str:
    return build_action_image()


def _workspace(tmp_path: Path) -> Path:
    workspace = tmp_path / "workspace"
    shutil.copytree(REPO_ROOT / "examples", workspace / "examples")
    return workspace


def test_insecure_example_fails_the_gate_with_outputs_summary_and_sarif(
    action_image: str, tmp_path: Path, shared: Path, docker_client: docker.DockerClient
) -> None:
    workspace = _workspace(tmp_path)
    run = run_like_github(
        action_image,
        workspace,
        {
            "context": "examples/insecure",
            "build-args": f"BASE_IMAGE={DEBIAN_IMAGE}",
            "scanners": "trivy,grype",
            "trial-grace-period": "1",
            "comment": "false",
            "sarif-file": "reports/insecure.sarif",
        },
        PR_EVENT,
        tmp_path / "runner_temp",
        extra_env={"GITHUB_EVENT_NAME": "pull_request", "GITHUB_REPOSITORY": "octo/app"},
    )
    # Trivy and Grype are not in this test image, and the action always asks for both by name:
    # a tool failure (3), never confused with "findings found" (1) or "passed" (0).
    assert run.code == 3, run.stdout + run.stderr
    assert run.outputs["passed"] == "false"
    sarif_path = workspace / "reports" / "insecure.sarif"
    assert run.outputs["sarif-file"].endswith("reports/insecure.sarif")
    assert sarif_path.is_file()
    # Files the action writes are readable by the runner's own (non-root) user.
    assert sarif_path.stat().st_mode & stat.S_IROTH
    document = json.loads(sarif_path.read_text())
    import jsonschema

    schema = json.loads((shared / "schemas" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(document)
    run0 = document["runs"][0]
    assert run0["automationDetails"]["id"] == "docker-hardening/examples/insecure/Dockerfile/"
    notes = [n["message"]["text"] for n in run0["invocations"][0]["toolExecutionNotifications"]]
    assert any("trivy" in n for n in notes) and any("grype" in n for n in notes)
    assert int(run.outputs["high"]) >= 1
    assert run.outputs["image-id"].startswith("sha256:")
    assert "docker-hardening" in run.summary
    assert "correct-horse-battery-staple" not in run.stdout + run.stderr + run.summary
    assert "::error" in run.stdout  # workflow-command annotations for the worst findings


def test_usage_error_in_the_container_is_exit_2_with_one_error_line(
    action_image: str, tmp_path: Path
) -> None:
    workspace = _workspace(tmp_path)
    run = run_like_github(
        action_image,
        workspace,
        {"context": "examples/missing"},
        PR_EVENT,
        tmp_path / "runner_temp",
    )
    assert run.code == 2
    errors = [line for line in run.stdout.splitlines() if line.startswith("::error")]
    assert len(errors) == 1 and "is not a directory" in errors[0]
    assert not (workspace / "docker-hardening.sarif").exists()
