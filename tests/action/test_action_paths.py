"""Every path the action reads or writes stays inside the workspace (or RUNNER_TEMP): a pull
request cannot point an input, a symlink or a VEX glob at the rest of the runner."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from hardening import action
from hardening.errors import UsageError
from hardening.policy.vex import load_vex

PATH_INPUTS = (
    "sarif-file", "summary-file", "db-cache-dir", "config-file", "compose-file", "dockerfile",
    "context",
)  # fmt: skip


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "workspace"
    root.mkdir()
    (root / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "outside").mkdir()
    return root


def _env(workspace: Path, **inputs: str) -> dict[str, str]:
    env = {"GITHUB_WORKSPACE": str(workspace)}
    env.update({f"INPUT_{name.upper()}": value for name, value in inputs.items()})
    return env


def _refused(env: dict[str, str], name: str) -> UsageError:
    with pytest.raises(UsageError) as error:
        action.request_from_inputs(env)
    assert error.value.message.startswith(f"input {name}:"), error.value.message
    assert "outside the workspace" in error.value.message
    assert f"set {name} to a path inside the repository checkout" in error.value.fix
    return error.value


@pytest.mark.parametrize("name", PATH_INPUTS)
@pytest.mark.parametrize("escape", ["../outside/x", "app/../../outside/x", "ABSOLUTE"])
def test_a_path_input_outside_the_workspace_is_refused(
    workspace: Path, name: str, escape: str
) -> None:
    value = str(workspace.parent / "outside" / "x") if escape == "ABSOLUTE" else escape
    _refused(_env(workspace, **{name: value}), name)


def test_a_symlink_out_of_the_workspace_is_followed_and_refused(workspace: Path) -> None:
    outside = workspace.parent / "outside"
    (workspace / "reports").symlink_to(outside, target_is_directory=True)
    (workspace / "out.sarif").symlink_to(outside / "stolen.sarif")  # dangling: still outside
    _refused(_env(workspace, **{"sarif-file": "reports/x.sarif"}), "sarif-file")
    _refused(_env(workspace, **{"sarif-file": "out.sarif"}), "sarif-file")
    (outside / "Dockerfile").write_text("FROM scratch\n")
    (workspace / "app").symlink_to(outside, target_is_directory=True)
    _refused(_env(workspace, context="app"), "context")
    (workspace / ".hardening.yml").symlink_to(outside / "policy.yml")
    _refused(_env(workspace), "config-file")  # the default file, too
    assert not list(outside.glob("*.sarif"))


def test_the_sbom_beside_the_sarif_file_is_confined_too(workspace: Path) -> None:
    outside = workspace.parent / "outside"
    (workspace / "docker-hardening.cdx.json").symlink_to(outside / "sbom.json")
    with pytest.raises(UsageError, match="SBOM"):
        action.request_from_inputs(_env(workspace))
    request = action.request_from_inputs(_env(workspace, sbom="none"))
    assert request.sbom_path is None


def test_paths_inside_the_workspace_and_runner_temp_are_kept(workspace: Path) -> None:
    temp = workspace.parent / "runner-temp"
    temp.mkdir()
    env = _env(
        workspace, **{"sarif-file": "out/scan.sarif", "summary-file": str(temp / "report.md")}
    )
    _refused(env, "summary-file")  # RUNNER_TEMP is only allowed when the runner names it
    env["RUNNER_TEMP"] = str(temp)
    env["INPUT_DB-CACHE-DIR"] = str(temp / "cache")
    request = action.request_from_inputs(env)
    assert request.sarif_path == workspace.resolve() / "out" / "scan.sarif"
    assert request.sbom_path == workspace.resolve() / "out" / "scan.cdx.json"
    assert request.summary_path == temp.resolve() / "report.md"
    assert request.db_cache_dir == temp.resolve() / "cache"


def test_the_action_exits_2_naming_the_input_and_writes_nothing(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sorted(os.listdir(workspace))
    code = action.main(_env(workspace, **{"sarif-file": "../outside/x.sarif"}))
    assert code == 2
    errors = [line for line in capsys.readouterr().out.splitlines() if line.startswith("::error")]
    assert len(errors) == 1 and "input sarif-file" in errors[0]
    assert sorted(os.listdir(workspace)) == before


# --- VEX globs named in the policy file -------------------------------------------------------


def _openvex(path: Path) -> None:
    path.write_text(
        json.dumps(
            {
                "@context": "https://openvex.dev/ns/v0.2.0",
                "statements": [{"vulnerability": {"name": "CVE-1"}, "status": "fixed"}],
            }
        )
    )


@pytest.mark.parametrize("pattern", ["../outside/*.json", "OUTSIDE/*.json", "linked/*.json"])
def test_a_vex_glob_cannot_read_outside_the_workspace(workspace: Path, pattern: str) -> None:
    outside = workspace.parent / "outside"
    _openvex(outside / "a.json")
    (workspace / "linked").symlink_to(outside, target_is_directory=True)
    pattern = pattern.replace("OUTSIDE", str(outside))
    with pytest.raises(UsageError, match="outside the workspace"):
        load_vex((pattern,), workspace)
    (workspace / ".vex").mkdir()
    (workspace / ".vex" / "mine.json").symlink_to(outside / "a.json")
    with pytest.raises(UsageError, match="outside the workspace"):
        load_vex((".vex/*.json",), workspace)


def test_a_vex_glob_inside_the_workspace_still_reads(workspace: Path) -> None:
    (workspace / ".vex").mkdir()
    _openvex(workspace / ".vex" / "a.json")
    assert [s.status for s in load_vex((".vex/*.json",), workspace)] == ["fixed"]
