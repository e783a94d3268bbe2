"""The one SARIF file: schema, GitHub's ingestion rules, limits, fingerprints, golden output."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from pathlib import Path

import pytest

from hardening.model import (
    Finding,
    Kind,
    Location,
    Notification,
    Package,
    Report,
    RunStatus,
    Severity,
    Suppression,
)  # fmt: skip
from hardening.outputs import read_sources, write_outputs
from hardening.pipeline import all_rule_docs
from hardening.report import sarif
from hardening.report.fingerprint import line_hashes
from hardening.scanners.load import load_report
from hardening.scanners.merge import merge_findings
from tests.conftest import shared_dir
from tests.support import golden
from tests.support.cli import REPO_ROOT, run_cli
from tests.support.golden import scanner_runs
from tests.support.sarif_validate import schema_errors, validate_sarif

TRIVY_RUN, GRYPE_RUN = scanner_runs()

FIXTURES = shared_dir() / "fixtures" / "scanners"


def test_line_hashes_match_githubs_published_vectors() -> None:
    assert line_hashes("") == {1: "c129715d7a2bc9a3:1"}
    assert list(line_hashes(" a\nb\n  \t\tc\n d").values()) == [
        "271789c17abda88f:1", "54703d4cd895b18:1", "180aee12dab6264:1", "a23a3dc5e078b07b:1",
    ]  # fmt: skip
    crlf = " hello; \t\r\nworld!!!\r\n\r\n\r\n  \t\tGreetings\r\n End\r\n"
    assert list(line_hashes(crlf).values()) == [
        "e9496ae3ebfced30:1", "fb7c023a8b9ccb3f:1", "ce8ba1a563dcdaca:1", "e20e36e16fcb0cc8:1",
        "b3edc88f2938467e:1", "c8e28b0b4002a3a0:1", "c129715d7a2bc9a3:1",
    ]  # fmt: skip
    repeated = list(line_hashes("Lorem ipsum dolor sit amet.\n" * 10).values())
    assert repeated[:3] == ["a7f2ff13bc495cf2:1", "a7f2ff13bc495cf2:2", "a7f2ff13bc495cf2:3"]
    assert repeated[-1] == "c129715d7a2bc9a3:1"


def _vuln(
    i: int, severity: Severity = Severity.HIGH, path: str = "Dockerfile", line: int = 5
) -> Finding:
    return Finding(
        rule_id=f"CVE-2024-{10000 + i}", kind=Kind.VULNERABILITY, severity=severity, title=f"issue {i}",
        message=f"CVE-2024-{10000 + i} in pkg{i % 50} 1.{i}", cvss_score=7.5,
        package=Package(f"pkg{i % 50}", f"1.{i}", f"1.{i + 1}", "deb", path=""),
        location=Location(path=path, line=line, layer="sha256:" + "1" * 64), tools=("trivy", "grype"),
        tool_severities=(("grype", severity), ("trivy", severity)),
    )  # fmt: skip


def _hand_report(tmp_path: Path) -> Report:
    (tmp_path / "Dockerfile").write_text("FROM debian:12\nRUN apt-get install -y curl\nUSER root\n")
    findings = (
        _vuln(1, line=2),
        Finding("DH-D101", Kind.MISCONFIGURATION, Severity.HIGH, "The final stage explicitly runs as root",
                "the final stage switches to USER root", location=Location(path="Dockerfile", line=3),
                tools=("docker-hardening",), checklist=("C03",),
                suppression=Suppression("inSource", "the job needs root for one release", "Dockerfile:2")),
        Finding("DH-R404", Kind.RUNTIME, Severity.MEDIUM, "PID 1 holds risky capabilities",
                "effective capabilities include CAP_NET_RAW", location=Location(path="Dockerfile", line=3),
                tools=("docker-hardening",), checklist=("C05",)),
    )  # fmt: skip
    return Report(
        findings=findings,
        tool_runs=(TRIVY_RUN, replace(GRYPE_RUN, status=RunStatus.FAILED, version="", reason="db download failed")),
        notifications=(Notification("error", "scanners", "grype failed: db download failed"),),
        dockerfile="Dockerfile", category="docker-hardening/Dockerfile/",
    )  # fmt: skip


def test_hand_built_report_golden_and_valid(tmp_path: Path) -> None:
    report = _hand_report(tmp_path)
    document = sarif.build_sarif(report, all_rule_docs(), read_sources(report.findings, tmp_path))
    assert not schema_errors(document)
    out = tmp_path / "out.sarif"
    write_outputs(report, [("sarif", out)], all_rule_docs(), tmp_path)
    assert validate_sarif(out) == []
    run = document["runs"][0]
    assert run["tool"]["driver"]["name"] == "docker-hardening"
    assert [e["name"] for e in run["tool"].get("extensions", [])] == [
        "trivy"
    ]  # grype failed: not listed
    assert run["invocations"][0]["executionSuccessful"] is False
    suppressed = next(r for r in run["results"] if r["ruleId"] == "DH-D101")
    assert suppressed["suppressions"][0]["justification"] == "the job needs root for one release"
    file_result = next(r for r in run["results"] if r["ruleId"] == "DH-R404")
    assert (
        file_result["partialFingerprints"]["primaryLocationLineHash"]
        == line_hashes((tmp_path / "Dockerfile").read_text())[3]
    )
    golden.check(
        "sarif/hand-built.sarif.json",
        json.dumps(golden.normalize_sarif(document), indent=1, sort_keys=True) + "\n",
    )


def test_every_rule_has_description_help_tags_and_numeric_security_severity(tmp_path: Path) -> None:
    hand = _hand_report(tmp_path)
    document = sarif.build_sarif(hand, all_rule_docs(), read_sources(hand.findings, tmp_path))
    for rule in document["runs"][0]["tool"]["driver"]["rules"]:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"] and rule["help"]["markdown"]
        assert 0 < len(rule["properties"]["tags"]) <= 10
        float(rule["properties"]["security-severity"])
        assert "sha256" not in rule["id"] and "/" not in rule["id"] and ":" not in rule["id"]


@pytest.mark.parametrize("image", ["alpine", "mysql", "nginx", "traefik", "ubuntu"])
def test_merge_command_writes_valid_sarif_from_real_reports(image: str, tmp_path: Path) -> None:
    out = tmp_path / "merged.sarif"
    result = run_cli(
        "merge", str(FIXTURES / f"trivy-{image}-latest-msusel-2023.json"),
        str(FIXTURES / f"grype-{image}-latest-msusel-v0.62.3.json"), "-o", str(out), cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 0, result.output
    document = json.loads(out.read_text())
    run = document["runs"][0]
    expected = len(merge_findings(
        load_report(FIXTURES / f"trivy-{image}-latest-msusel-2023.json").findings
        + load_report(FIXTURES / f"grype-{image}-latest-msusel-v0.62.3.json").findings
    ))  # fmt: skip
    assert len(run["results"]) == expected
    assert {e["name"] for e in run["tool"]["extensions"]} == {"trivy", "grype"}
    for result_ in run["results"]:
        location = result_["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"] and location["region"]["startLine"] >= 1
    assert validate_sarif(out) == []


def test_merge_with_dockerfile_places_results_on_its_from_line(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("# app\nFROM nginx:1.25\nCOPY site /usr/share/nginx/html\n")
    out = tmp_path / "merged.sarif"
    result = run_cli(
        "merge", str(FIXTURES / "trivy-nginx-latest-msusel-2023.json"),
        str(FIXTURES / "grype-nginx-latest-msusel-v0.62.3.json"), "-o", str(out),
        "--dockerfile", "Dockerfile", cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 0, result.output
    run = json.loads(out.read_text())["runs"][0]
    lines = {r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in run["results"]}
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]
    }
    assert lines == {2} and uris == {"Dockerfile"}
    assert run["automationDetails"]["id"] == "docker-hardening/Dockerfile/"


def test_merge_rejects_a_file_that_is_not_a_scanner_report(tmp_path: Path) -> None:
    result = run_cli(
        "merge",
        str(FIXTURES / "trivy-alpine-310-trivyrepo-golden-2026.sarif"),
        "-o",
        "x.sarif",
        cwd=tmp_path,
    )
    assert result.code == 2 and "is a SARIF file" in result.stderr
    assert not (tmp_path / "x.sarif").exists()


def test_githubs_result_limit_keeps_the_most_severe_and_says_so(tmp_path: Path) -> None:
    findings = tuple(
        _vuln(i, Severity.CRITICAL if i % 1000 == 0 else Severity.LOW, path="", line=0)
        for i in range(26_000)
    )
    report = Report(findings=findings, category="docker-hardening/big/")
    document = sarif.build_sarif(report, {})
    run = document["runs"][0]
    assert len(run["results"]) == sarif.MAX_RESULTS
    assert run["properties"]["resultsOmitted"] == 1_000
    assert "left out" in run["properties"]["resultsOmittedNote"]
    levels = [r["level"] for r in run["results"]]
    assert levels[:26] == ["error"] * 26  # every critical kept, first
    assert len(gzip.compress(json.dumps(document).encode())) <= sarif.MAX_GZIP_BYTES


def test_example_sarif_from_the_cli_is_valid_for_github(tmp_path: Path) -> None:
    out = tmp_path / "lint.sarif"
    result = run_cli(
        "lint", str(REPO_ROOT / "examples" / "insecure"), "--sarif", str(out), cwd=REPO_ROOT
    )
    assert result.code == 1
    assert validate_sarif(out) == []
