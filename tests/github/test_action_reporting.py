"""Through the action's entrypoint: whatever goes wrong reporting to GitHub (a malformed
event, an unusable GITHUB_API_URL, a rate limit of an hour), the exit code is the gate's, the
outputs are written, and the step ends quickly with one warning line."""

from __future__ import annotations

import importlib
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hardening import action, pipeline
from hardening.errors import ExitCode
from hardening.gate import GateResult
from hardening.model import Finding, GateVerdict, Kind, Location, Report, Severity
from tests.support.fake_github import FakeGitHub

# PyGithub gives its logger a handler on the stderr of the moment it is first imported: let
# that be the session's, not one test's captured stream, closed once the test ends.
importlib.import_module("github")

PR_EVENT: dict[str, Any] = {
    "number": 7,
    "pull_request": {
        "number": 7,
        "head": {"sha": "a" * 40, "repo": {"full_name": "octo/app"}},
        "base": {"sha": "b" * 40, "repo": {"full_name": "octo/app"}},
    },
}


@dataclass
class _Result:
    report: Report
    gate: GateResult
    sarif_path: Path
    summary_path: Path
    sarif_files: tuple[Path, ...] = ()

    @property
    def exit_code(self) -> ExitCode:
        return self.gate.exit_code

    @property
    def cancelled(self) -> bool:
        return False


@pytest.fixture(params=[True, False], ids=["gate-passed", "gate-failed"])
def scan(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """A stand-in for the scan: the gate's verdict, then the pipeline's publisher call."""
    passed = bool(request.param)

    def run_scan(scan_request: Any, *, publisher: Any = None, **_: Any) -> _Result:
        finding = Finding(
            rule_id="CVE-2024-1000", kind=Kind.VULNERABILITY, severity=Severity.HIGH,
            title="vuln", message="vulnerability in pkg", location=Location("Dockerfile", 1),
        )  # fmt: skip
        report = Report(
            findings=() if passed else (finding,), category=scan_request.automation_category,
            verdict=GateVerdict(passed, "verdict"),
        )  # fmt: skip
        code = ExitCode.PASSED if passed else ExitCode.GATE_FAILED
        gate = GateResult(code, passed, "passed" if passed else "failed: 1 finding(s)")
        if publisher is not None:
            publisher(report, "# report\n")
        return _Result(report, gate, scan_request.sarif_path, scan_request.summary_path)

    monkeypatch.setattr(pipeline, "run_scan", run_scan, raising=False)
    return passed


def _env(tmp_path: Path, api_url: str, event: object | str = PR_EVENT) -> dict[str, str]:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    event_file = tmp_path / "event.json"
    event_file.write_text(event if isinstance(event, str) else json.dumps(event))
    return {
        "GITHUB_WORKSPACE": str(tmp_path), "GITHUB_REPOSITORY": "octo/app",
        "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event_file),
        "GITHUB_SHA": "c" * 40, "GITHUB_API_URL": api_url,
        "GITHUB_OUTPUT": str(tmp_path / "output"), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
        "INPUT_GITHUB-TOKEN": "ghs_test", "INPUT_CHECK-RUN": "true",
    }  # fmt: skip


def _main_within(seconds: float, env: dict[str, str]) -> int:
    codes: list[int] = []
    worker = threading.Thread(target=lambda: codes.append(action.main(env)), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"the action still waiting for GitHub after {seconds} s"
    assert codes, "the action raised"
    return codes[0]


def _outputs(tmp_path: Path) -> dict[str, str]:
    lines = (tmp_path / "output").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def _warnings(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("::warning")]


def test_an_hour_of_rate_limit_neither_holds_nor_changes_the_verdict(
    scan: bool, github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for method, path in (("GET", r"/repos/octo/app/issues/7/comments"),
                         ("POST", r"/repos/octo/app/check-runs")):  # fmt: skip
        github.rate_limit(method, path, status=403, retry_after="3600", reset_in_s=3600)
    started = time.monotonic()
    code = _main_within(20, _env(tmp_path, github.url))
    assert time.monotonic() - started < 5
    assert code == (0 if scan else 1)
    assert _outputs(tmp_path)["passed"] == str(scan).lower()
    captured = capsys.readouterr()
    warnings = _warnings(captured.out)
    assert len(warnings) == 2 and all("rate limit" in w for w in warnings), warnings
    assert "Traceback" not in captured.out + captured.err


@pytest.mark.parametrize(
    ("event", "said"),
    [
        ({**PR_EVENT, "pull_request": {**PR_EVENT["pull_request"], "number": "seven"}},
         "'seven' is not a positive number"),
        ({"number": None, "pull_request": {"head": "main"}}, "has no number"),
        ({"pull_request": ["not", "an", "object"]}, "pull_request is not an object"),
        ("{not json", "could not be read as JSON"),
        ('["a", "list"]', "holds a JSON list"),
    ],
)  # fmt: skip
def test_a_malformed_event_is_one_warning_and_the_verdict_stands(
    scan: bool, github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    event: object, said: str,
) -> None:  # fmt: skip
    code = _main_within(20, _env(tmp_path, github.url, event))
    assert code == (0 if scan else 1)
    assert _outputs(tmp_path)["passed"] == str(scan).lower()
    captured = capsys.readouterr()
    [warning] = _warnings(captured.out)
    assert said in warning and warning.endswith("no PR comment posted"), warning
    assert "Traceback" not in captured.out + captured.err
    assert not github.issue_comments(7)
    assert len(github.check_runs) == 1  # the check run does not need the pull request
    assert not github.violations, github.violations


@pytest.mark.parametrize("api_url", ["not a url", "ftp://x", "http://", "http://host:port"])
def test_an_unusable_api_url_is_one_warning_and_the_verdict_stands(
    scan: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str], api_url: str
) -> None:
    code = _main_within(20, _env(tmp_path, api_url))
    assert code == (0 if scan else 1)
    assert _outputs(tmp_path)["passed"] == str(scan).lower()
    captured = capsys.readouterr()
    warnings = _warnings(captured.out)
    assert len(warnings) == 1 and "is not an http(s) URL" in warnings[0], warnings
    assert "Traceback" not in captured.out + captured.err


def test_an_unreadable_cap_setting_falls_back_to_the_default(
    scan: bool, github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {**_env(tmp_path, github.url), "HARDENING_GITHUB_MAX_WAIT": "soon"}
    assert _main_within(20, env) == (0 if scan else 1)
    warnings = _warnings(capsys.readouterr().out)
    assert len(warnings) == 1 and "HARDENING_GITHUB_MAX_WAIT" in warnings[0]
    assert len(github.issue_comments(7)) == 1


def test_the_job_summary_records_what_publishing_did_after_it_was_done(
    scan: bool, github: FakeGitHub, tmp_path: Path
) -> None:
    code = _main_within(20, _env(tmp_path, github.url))
    assert code == (0 if scan else 1)
    summary = (tmp_path / "summary").read_text()
    report_at, record_at = summary.index("# report"), summary.index("### Reporting to GitHub")
    assert report_at < record_at  # written after publishing, below the report
    assert "PR comment created" in summary[record_at:]
    assert "check run created" in summary[record_at:]


def test_the_job_summary_records_why_nothing_was_posted(
    scan: bool, github: FakeGitHub, tmp_path: Path
) -> None:
    env = _env(tmp_path, github.url)
    env["INPUT_GITHUB-TOKEN"] = ""
    _main_within(20, env)
    summary = (tmp_path / "summary").read_text()
    assert (
        "no github-token: nothing posted to GitHub" in summary.split("### Reporting to GitHub")[1]
    )
