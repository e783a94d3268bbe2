"""Build the action as a container image the way a release would, but with no registry:
the project's wheel and its dependencies' wheels are built on the host and installed in a
local Debian base with ``pip install --no-index``. Then run it the way GitHub's runner runs a
Docker container action."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.support.engine import DEBIAN_IMAGE, legacy_docker_cli

REPO_ROOT = Path(__file__).resolve().parents[2]
ACTION_IMAGE = "docker-hardening.test/action:e2e"

DOCKERFILE = f"""\
FROM {DEBIAN_IMAGE}
RUN apt-get update \\
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \\
 && rm -rf /var/lib/apt/lists/*
COPY docker /usr/local/bin/docker
COPY wheels/ /wheels/
RUN python3 -m venv /opt/docker-hardening \\
 && /opt/docker-hardening/bin/pip install --no-index --find-links /wheels docker-hardening \\
 && rm -rf /wheels
COPY entrypoint.py /opt/docker-hardening/entrypoint.py
ENV PATH=/opt/docker-hardening/bin:$PATH PYTHONUNBUFFERED=1
ENTRYPOINT ["/opt/docker-hardening/bin/python", "/opt/docker-hardening/entrypoint.py"]
"""


def build_action_image() -> str:
    with tempfile.TemporaryDirectory(prefix="dh-action-") as tmp:
        ctx = Path(tmp)
        wheels = ctx / "wheels"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "-q",
                "-w",
                str(wheels),
                "-c",
                str(REPO_ROOT / "requirements" / "constraints.txt"),
                str(REPO_ROOT),
            ],
            check=True,
        )
        shutil.copy2(legacy_docker_cli(), ctx / "docker")
        shutil.copy2(REPO_ROOT / "entrypoint.py", ctx / "entrypoint.py")
        (ctx / "Dockerfile").write_text(DOCKERFILE)
        result = subprocess.run(
            [legacy_docker_cli(), "build", "-q", "-t", ACTION_IMAGE, str(ctx)],
            capture_output=True,
            text=True,
            env=dict(os.environ, DOCKER_BUILDKIT="1"),
        )
        if result.returncode != 0:
            raise RuntimeError(f"building the action image failed:\n{result.stderr[-3000:]}")
    return ACTION_IMAGE


@dataclass(frozen=True)
class ActionRun:
    code: int
    stdout: str
    stderr: str
    workspace: Path
    outputs: dict[str, str]
    summary: str


def parse_github_output(text: str) -> dict[str, str]:
    """Read GITHUB_OUTPUT as the runner does: name=value and name<<DELIM ... DELIM."""
    values: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body = []
            for inner in lines:
                if inner == delimiter:
                    break
                body.append(inner)
            values[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
    return values


def run_like_github(
    image: str,
    workspace: Path,
    inputs: Mapping[str, str],
    event: Mapping[str, object],
    runner_temp: Path,
    extra_env: Mapping[str, str] | None = None,
    timeout: float = 900,
) -> ActionRun:
    """``docker run`` as GitHub's runner does for a Docker container action (no --user)."""
    file_commands = runner_temp / "_runner_file_commands"
    workflow = runner_temp / "_github_workflow"
    home = runner_temp / "_github_home"
    for folder in (file_commands, workflow, home):
        folder.mkdir(parents=True, exist_ok=True)
    (workflow / "event.json").write_text(json.dumps(event))
    output_file = file_commands / "set_output_1"
    summary_file = file_commands / "step_summary_1"
    output_file.touch()
    summary_file.touch()
    env = {
        "GITHUB_WORKSPACE": "/github/workspace",
        "GITHUB_EVENT_PATH": "/github/workflow/event.json",
        "GITHUB_OUTPUT": "/github/file_commands/set_output_1",
        "GITHUB_STEP_SUMMARY": "/github/file_commands/step_summary_1",
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "HOME": "/github/home",
        "RUNNER_TEMP": "/github/runner_temp",
        **(extra_env or {}),
    }
    for name, value in inputs.items():
        env[f"INPUT_{name.upper()}"] = value  # dashes kept, as the runner does
    cmd = [
        legacy_docker_cli(),
        "run",
        "--rm",
        "--workdir",
        "/github/workspace",
        "--network",
        "host",
        "-v",
        "/var/run/docker.sock:/var/run/docker.sock",
        "-v",
        f"{runner_temp}:/github/runner_temp",
        "-v",
        f"{home}:/github/home",
        "-v",
        f"{workflow}:/github/workflow",
        "-v",
        f"{file_commands}:/github/file_commands",
        "-v",
        f"{workspace}:/github/workspace",
    ]
    for name, value in env.items():
        cmd += ["-e", f"{name}={value}"]
    cmd.append(image)
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return ActionRun(
        code=result.returncode,
        stdout=result.stdout,
        stderr=result.stderr,
        workspace=workspace,
        outputs=parse_github_output(output_file.read_text()),
        summary=summary_file.read_text(),
    )
