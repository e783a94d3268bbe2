"""Usage errors: one clear line, exit code 2, and nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import run_cli


def test_unknown_option_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("scan", "--no-such-option", cwd=tmp_path)
    assert result.code == 2
    assert "unrecognized arguments: --no-such-option" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_missing_context_is_a_usage_error_and_writes_nothing(tmp_path: Path) -> None:
    result = run_cli("scan", str(tmp_path / "nowhere"), "--sarif", "out.sarif", cwd=tmp_path)
    assert result.code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "build context" in lines[0] and "is not a directory" in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_missing_dockerfile_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "ctx").mkdir()
    result = run_cli("scan", "ctx", "--summary", "s.md", "--sarif", "s.sarif", cwd=tmp_path)
    assert result.code == 2
    assert "Dockerfile" in result.stderr and "does not exist" in result.stderr
    assert "--dockerfile" in result.stderr  # the fix is named
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ctx"]


def test_bad_fail_on_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    result = run_cli("scan", ".", "--fail-on", "severe", cwd=tmp_path)
    assert result.code == 2
    assert "fail-on must be one of" in result.stderr


def test_unknown_scanner_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    result = run_cli("scan", ".", "--scanners", "trivy,clair", cwd=tmp_path)
    assert result.code == 2
    assert "unknown scanner 'clair'" in result.stderr


def test_build_secret_from_unset_env_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    result = run_cli("scan", ".", "--secret", "id=token,env=DH_TEST_UNSET_VARIABLE", cwd=tmp_path)
    assert result.code == 2
    assert "DH_TEST_UNSET_VARIABLE is not set" in result.stderr


def test_unknown_rule_is_a_usage_error() -> None:
    result = run_cli("rules", "DH-NOPE")
    assert result.code == 2
    assert "no rule 'DH-NOPE'" in result.stderr


@pytest.mark.parametrize("value", ["0", "-1", "inf", "nan", "soon"])
def test_timeouts_must_be_positive_and_finite(tmp_path: Path, value: str) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    for flag in ("--scanner-timeout", "--db-timeout", "--db-max-age"):
        result = run_cli("scan", ".", flag, value, cwd=tmp_path)
        assert result.code == 2, (flag, result.output)
        assert flag in result.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == ["Dockerfile"]
