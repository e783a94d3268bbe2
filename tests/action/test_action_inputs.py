"""action.yml and the code agree: every declared input is read, every read input declared."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from hardening import action
from hardening.errors import UsageError
from hardening.model import Kind, Severity
from tests.support.cli import REPO_ROOT


def _declared() -> dict[str, dict[str, str]]:
    document = YAML(typ="safe").load((REPO_ROOT / "action.yml").read_text())
    return dict(document["inputs"])


def test_declared_inputs_and_defaults_match_the_code() -> None:
    declared = _declared()
    assert set(declared) == set(action.INPUT_DEFAULTS)
    for name, spec in declared.items():
        if name == "github-token":
            continue  # the runner fills ${{ github.token }}; the code sees the value
        assert str(spec.get("default", "")) == action.INPUT_DEFAULTS[name], name
        assert spec.get("description"), name


def test_every_declared_input_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    read: list[str] = []
    original = action.Inputs.get

    def spy(self: action.Inputs, name: str) -> str:
        read.append(name)
        return original(self, name)

    monkeypatch.setattr(action.Inputs, "get", spy)
    env = {"GITHUB_WORKSPACE": str(tmp_path), "INPUT_GITHUB-TOKEN": "t"}
    action.request_from_inputs(env)
    action.Inputs(env).get("github-token")  # read by main() for masking and publishing
    assert set(_declared()) <= set(read)


def test_inputs_arrive_as_github_passes_them(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text("FROM scratch\n")
    env = {
        "GITHUB_WORKSPACE": str(tmp_path),
        "INPUT_CONTEXT": "app",
        "INPUT_FAIL-ON": "critical",  # dashes kept, as the runner does
        "INPUT_FAIL_ON_KINDS": "vulnerability, secret",  # underscore spelling accepted too
        "INPUT_BUILD-ARGS": "A=1\nB=two words",
        "INPUT_IGNORE-UNFIXED": "true",
        "INPUT_TRIAL-GRACE-PERIOD": "2.5",
    }
    request = action.request_from_inputs(env)
    assert request.context == (tmp_path / "app").resolve()
    assert request.dockerfile == (tmp_path / "app" / "Dockerfile").resolve()
    assert request.fail_on is Severity.CRITICAL
    assert request.fail_on_kinds == {Kind.VULNERABILITY, Kind.SECRET}
    assert request.build_args == (("A", "1"), ("B", "two words"))
    assert request.ignore_unfixed is True
    assert request.trial_grace_s == 2.5
    assert request.scanners_explicit is True  # the action always asks for both by name
    assert request.automation_category == "docker-hardening/app/Dockerfile/"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("INPUT_FAIL-ON", "urgent", "fail-on must be one of"),
        ("INPUT_PROBES", "maybe", "input probes must be true or false"),
        ("INPUT_TRIAL-GRACE-PERIOD", "soon", "must be a number"),
        ("INPUT_SCANNERS", "snyk", "unknown scanner"),
        ("INPUT_SCANNER-TIMEOUT", "0", "positive, finite"),
        ("INPUT_SCANNER-TIMEOUT", "inf", "positive, finite"),
        ("INPUT_SCANNER-TIMEOUT", "nan", "positive, finite"),
        ("INPUT_DB-TIMEOUT", "-5", "positive, finite"),
        ("INPUT_DB-MAX-AGE", "soon", "must be a number"),
    ],
)
def test_bad_inputs_are_usage_errors(tmp_path: Path, name: str, value: str, message: str) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    with pytest.raises(UsageError) as error:
        action.request_from_inputs({"GITHUB_WORKSPACE": str(tmp_path), name: value})
    assert message in error.value.one_line()


def test_usage_error_in_the_action_prints_one_error_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = tmp_path / "summary.md"
    code = action.main(
        {
            "GITHUB_WORKSPACE": str(tmp_path),
            "GITHUB_STEP_SUMMARY": str(summary),
            "INPUT_CONTEXT": "missing",
        }
    )
    assert code == 2
    out = capsys.readouterr().out
    errors = [line for line in out.splitlines() if line.startswith("::error")]
    assert len(errors) == 1 and "is not a directory" in errors[0]
    assert "could not run" in summary.read_text()


def test_readme_inputs_table_is_current() -> None:
    from hardening.action_docs import render

    readme = (REPO_ROOT / "README.md").read_text()
    assert readme == render(readme, (REPO_ROOT / "action.yml").read_text()), (
        "README's inputs/outputs tables are stale: run `python -m hardening.action_docs`"
    )


@pytest.mark.parametrize(
    ("given", "variable", "expected", "source"),
    [
        (
            "",
            "",
            ("mirror.gcr.io/aquasec/trivy-db:2", "ghcr.io/aquasecurity/trivy-db:2"),
            "default",
        ),
        ("", "env.example/trivy-db:2", ("env.example/trivy-db:2",), "TRIVY_DB_REPOSITORY"),
        (
            "a.example/db:2\nb.example/db:2",
            "env.example/trivy-db:2",
            ("a.example/db:2", "b.example/db:2"),
            "input",
        ),
    ],
)
def test_trivy_db_repository_input_beats_the_variable_which_beats_the_defaults(
    tmp_path: Path, given: str, variable: str, expected: tuple[str, ...], source: str
) -> None:
    from hardening.scanners.trivy import settings as trivy_settings

    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    env = {"GITHUB_WORKSPACE": str(tmp_path), "INPUT_TRIVY-DB-REPOSITORY": given}
    if variable:
        env["TRIVY_DB_REPOSITORY"] = variable
    request = action.request_from_inputs(env)
    assert trivy_settings(request).db_repositories == expected
    assert dict(request.settings_source)["trivy-db-repository"] == source


def test_a_pull_request_is_compared_with_its_base_commit_by_default(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    event = tmp_path / "event.json"
    event.write_text('{"pull_request": {"number": 3, "base": {"sha": "abc123"}}}')
    env = {"GITHUB_WORKSPACE": str(tmp_path), "GITHUB_EVENT_PATH": str(event)}
    assert action.request_from_inputs(env).compare_with == "abc123"
    assert action.request_from_inputs({**env, "INPUT_COMPARE-BASE": "false"}).compare_with == ""
    assert action.request_from_inputs({"GITHUB_WORKSPACE": str(tmp_path)}).compare_with == ""
    scoped = action.request_from_inputs({**env, "INPUT_FAIL-ON-SCOPE": "new"})
    assert (
        scoped.settings.fail_on_scope == "new"
        and scoped.settings.source("fail-on-scope") == "input"
    )
    with pytest.raises(UsageError):
        action.request_from_inputs({**env, "INPUT_FAIL-ON-SCOPE": "some"})


def test_the_baseline_new_only_setting_is_the_new_scope(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "old.sarif").write_text('{"version": "2.1.0", "runs": []}')
    (tmp_path / ".hardening.yml").write_text("baseline:\n  sarif: old.sarif\n  new-only: true\n")
    request = action.request_from_inputs({"GITHUB_WORKSPACE": str(tmp_path)})
    assert request.settings.fail_on_scope == "new"
    (tmp_path / ".hardening.yml").write_text("fail-on-scope: new\n")
    assert (
        action.request_from_inputs({"GITHUB_WORKSPACE": str(tmp_path)}).settings.fail_on_scope
        == "new"
    )
