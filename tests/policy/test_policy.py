"""The policy file, ignores that expire, the Trivy/Grype ignore files, VEX and the baseline."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from hardening.errors import ExitCode, UsageError
from hardening.gate import GatePolicy, decide
from hardening.model import Finding, Kind, Location, Package, Report, RunStatus, Severity, ToolRun
from hardening.outputs import write_outputs
from hardening.policy import apply_policy, load_config
from hardening.policy.baseline import base_worktree
from hardening.settings import resolve

TODAY = datetime.date(2026, 11, 22)


def _vuln(
    cve: str,
    pkg: str = "openssl",
    version: str = "3.0.11",
    purl: str = "",
    fixed: str = "",
    aliases: tuple[str, ...] = (),
) -> Finding:
    return Finding(
        cve, Kind.VULNERABILITY, Severity.HIGH, cve, f"{cve} in {pkg}",
        package=Package(pkg, version, fixed, "deb", purl or f"pkg:deb/debian/{pkg}@{version}?distro=debian-12"),
        location=Location(path="Dockerfile", line=1, image_path=f"/usr/lib/{pkg}.so"), tools=("trivy",), aliases=aliases,
    )  # fmt: skip


def _config(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / ".hardening.yml"
    path.write_text(text)
    return load_config(path, required=True)


def test_ignore_with_reason_suppresses_and_expired_one_stops_applying(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        """
ignores:
  - id: CVE-2024-0001
    reason: not reachable, the binary is never called
    expires: 2027-01-31
  - id: CVE-2024-0002
    package: openssl
    reason: accepted until the base image moves
    expires: 2026-01-01
""",
    )
    findings, notes, _ = apply_policy(
        [_vuln("CVE-2024-0001"), _vuln("CVE-2024-0002")], config, tmp_path, "", TODAY
    )
    first, second = findings
    assert first.suppressed and "never called" in first.suppression.justification  # type: ignore[union-attr]
    assert first.suppression.source == ".hardening.yml:3"  # type: ignore[union-attr]
    assert not second.suppressed
    assert any(
        "expired on 2026-01-01" in n.message and ".hardening.yml:6" in n.message for n in notes
    )
    # Suppressed findings never fail the gate.
    assert decide([first], [], GatePolicy()).exit_code is ExitCode.PASSED


def test_ignore_matches_an_alias_and_respects_package_and_path(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        """
ignores:
  - id: GHSA-xxxx-yyyy-zzzz
    reason: reviewed
  - id: CVE-2024-0003
    package: zlib
    reason: only zlib
  - id: CVE-2024-0004
    path: /opt/*
    reason: only under /opt
""",
    )
    findings, _, _ = apply_policy(
        [_vuln("CVE-2024-0009", aliases=("GHSA-xxxx-yyyy-zzzz",)), _vuln("CVE-2024-0003"), _vuln("CVE-2024-0004")],
        config, tmp_path, "", TODAY,
    )  # fmt: skip
    assert [f.suppressed for f in findings] == [True, False, False]


def test_ignore_without_reason_is_a_usage_error_naming_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as error:
        _config(
            tmp_path, "fail-on: high\nignores:\n  - id: CVE-2024-0001\n    expires: 2027-01-01\n"
        )
    assert ".hardening.yml:3" in error.value.message and "no reason" in error.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fail-on: severe\n", ".hardening.yml:1: fail-on: 'severe' is not a severity"),
        ("fail_on: high\n", "unknown setting"),
        ("thresholds:\n  vulnerabilty: high\n", ".hardening.yml:2: vulnerabilty: unknown key"),
        ("probes:\n  grace-period: soon\n", ".hardening.yml:2: grace-period"),
        (
            "ignores:\n  - id: X\n    reason: r\n    expires: someday\n",
            "expires: 'someday' is not a date",
        ),
        ("fail-on: [high\n", "not valid YAML"),
    ],
)
def test_config_errors_name_file_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(UsageError) as error:
        _config(tmp_path, text)
    assert expected in error.value.message
    if "fail_on" in text:
        assert "did you mean 'fail-on'" in error.value.fix


def test_missing_default_file_is_fine_missing_named_file_is_an_error(tmp_path: Path) -> None:
    assert load_config(tmp_path / ".hardening.yml", required=False).path == ""
    with pytest.raises(UsageError):
        load_config(tmp_path / "policy.yml", required=True)


def test_inputs_override_the_file_and_the_summary_says_which_won(tmp_path: Path) -> None:
    config = _config(tmp_path, "fail-on: critical\nignore-unfixed: true\non-tool-failure: warn\n")
    settings = resolve({"fail-on": Severity.MEDIUM}, config)
    assert settings.fail_on is Severity.MEDIUM and settings.ignore_unfixed is True
    assert settings.source("fail-on") == "input"
    assert settings.source("ignore-unfixed").endswith(".hardening.yml")
    assert settings.source("probes") == "default"
    assert settings.on_tool_failure == "warn"
    assert dict(settings.in_force())["fail-on"] == "medium (input)"


def test_lint_and_scan_judge_the_same_findings_with_the_same_gate(tmp_path: Path) -> None:
    """Per-kind thresholds from the policy file hold for lint as they do for scan."""
    from tests.support.cli import run_cli

    (tmp_path / "Dockerfile").write_text('FROM debian:latest\nUSER root\nCMD ["sh"]\n')
    (tmp_path / ".hardening.yml").write_text(
        "thresholds:\n  misconfiguration: none\n  runtime: none\n"
    )
    lint = run_cli("lint", "Dockerfile", cwd=tmp_path)
    assert lint.code == 0, lint.output
    assert "DH-D101" in lint.output  # the finding is there; the gate does not count it
    config = load_config(tmp_path / ".hardening.yml", required=True)
    policy = resolve({}, config).gate_policy()
    assert policy.threshold(Kind.MISCONFIGURATION) is None


def test_per_kind_thresholds_and_tool_failure_policy() -> None:
    runtime = Finding("DH-R401", Kind.RUNTIME, Severity.HIGH, "root", "root")
    vuln = _vuln("CVE-2024-0001")
    policy = GatePolicy(
        fail_on=Severity.HIGH,
        per_kind=((Kind.RUNTIME, None), (Kind.VULNERABILITY, Severity.CRITICAL)),
    )
    assert decide([runtime, vuln], [], policy).exit_code is ExitCode.PASSED
    failed = [ToolRun("grype", RunStatus.FAILED, reason="db")]
    assert decide([], failed, GatePolicy()).exit_code is ExitCode.TOOL_FAILURE
    warned = decide([], failed, GatePolicy(on_tool_failure="warn"))
    assert warned.exit_code is ExitCode.PASSED and "grype failed" in warned.reason


def test_rule_disable_and_severity_override(tmp_path: Path) -> None:
    config = _config(tmp_path, "rules:\n  disable: [DH-D107]\n  severity: {DH-D119: high}\n")
    findings = [Finding("DH-D107", Kind.MISCONFIGURATION, Severity.LOW, "t", "m"),
                Finding("DH-D119", Kind.MISCONFIGURATION, Severity.LOW, "t", "m")]  # fmt: skip
    out, _, _ = apply_policy(findings, config, tmp_path, "", TODAY)
    assert [(f.rule_id, f.severity) for f in out] == [("DH-D119", Severity.HIGH)]


def test_trivy_and_grype_ignore_files_are_honoured(tmp_path: Path) -> None:
    (tmp_path / ".trivyignore").write_text(
        "# accepted\nCVE-2024-0001\nCVE-2024-0002 exp:2025-01-01\n"
    )
    (tmp_path / ".trivyignore.yaml").write_text(
        'vulnerabilities:\n  - id: CVE-2024-0003\n    purls: ["pkg:deb/debian/zlib@1.2"]\n    statement: zlib is not used\n'
    )
    (tmp_path / ".grype.yaml").write_text(
        "ignore:\n  - vulnerability: CVE-2024-0004\n    fix-state: not-fixed\n    package:\n      name: curl\n"
    )
    findings = [
        _vuln("CVE-2024-0001"), _vuln("CVE-2024-0002"),
        _vuln("CVE-2024-0003", pkg="zlib", version="1.2", purl="pkg:deb/debian/zlib@1.2?arch=amd64"),
        _vuln("CVE-2024-0003", pkg="zlib", version="1.3"),
        _vuln("CVE-2024-0004", pkg="curl"), _vuln("CVE-2024-0004", pkg="curl", fixed="8.0"),
    ]  # fmt: skip
    out, notes, _ = apply_policy(
        findings, load_config(tmp_path / "none.yml", required=False), tmp_path, "", TODAY
    )
    assert [f.suppressed for f in out] == [True, False, True, False, True, False]
    assert out[2].suppression.justification == "zlib is not used"  # type: ignore[union-attr]
    assert any(".trivyignore:3" in n.message and "expired" in n.message for n in notes)


def _vex(tmp_path: Path, statements: list[dict[str, object]]) -> None:
    (tmp_path / "vex").mkdir(exist_ok=True)
    (tmp_path / "vex" / "app.openvex.json").write_text(json.dumps({
        "@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/1", "author": "team",
        "timestamp": "2026-11-01T00:00:00Z", "version": 1, "statements": statements,
    }))  # fmt: skip


def test_vex_not_affected_by_purl_suppresses_and_affected_keeps(tmp_path: Path) -> None:
    _vex(tmp_path, [
        {"vulnerability": {"name": "CVE-2024-0001"}, "products": [{"@id": "pkg:deb/debian/openssl@3.0.11"}],
         "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"},
        {"vulnerability": {"name": "CVE-2024-0002"}, "products": [{"@id": "pkg:deb/debian/openssl@3.0.11"}],
         "status": "affected"},
        {"vulnerability": {"name": "CVE-2024-0003"}, "products": [{"@id": "pkg:deb/debian/zlib@1.2"}],
         "status": "not_affected", "justification": "component_not_present"},
        {"vulnerability": {"name": "CVE-2024-0005"}, "products": [{"@id": "pkg:oci/app"}],
         "subcomponents": [{"@id": "pkg:deb/debian/openssl"}], "status": "fixed"},
    ])  # fmt: skip
    config = _config(tmp_path, "vex: [vex/*.json]\n")
    findings = [
        _vuln("CVE-2024-0001"),
        _vuln("CVE-2024-0002"),
        _vuln("CVE-2024-0003"),
        _vuln("CVE-2024-0005"),
    ]
    out, _, _ = apply_policy(findings, config, tmp_path, "registry.example.com/app:1.0", TODAY)
    assert [f.suppressed for f in out] == [True, False, False, True]
    assert "vulnerable_code_not_in_execute_path" in out[0].suppression.justification  # type: ignore[union-attr]


def test_invalid_vex_is_an_error_naming_the_file(tmp_path: Path) -> None:
    _vex(tmp_path, [{"vulnerability": {"name": "CVE-1"}, "products": [], "status": "maybe"}])
    config = _config(tmp_path, "vex: [vex/*.json]\n")
    with pytest.raises(UsageError) as error:
        apply_policy([], config, tmp_path, "", TODAY)
    assert (
        "app.openvex.json" in error.value.message
        and "unknown status 'maybe'" in error.value.message
    )


def test_baseline_new_fixed_unchanged_and_new_only_gate(tmp_path: Path) -> None:
    old = Report(findings=(_vuln("CVE-2024-0001"), _vuln("CVE-2024-0002")), category="c/")
    write_outputs(old, [("sarif", tmp_path / "baseline.sarif")], {}, None)
    config = _config(tmp_path, "baseline: {sarif: baseline.sarif, new-only: true}\n")
    out, _, extras = apply_policy(
        [_vuln("CVE-2024-0002"), _vuln("CVE-2024-0003")], config, tmp_path, "", TODAY
    )
    assert extras["baseline"] == {"new": 1, "unchanged": 1, "fixed": 1}
    assert [f.property("baseline") for f in out] == ["unchanged", "new"]
    from hardening.policy.baseline import new_only

    assert [f.rule_id for f in new_only(out)] == ["CVE-2024-0003"]


def test_base_worktree_checks_out_the_base_commit(tmp_path: Path) -> None:
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True, text=True,
                              env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
                                   "GIT_COMMITTER_EMAIL": "t@e", "PATH": "/usr/bin:/bin"}).stdout.strip()  # fmt: skip

    git("init", "-q")
    (tmp_path / "Dockerfile").write_text("FROM debian:11\n")
    git("add", "."), git("commit", "-qm", "base")
    base = git("rev-parse", "HEAD")
    (tmp_path / "Dockerfile").write_text("FROM debian:12\n")
    git("commit", "-qam", "head")
    tree = base_worktree(tmp_path, base)
    assert (tree / "Dockerfile").read_text() == "FROM debian:11\n"
    with pytest.raises(UsageError):
        base_worktree(tmp_path, "0" * 40)
