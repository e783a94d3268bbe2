"""The scanner boundary with the REAL trivy (and the Grype stand-in, since no Grype installs).

Trivy runs for real on a real image archive, with a vulnerability database written offline
in its real format (tests/support/trivy_db.py) and served by real or faulty registries on
127.0.0.1. Faults the real binary cannot produce on demand (a crash, a hang, a garbage report)
go through tests/standins/trivy_faults.py, a wrapper around the real binary.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hardening.model import FixStatus, Kind, RunStatus, Severity
from hardening.request import ScanRequest
from hardening.scanners import runner
from tests.conftest import shared_dir
from tests.scanners.conftest import FAKE_TOKEN
from tests.support import fault_registry, trivy_db
from tests.support.registry import serve_registry

pytestmark = pytest.mark.docker

STANDINS = Path(__file__).resolve().parents[1] / "standins"
FIXTURES = shared_dir() / "fixtures" / "scanners"
GRYPE_NGINX = FIXTURES / "grype-nginx-latest-msusel-v0.62.3.json"
REFUSED = "127.0.0.1:9/aquasec/trivy-db:2"  # the discard port: nothing listens there


@pytest.fixture
def tools(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """`trivy` (the real one behind the fault wrapper) and the `grype` stand-in on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "trivy").symlink_to(STANDINS / "trivy_faults.py")
    grype = bin_dir / "grype"
    grype.write_text(
        "#!/bin/sh\n"
        f'STANDIN_FIXTURE="${{STANDIN_FIXTURE_GRYPE:-{GRYPE_NGINX}}}" exec "{STANDINS / "grype"}" "$@"\n'
    )
    grype.chmod(0o755)
    monkeypatch.setenv("FAULTS_TRIVY_REAL", trivy_db.trivy_binary())
    monkeypatch.setenv("FAULTS_TRIVY_LOG", str(tmp_path / "trivy-calls.jsonl"))
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("HARDENING_RETRY_BACKOFF", "0.2")
    return tmp_path


@pytest.fixture(scope="module")
def db_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real registry holding the test database as aquasec/trivy-db:2."""
    folder = tmp_path_factory.mktemp("registry")
    cache = tmp_path_factory.mktemp("db-source")
    trivy_db.write_db(cache)
    serving = serve_registry(folder)
    address = next(serving)
    trivy_db.push_db(address, "aquasec/trivy-db", "2", cache / "db")
    yield f"{address}/aquasec/trivy-db:2"
    serving.close()


def _request(tmp_path: Path, **kwargs: object) -> ScanRequest:
    defaults: dict[str, object] = {
        "scanners": ("trivy",),
        "db_cache_dir": tmp_path / "cache",
        "trivy_db_repositories": (REFUSED,),
        "db_timeout_s": 20.0,
    }
    defaults.update(kwargs)
    return ScanRequest(workspace=tmp_path, scanners_explicit=True, **defaults)  # type: ignore[arg-type]


def _fresh_db(tmp_path: Path) -> None:
    trivy_db.write_db(tmp_path / "cache" / "trivy")


def _trivy(request: ScanRequest, archive: Path, tmp_path: Path) -> runner.ScannerOutcome:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return runner.run_scanners(request, archive, work)[0]


def _ids(outcome: runner.ScannerOutcome, kind: Kind) -> set[str]:
    return {f.rule_id for f in outcome.findings if f.kind is kind}


def _calls(tmp_path: Path) -> list[list[str]]:
    path = tmp_path / "trivy-calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_real_trivy_with_a_cached_database_reports_its_advisories(
    tools: Path, secret_debian_archive: Path
) -> None:
    _fresh_db(tools)
    outcome = _trivy(_request(tools), secret_debian_archive, tools)
    assert outcome.run.status is RunStatus.OK, outcome.run.reason
    assert outcome.run.version == "0.76.0"
    vulns = {f.rule_id: f for f in outcome.findings if f.kind is Kind.VULNERABILITY}
    assert {"CVE-2005-2541", "CVE-2016-2781", "CVE-2023-45853", "CVE-2025-4802"} <= set(vulns)
    assert "CVE-2023-47038" not in vulns  # fixed below the installed perl
    tar = vulns["CVE-2005-2541"]
    assert tar.severity is Severity.LOW and tar.severity_source == "debian"
    assert tar.security_severity is not None and 0.1 <= tar.security_severity <= 3.9
    assert any(c.source == "nvd" and c.score == 10.0 for c in tar.cvss)
    assert vulns["CVE-2023-45853"].fix_status is FixStatus.WILL_NOT_FIX
    assert vulns["CVE-2025-4802"].fix_status is FixStatus.FIXED
    assert vulns["CVE-2016-2781"].fix_status is FixStatus.AFFECTED
    secrets = [f for f in outcome.findings if f.kind is Kind.SECRET]
    assert {f.property("env-name") for f in secrets} >= {"GITHUB_TOKEN"}
    assert any(f.location.image_path == "/app/key.pem" for f in secrets)


def test_product_flags_pin_everything_that_shapes_trivys_output(
    tools: Path, secret_debian_archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """trivy.yaml, .trivyignore and TRIVY_* variables must not act behind the product's back."""
    _fresh_db(tools)
    cwd = tools / "user-repo"
    cwd.mkdir()
    (cwd / "trivy.yaml").write_text("severity:\n  - CRITICAL\nexit-code: 1\n")
    (cwd / ".trivyignore").write_text("CVE-2005-2541\nCVE-2016-2781\n")
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("TRIVY_EXIT_CODE", "1")
    monkeypatch.setenv("TRIVY_SEVERITY", "CRITICAL")
    monkeypatch.setenv("TRIVY_IGNORE_UNFIXED", "true")
    monkeypatch.setenv("TRIVY_SCANNERS", "vuln")
    outcome = _trivy(_request(tools), secret_debian_archive, tools)
    assert outcome.run.status is RunStatus.OK, outcome.run.reason
    assert {"CVE-2005-2541", "CVE-2016-2781"} <= _ids(outcome, Kind.VULNERABILITY)
    assert _ids(outcome, Kind.SECRET)
    scan = next(c for c in _calls(tools) if "--input" in c)
    for flag in ("--exit-code", "--config", "--ignorefile", "--severity", "--skip-db-update"):
        assert flag in scan


def test_database_unreachable_fails_fast_names_the_database_and_keeps_secrets(
    tools: Path, secret_debian_archive: Path
) -> None:
    with fault_registry.manifests_404() as missing:
        request = _request(
            tools,
            trivy_db_repositories=(REFUSED, f"{missing}/aquasec/trivy-db:2", "nx.invalid/db:2"),
        )
        started = time.monotonic()
        outcome = _trivy(request, secret_debian_archive, tools)
    assert time.monotonic() - started < 15
    assert outcome.run.status is RunStatus.FAILED
    assert "vulnerability database" in outcome.run.reason
    assert "connection was refused" in outcome.run.reason and "404" in outcome.run.reason
    assert not any("retrying" in n.message for n in outcome.notifications)
    assert _ids(outcome, Kind.SECRET) and not _ids(outcome, Kind.VULNERABILITY)
    # Every repository was tried, each on its own: permanent errors move on at once.
    downloads = [c for c in _calls(tools) if "--download-db-only" in c]
    assert len(downloads) == 3


def test_next_repository_after_a_permanent_error(
    tools: Path, secret_debian_archive: Path, db_registry: str
) -> None:
    outcome = _trivy(
        _request(tools, trivy_db_repositories=(REFUSED, db_registry)), secret_debian_archive, tools
    )
    assert outcome.run.status is RunStatus.OK, outcome.run.reason
    assert "CVE-2005-2541" in _ids(outcome, Kind.VULNERABILITY)


def test_rate_limit_is_retried_with_short_waits(
    tools: Path, secret_debian_archive: Path, db_registry: str
) -> None:
    upstream = db_registry.split("/", 1)[0]
    with fault_registry.rate_limited(upstream, failures=3) as limited:
        repository = f"{limited}/aquasec/trivy-db:2"
        outcome = _trivy(
            _request(tools, trivy_db_repositories=(repository,)), secret_debian_archive, tools
        )
    assert outcome.run.status is RunStatus.OK, outcome.run.reason
    assert any("retrying" in n.message for n in outcome.notifications)


def test_a_hanging_registry_is_bounded_and_named(tools: Path, secret_debian_archive: Path) -> None:
    with fault_registry.never_answers() as silent:
        request = _request(
            tools, trivy_db_repositories=(f"{silent}/aquasec/trivy-db:2",), db_timeout_s=3.0
        )
        started = time.monotonic()
        outcome = _trivy(request, secret_debian_archive, tools)
    assert time.monotonic() - started < 25  # bounded: unbounded, it hangs for minutes
    assert outcome.run.status is RunStatus.FAILED
    assert "database download hung" in outcome.run.reason
    assert "scanner timeout" not in outcome.run.reason
    assert _ids(outcome, Kind.SECRET)


def test_stale_cache_is_used_with_its_age_when_no_repository_answers(
    tools: Path, secret_debian_archive: Path
) -> None:
    trivy_db.write_stale_db(tools / "cache" / "trivy", age_days=3)
    outcome = _trivy(_request(tools), secret_debian_archive, tools)
    assert outcome.run.status is RunStatus.OK, outcome.run.reason
    assert "CVE-2005-2541" in _ids(outcome, Kind.VULNERABILITY)
    warning = next(n.message for n in outcome.notifications if "cached database" in n.message)
    assert "days ago" in warning
    too_old = _trivy(_request(tools, db_max_age_s=86400.0), secret_debian_archive, tools)
    assert too_old.run.status is RunStatus.FAILED
    assert "older than the maximum" in too_old.run.reason
    assert _ids(too_old, Kind.SECRET)


def test_a_crash_is_named_as_a_signal(
    tools: Path, secret_debian_archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fresh_db(tools)
    monkeypatch.setenv("FAULTS_TRIVY", "crash")
    outcome = _trivy(_request(tools), secret_debian_archive, tools)
    assert outcome.run.status is RunStatus.FAILED
    assert "killed by signal SIGSEGV" in outcome.run.reason


def test_a_hang_is_bounded_by_the_scanner_timeout(
    tools: Path, secret_debian_archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fresh_db(tools)
    monkeypatch.setenv("FAULTS_TRIVY", "hang")
    started = time.monotonic()
    outcome = _trivy(_request(tools, scanner_timeout_s=1.0), secret_debian_archive, tools)
    assert time.monotonic() - started < 6
    assert outcome.run.status is RunStatus.FAILED
    assert "did not finish within 1s" in outcome.run.reason


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("<html>proxy error</html>", "not JSON"),
        ('{"matches": [], "descriptor": {"name": "grype"}}', "not Trivy's report format"),
        ('{"SchemaVersion": 2, "ArtifactName": "x", "Results": 5}', "cannot read"),
    ],
)
def test_a_bad_report_is_a_failure_never_zero_findings(
    tools: Path,
    secret_debian_archive: Path,
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    reason: str,
) -> None:
    _fresh_db(tools)
    monkeypatch.setenv("FAULTS_TRIVY", "garbage")
    monkeypatch.setenv("FAULTS_TRIVY_TEXT", text)
    outcome = _trivy(_request(tools), secret_debian_archive, tools)
    assert outcome.run.status is RunStatus.FAILED
    assert reason in outcome.run.reason


def test_user_flags_reach_trivy_and_are_checked_by_it(
    tools: Path, secret_debian_archive: Path
) -> None:
    _fresh_db(tools)
    request = _request(tools, scanner_extra_args=(("trivy", ("--no-such-flag",)),))
    outcome = _trivy(request, secret_debian_archive, tools)
    assert outcome.run.status is RunStatus.FAILED
    assert "unknown flag: --no-such-flag" in outcome.run.reason


def test_both_scanners_side_by_side_and_one_failing_keeps_the_other(
    tools: Path, secret_debian_archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fresh_db(tools)
    monkeypatch.setenv("STANDIN_SLEEP", "2")
    request = _request(tools, scanners=("trivy", "grype"))
    started = time.monotonic()
    trivy, grype = runner.run_scanners(request, secret_debian_archive, tools)
    assert trivy.run.status is RunStatus.OK and grype.run.status is RunStatus.OK
    assert time.monotonic() - started < trivy.run.duration_s + 2 + 1.5, "they did not overlap"
    assert len(grype.findings) == 77
    monkeypatch.setenv("STANDIN_FIXTURE_GRYPE", str(tools / "missing.json"))
    trivy, grype = runner.run_scanners(request, secret_debian_archive, tools)
    assert trivy.run.status is RunStatus.OK and trivy.findings
    assert grype.run.status is RunStatus.FAILED and grype.findings == ()


def test_the_token_value_never_reaches_a_finding(tools: Path, secret_debian_archive: Path) -> None:
    _fresh_db(tools)
    outcome = _trivy(_request(tools), secret_debian_archive, tools)
    assert FAKE_TOKEN not in repr(outcome)
    assert str(secret_debian_archive) not in repr(outcome.findings)


def test_missing_scanner_explicit_fails_implicit_skips(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    # Not beside this Python either (where a scanner installed in the same venv is found).
    monkeypatch.setattr("sys.executable", str(tmp_path / "python"))
    archive = tmp_path / "image.tar"
    archive.write_bytes(b"")
    explicit = runner.run_scanners(
        _request(tmp_path, scanners=("trivy", "grype")), archive, tmp_path
    )
    assert all(o.run.status is RunStatus.FAILED for o in explicit)
    assert "is not installed" in explicit[0].run.reason
    implicit = runner.run_scanners(
        ScanRequest(workspace=tmp_path, scanners_explicit=False), archive, tmp_path
    )
    assert all(o.run.status is RunStatus.SKIPPED for o in implicit)
    assert all(n.level == "warning" for o in implicit for n in o.notifications)


def test_only_allowed_trivy_variables_reach_trivy() -> None:
    from hardening.scanners.trivy_exec import clean_env

    env = clean_env(
        {
            "TRIVY_EXIT_CODE": "1",
            "TRIVY_DB_REPOSITORY": "x",
            "TRIVY_USERNAME": "u",
            "HTTPS_PROXY": "http://proxy",
            "PATH": os.environ.get("PATH", ""),
        },
        Path("/cache"),
    )
    assert "TRIVY_EXIT_CODE" not in env and "TRIVY_DB_REPOSITORY" not in env
    assert env["TRIVY_USERNAME"] == "u" and env["HTTPS_PROXY"] == "http://proxy"
    assert env["TRIVY_CACHE_DIR"] == "/cache"
