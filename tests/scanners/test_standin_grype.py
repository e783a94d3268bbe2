"""The Grype stand-in holds the product to the real CLI of the pinned grype: it refuses what
grype refuses and accepts the command line the product builds."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, shared_dir

STANDIN = REPO_ROOT / "tests" / "standins" / "grype"
FIXTURE = shared_dir() / "fixtures" / "scanners" / "grype-nginx-latest-msusel-v0.62.3.json"


def _grype(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STANDIN_")}
    env["STANDIN_FIXTURE"] = str(FIXTURE)
    return subprocess.run(
        [str(STANDIN), *argv], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=30
    )


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    path = tmp_path / "image.tar"
    path.write_bytes(b"only its existence is checked by the stand-in")
    return path


def test_accepts_the_products_command_line_and_replays_the_report(
    tmp_path: Path, archive: Path
) -> None:
    # The argv that hardening.scanners.grype.command builds, written out by hand.
    report = tmp_path / "grype.json"
    done = _grype(
        tmp_path, f"docker-archive:{archive}", "-o", "json", "--file", str(report), "--quiet"
    )
    assert done.returncode == 0, done.stderr
    assert report.read_bytes() == FIXTURE.read_bytes()


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (("--no-such-flag",), "unknown flag: --no-such-flag"),
        (("--file",), "flag needs an argument: --file"),
        (("--file", "grype.json", "-o"), "flag needs an argument: 'o' in -o"),
    ],
)
def test_refuses_an_unknown_flag_and_a_value_flag_without_its_value(
    tmp_path: Path, archive: Path, argv: tuple[str, ...], error: str
) -> None:
    command = [f"docker-archive:{archive}", "-o", "json", "--file", "grype.json", *argv]
    done = _grype(tmp_path, *command)
    assert done.returncode == 1
    assert error in done.stderr
    assert not (tmp_path / "grype.json").exists()


def test_version_json_is_that_of_the_grype_the_image_pins(tmp_path: Path) -> None:
    pinned = re.search(r"^ARG GRYPE_VERSION=(\S+)$", (REPO_ROOT / "Dockerfile").read_text(), re.M)
    assert pinned
    done = _grype(tmp_path, "version", "-o", "json")
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["application"] == "grype" and info["version"] == pinned.group(1)
    assert info["gitDescription"] == f"v{pinned.group(1)}" and info["supportedDbSchema"] == 6
