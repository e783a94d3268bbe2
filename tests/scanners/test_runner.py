"""The process boundary: real subprocesses of stand-in `trivy`/`grype` that replay recorded
reports and reject any flag the pinned real CLI does not accept."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from hardening.model import RunStatus
from hardening.request import ScanRequest
from hardening.scanners import runner
from tests.conftest import shared_dir

STANDINS = Path(__file__).resolve().parents[1] / "standins"
FIXTURES = shared_dir() / "fixtures" / "scanners"
TRIVY_NGINX = FIXTURES / "trivy-nginx-latest-msusel-2023.json"
GRYPE_NGINX = FIXTURES / "grype-nginx-latest-msusel-v0.62.3.json"


@pytest.fixture
def standins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Both stand-ins on PATH, one fixture each, invocations logged."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool, fixture in (("trivy", TRIVY_NGINX), ("grype", GRYPE_NGINX)):
        script = bin_dir / tool
        script.write_text(
            "#!/bin/sh\n"
            f'STANDIN_FIXTURE="${{STANDIN_FIXTURE_{tool.upper()}:-{fixture}}}" '
            f'exec "{STANDINS / tool}" "$@"\n'
        )
        script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("STANDIN_LOG", str(tmp_path / "calls.jsonl"))
    monkeypatch.setattr(runner, "BACKOFF_S", 0.05)
    return tmp_path


def _request(tmp_path: Path, **kwargs: object) -> ScanRequest:
    return ScanRequest(workspace=tmp_path, scanners_explicit=True, **kwargs)  # type: ignore[arg-type]


def _archive(tmp_path: Path) -> Path:
    archive = tmp_path / "image.tar"
    archive.write_bytes(b"not read by the stand-ins beyond its existence")
    return archive


def _calls(tmp_path: Path) -> list[dict[str, object]]:
    path = tmp_path / "calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_both_run_on_the_same_archive_with_accepted_flags(standins: Path) -> None:
    work = standins / "work"
    work.mkdir()
    archive = _archive(standins)
    outcomes = runner.run_scanners(_request(standins, db_cache_dir=standins / "db"), archive, work)
    assert [o.run.name for o in outcomes] == ["trivy", "grype"]
    assert all(o.run.status is RunStatus.OK for o in outcomes), [o.run for o in outcomes]
    assert {o.run.version for o in outcomes} == {"0.58.2", "0.86.1"}
    assert len(outcomes[0].findings) == 76 and len(outcomes[1].findings) == 77
    scans = {c["tool"]: c["argv"] for c in _calls(standins) if c["argv"][0] != "version"}  # type: ignore[index]
    assert f"docker-archive:{archive}" in scans["grype"]  # type: ignore[operator]
    assert ["--input", str(archive)] == scans["trivy"][1:3]  # type: ignore[index]
    assert (standins / "db" / "trivy").is_dir() and (standins / "db" / "grype").is_dir()


def test_scanners_run_concurrently(standins: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STANDIN_SLEEP", "1.5")
    started = time.monotonic()
    outcomes = runner.run_scanners(_request(standins), _archive(standins), standins)
    elapsed = time.monotonic() - started
    assert all(o.run.status is RunStatus.OK for o in outcomes)
    assert elapsed < 2.8, f"took {elapsed:.1f}s: the scanners did not overlap"


def test_one_failing_keeps_the_others_findings(
    standins: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STANDIN_FIXTURE_GRYPE", str(standins / "missing.json"))
    trivy, grype = runner.run_scanners(_request(standins), _archive(standins), standins)
    assert trivy.run.status is RunStatus.OK and len(trivy.findings) == 76
    assert grype.run.status is RunStatus.FAILED and grype.findings == ()
    assert "grype" in grype.notifications[0].message


def test_timeout_is_a_failure_with_the_reason(
    standins: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STANDIN_SLEEP", "5")
    started = time.monotonic()
    outcomes = runner.run_scanners(
        _request(standins, scanner_timeout_s=1.0), _archive(standins), standins
    )
    assert time.monotonic() - started < 4
    for outcome in outcomes:
        assert outcome.run.status is RunStatus.FAILED
        assert "did not finish within 1s" in outcome.run.reason


def test_garbage_output_is_a_failure_never_zero_findings(
    standins: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STANDIN_GARBAGE", "<html>proxy error</html>")
    for outcome in runner.run_scanners(_request(standins), _archive(standins), standins):
        assert outcome.run.status is RunStatus.FAILED
        assert "not JSON" in outcome.run.reason


def test_wrong_tools_json_is_a_failure(standins: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STANDIN_FIXTURE_TRIVY", str(GRYPE_NGINX))
    trivy = runner.run_scanners(
        _request(standins, scanners=("trivy",)), _archive(standins), standins
    )[0]
    assert trivy.run.status is RunStatus.FAILED
    assert "not Trivy's report format" in trivy.run.reason


def test_rate_limit_is_retried_then_succeeds(
    standins: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STANDIN_FAIL_TIMES", "1")
    monkeypatch.setenv("STANDIN_STATE", str(standins / "state"))
    monkeypatch.setenv("STANDIN_STDERR", "FATAL: db download error: TOOMANYREQUESTS: retry later")
    trivy = runner.run_scanners(
        _request(standins, scanners=("trivy",)), _archive(standins), standins
    )[0]
    assert trivy.run.status is RunStatus.OK
    assert any("retrying" in n.message for n in trivy.notifications)


def test_persistent_db_failure_is_reported_as_such(
    standins: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STANDIN_FAIL_TIMES", "99")
    monkeypatch.setenv("STANDIN_STATE", str(standins / "state"))
    monkeypatch.setenv("STANDIN_STDERR", "FATAL: failed to download vulnerability DB: i/o timeout")
    trivy = runner.run_scanners(
        _request(standins, scanners=("trivy",)), _archive(standins), standins
    )[0]
    assert trivy.run.status is RunStatus.FAILED
    assert "database could not be fetched" in trivy.run.reason
    assert int((standins / "state").read_text()) == runner.ATTEMPTS


def test_user_flags_reach_the_scanner_and_are_checked(standins: Path) -> None:
    request = _request(
        standins, scanners=("trivy",), scanner_extra_args=(("trivy", ("--no-such-flag",)),)
    )
    trivy = runner.run_scanners(request, _archive(standins), standins)[0]
    assert trivy.run.status is RunStatus.FAILED
    assert "unknown flag: --no-such-flag" in trivy.run.reason


def test_missing_scanner_explicit_fails_implicit_skips(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    archive = _archive(tmp_path)
    explicit = runner.run_scanners(_request(tmp_path), archive, tmp_path)
    assert all(o.run.status is RunStatus.FAILED for o in explicit)
    assert "is not installed" in explicit[0].run.reason
    implicit = runner.run_scanners(
        ScanRequest(workspace=tmp_path, scanners_explicit=False), archive, tmp_path
    )
    assert all(o.run.status is RunStatus.SKIPPED for o in implicit)
    assert all(n.level == "warning" for o in implicit for n in o.notifications)
