"""The action metadata and the workflows pass GitHub's schemas and zizmor, and third-party
actions are pinned by full commit SHA."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.support.cli import REPO_ROOT

BIN = Path(sys.executable).parent
WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)


def test_action_yml_matches_githubs_action_schema() -> None:
    result = _run(
        str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-actions", "action.yml"
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflows_match_githubs_workflow_schema() -> None:
    assert WORKFLOWS, "expected workflow files"
    result = _run(
        str(BIN / "check-jsonschema"),
        "--builtin-schema",
        "vendor.github-workflows",
        *map(str, WORKFLOWS),
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_reports_nothing() -> None:
    result = _run(str(BIN / "zizmor"), "--offline", ".github/workflows", "action.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


def test_third_party_actions_are_pinned_by_full_sha() -> None:
    uses = re.compile(r"^\s*(?:-\s*)?uses:\s*([^\s#]+)", re.MULTILINE)
    for workflow in WORKFLOWS:
        for ref in uses.findall(workflow.read_text()):
            if ref.startswith("./"):
                continue
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), f"{workflow.name}: {ref}"
