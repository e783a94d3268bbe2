"""A scanner is one module and one registry line. This test registers a scanner of its own (a
small executable that writes a JSON report of its own shape) and runs the whole pipeline with
it: the CLI accepts it, it runs on the one exported archive, its ignore file is honoured, and
it shows up under its own name in the merge, SARIF, the Markdown report, the scorecard and the
GitLab report."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hardening.model import Finding, Kind, Package, Severity
from hardening.pipeline import run_scan
from hardening.request import ScanRequest, parse_scanners
from hardening.scanners import registry
from hardening.scanners.base import ScanJob, Scanner, ScanOutput
from hardening.scanners.common import ParsedReport
from hardening.scanners.merge import merge_findings
from hardening.scanners.reports import read_report
from hardening.settings import Settings

pytestmark = pytest.mark.docker

REPORT = {
    "tool": "osvlite",
    "vulns": [
        {"id": "CVE-2024-0001", "pkg": "busybox", "version": "1.35.0", "severity": "HIGH"},
        {"id": "CVE-2024-0002", "pkg": "busybox", "version": "1.35.0", "severity": "LOW"},
    ],
}


def _looks_like(document: Any) -> bool:
    return isinstance(document, dict) and document.get("tool") == "osvlite"


def _parse(document: Any, source: str = "") -> ParsedReport:
    findings = tuple(
        Finding(
            rule_id=v["id"],
            kind=Kind.VULNERABILITY,
            severity=Severity.parse(v["severity"]),
            title=v["id"],
            message=f"{v['id']} in {v['pkg']}",
            package=Package(v["pkg"], v["version"], type="apk"),
            tools=("osvlite",),
            tool_severities=(("osvlite", Severity.parse(v["severity"])),),
        )  # fmt: skip
        for v in document["vulns"]
    )
    return ParsedReport("osvlite", "1.2.3", findings, source)


def _scan(job: ScanJob) -> ScanOutput:
    from hardening.scanners.trivy_exec import run_process

    output = job.workdir / "osvlite.json"
    code, stderr = run_process([job.executable, str(job.archive), str(output)], {}, 30, job.workdir)
    if code != 0:
        return ScanOutput(problem=f"exited with {code}: {stderr}")
    parsed = read_report(output, "OSV-Lite", _looks_like, _parse)
    if isinstance(parsed, str):
        return ScanOutput(problem=parsed)
    return ScanOutput(parsed.findings, version=parsed.version)


def _ignore(text: str, name: str) -> list[Any]:
    from hardening.policy.ignores import trivyignore

    return trivyignore(text, name)  # the same one-id-per-line shape


OSVLITE = Scanner(
    name="osvlite", display_name="OSV-Lite", vendor="Test Vendor",
    information_uri="https://example.invalid/osvlite", executable="osvlite",
    version_args=("--version",), scan=_scan, parse=_parse, looks_like=_looks_like,
    ignore_files=((".osvliteignore", _ignore),), default=False, rank=30,
)  # fmt: skip


@pytest.fixture
def osvlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scanner]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    program = bin_dir / "osvlite"
    program.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = --version ]; then echo \'{"version": "1.2.3"}\'; exit 0; fi\n'
        f'test -f "$1" && cat > "$2" <<"EOF"\n{json.dumps(REPORT)}\nEOF\n'
    )
    program.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    registry.register(OSVLITE)
    yield OSVLITE
    registry._EXTRA.pop("osvlite", None)


def test_a_registered_scanner_runs_through_the_whole_pipeline(
    osvlite: Scanner, tmp_path: Path, busybox_image: str
) -> None:
    assert parse_scanners("osvlite,trivy") == ("osvlite", "trivy")
    archive = tmp_path / "image.tar"
    subprocess.run(["docker", "save", "-o", str(archive), busybox_image], check=True)
    (tmp_path / "Dockerfile").write_text(f"FROM {busybox_image}\n")
    (tmp_path / ".osvliteignore").write_text("CVE-2024-0002\n")
    out = tmp_path / "out"
    request = ScanRequest(
        workspace=tmp_path, context=tmp_path, dockerfile=tmp_path / "Dockerfile",
        image_archive=archive, scanners=("osvlite",), scanners_explicit=True,
        resolve_pins=False, sbom_format="none", settings=Settings(fail_on=None, probes=False),
        sarif_path=out / "s.sarif", summary_path=out / "s.md",
        extra_outputs=(("gitlab", out / "gl.json"),),
    )  # fmt: skip
    result = run_scan(request, log=lambda _m: None)
    run = json.loads((out / "s.sarif").read_text())["runs"][0]
    extensions = {e["name"]: e for e in run["tool"]["extensions"]}
    assert extensions["osvlite"] == {
        "name": "osvlite", "version": "1.2.3", "informationUri": "https://example.invalid/osvlite"
    }  # fmt: skip
    by_id = {r["ruleId"]: r for r in run["results"]}
    assert by_id["CVE-2024-0001"]["properties"]["tools"] == ["osvlite"]
    assert "suppressions" in by_id["CVE-2024-0002"]  # its own ignore file, with the reason kept
    summary = (out / "s.md").read_text()
    header = next(line for line in summary.splitlines() if line.startswith("| severity | total"))
    assert "OSV-Lite" in header
    c15 = next(line for line in summary.splitlines() if line.startswith("| C15 "))
    assert "osvlite" not in c15 and "trivy: did not run" in c15  # it ran; the defaults did not
    gitlab = json.loads((out / "gl.json").read_text())["scan"]["scanner"]
    assert gitlab["name"] == "OSV-Lite" and gitlab["vendor"]["name"] == "Test Vendor"
    assert any(r.name == "osvlite" and r.scanner for r in result.report.tool_runs)


def test_the_merge_orders_tools_by_the_registry(osvlite: Scanner) -> None:
    mine = _parse(REPORT).findings[0]
    trivy = Finding(
        mine.rule_id, Kind.VULNERABILITY, Severity.MEDIUM, "t", "t", package=mine.package,
        tools=("trivy",), tool_severities=(("trivy", Severity.MEDIUM),),
    )  # fmt: skip
    (merged,) = merge_findings([mine, trivy])
    assert merged.tools == ("trivy", "osvlite")  # trivy's rank is lower
    assert merged.severity is Severity.HIGH
