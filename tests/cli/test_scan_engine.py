"""`hardening scan` on the real engine: the example, a failing build, and no engine at all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import REPO_ROOT, run_cli
from tests.support.engine import DEBIAN_IMAGE

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("trivy_db_repository")]

LOCAL_BASE = f"BASE_IMAGE={DEBIAN_IMAGE}"


def _sarif(path: Path) -> dict:  # type: ignore[type-arg]
    return json.loads(path.read_text())


def _validate_schema(shared: Path, document: dict) -> None:  # type: ignore[type-arg]
    import jsonschema

    schema = json.loads((shared / "schemas" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(document)


def test_example_scan_builds_exports_and_reports(
    tmp_path: Path, shared: Path, debian_image: str
) -> None:
    sarif = tmp_path / "insecure.sarif"
    summary = tmp_path / "insecure.md"
    result = run_cli(
        "scan",
        "examples/insecure",
        "--build-arg",
        LOCAL_BASE,
        "--sarif",
        str(sarif),
        "--summary",
        str(summary),
        "--trial-grace",
        "1",
        "--no-probes",
    )
    # The real trivy (from the test dependencies, its database from TRIVY_DB_REPOSITORY) runs;
    # Grype is not installed here: skipped with a warning, not a failure, on the CLI.
    assert result.code == 1, result.output  # the insecure example fails the gate
    document = _sarif(sarif)
    _validate_schema(shared, document)
    run = document["runs"][0]
    rule_ids = {r["ruleId"] for r in run["results"]}
    assert any(i.startswith("DH-D") for i in rule_ids)  # Dockerfile rules ran
    assert "CVE-2005-2541" in rule_ids  # from the tests' database, through the real trivy
    extensions = {e["name"]: e for e in run["tool"].get("extensions", [])}
    assert extensions["trivy"]["version"] == "0.76.0"
    assert run["automationDetails"]["id"] == "docker-hardening/examples/insecure/Dockerfile/"
    text = summary.read_text()
    assert "failed" in text.lower()
    # The secret in ENV is reported but its value is never written anywhere.
    assert "correct-horse-battery-staple" not in sarif.read_text()
    assert "correct-horse-battery-staple" not in text
    assert "correct-horse-battery-staple" not in result.output


def test_failed_build_is_one_line_naming_the_instruction_with_complete_outputs(
    tmp_path: Path, shared: Path, busybox_image: str
) -> None:
    (tmp_path / "Dockerfile").write_text(
        f"FROM {busybox_image}\nRUN echo ok\nRUN echo about-to-fail && exit 7\n"
    )
    sarif = tmp_path / "out.sarif"
    summary = tmp_path / "out.md"
    result = run_cli(
        "scan", ".", "--sarif", str(sarif), "--summary", str(summary), "--no-probes", cwd=tmp_path
    )  # fmt: skip
    assert result.code == 3, result.output
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    # One error: the build, at its line; no follow-on "no image to scan" errors.
    assert len(errors) == 1, errors
    assert "docker build failed at Dockerfile:3 (RUN)" in errors[0]
    assert "exited with code 7" in errors[0]
    document = _sarif(sarif)
    _validate_schema(shared, document)
    invocation = document["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    messages = [n["message"]["text"] for n in invocation["toolExecutionNotifications"]]
    assert any("docker build failed at Dockerfile:3" in m for m in messages)
    text = summary.read_text()
    assert "docker build failed at Dockerfile:3" in text
    assert "about-to-fail" in text  # the log tail is in the summary's details
    assert "no image to scan" not in text + result.output


def test_build_arg_and_secret_values_never_leave_a_failed_build(
    tmp_path: Path, busybox_image: str
) -> None:
    """BuildKit prints build-arg values expanded in step names, and the step echoes them."""
    (tmp_path / "token.txt").write_text("file-secret-Zq81x\n")
    (tmp_path / "Dockerfile").write_text(
        f"FROM {busybox_image}\nARG NPM_TOKEN\n"
        'RUN --mount=type=secret,id=tok cat /run/secrets/tok && echo "$NPM_TOKEN" && '
        'echo "$DEPLOY_KEY" && exit 3\n'
    )
    out = tmp_path / "out"
    result = run_cli(
        "scan", ".", "--no-probes", "--sbom", "none",
        "--build-arg", "NPM_TOKEN=npm_SuperSecretValue123",
        "--secret", f"id=tok,src={tmp_path / 'token.txt'}",
        "--secret", "id=key,env=DEPLOY_KEY",
        "--sarif", str(out / "s.sarif"), "--summary", str(out / "s.md"),
        "--gitlab-report", str(out / "gl.json"),
        cwd=tmp_path, env={"DEPLOY_KEY": "env-secret-Pp42k"},
    )  # fmt: skip
    assert result.code == 3, result.output
    written = "".join(p.read_text() for p in out.iterdir())
    for value in ("npm_SuperSecretValue123", "file-secret-Zq81x", "env-secret-Pp42k"):
        assert value not in result.output, value
        assert value not in written, value
    assert "***" in written  # masked, and the rest of the log still there


def test_no_engine_is_a_tool_failure_but_lint_still_works(tmp_path: Path, shared: Path) -> None:
    no_engine = {"DOCKER_HOST": f"unix://{tmp_path}/no-such.sock"}
    sarif = tmp_path / "out.sarif"
    result = run_cli(
        "scan",
        str(REPO_ROOT / "examples/insecure"),
        "--sarif",
        str(sarif),
        "--summary",
        str(tmp_path / "out.md"),
        env=no_engine,
        cwd=tmp_path,
    )
    assert result.code == 3
    assert "no Docker engine answers" in result.stderr
    _validate_schema(shared, _sarif(sarif))
    # Static checks need no engine.
    lint = run_cli("lint", str(REPO_ROOT / "examples/insecure"), env=no_engine, cwd=tmp_path)
    assert lint.code == 1, lint.output
    assert "DH-D" in lint.stdout


def test_policy_file_sets_the_gate_and_the_report_says_so(
    tmp_path: Path, busybox_image: str
) -> None:
    (tmp_path / "Dockerfile").write_text(
        f'FROM {busybox_image}\nUSER root\nCMD ["sleep", "3600"]\n'
    )
    (tmp_path / ".hardening.yml").write_text(
        "thresholds:\n  misconfiguration: none\n  runtime: none\n"
        "ignores:\n  - id: DH-I204\n    reason: test image\n"
    )
    summary = tmp_path / "out.md"
    result = run_cli(
        "scan",
        ".",
        "--no-probes",
        "--summary",
        str(summary),
        "--sarif",
        str(tmp_path / "o.sarif"),
        cwd=tmp_path,
    )
    assert result.code == 0, result.output
    text = summary.read_text()
    assert "threshold.misconfiguration=none" in text and ".hardening.yml" in text
    # The flag wins over the file.
    result = run_cli("scan", ".", "--no-probes", "--fail-on", "low", "--fail-on-kinds", "misconfiguration",
                     "--config", ".hardening.yml", cwd=tmp_path)  # fmt: skip
    assert result.code == 0  # thresholds per kind still say none for misconfigurations


def test_bad_policy_file_is_a_usage_error_before_anything_runs(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / ".hardening.yml").write_text("fail-on: severe\n")
    result = run_cli("scan", ".", "--sarif", "x.sarif", cwd=tmp_path)
    assert result.code == 2 and ".hardening.yml:1: fail-on" in result.stderr
    assert not (tmp_path / "x.sarif").exists()


def test_gitlab_report_and_sbom_are_written_beside_the_sarif(
    tmp_path: Path, busybox_image: str, shared: Path
) -> None:
    import jsonschema

    (tmp_path / "Dockerfile").write_text(
        f'FROM {busybox_image}\nUSER 10001\nCMD ["sleep", "3600"]\n'
    )
    result = run_cli("scan", ".", "--no-probes", "--fail-on", "none", "--sarif", "out/scan.sarif",
                     "--gitlab-report", "out/gl.json", cwd=tmp_path)  # fmt: skip
    assert result.code == 0, result.output
    schema = json.loads(
        (shared / "schemas" / "gitlab-container-scanning-report-format-15.2.4.json").read_text()
    )
    jsonschema.Draft7Validator(schema).validate(
        json.loads((tmp_path / "out" / "gl.json").read_text())
    )
    sbom = json.loads((tmp_path / "out" / "scan.cdx.json").read_text())
    assert sbom["bomFormat"] == "CycloneDX"


def test_scan_leaves_no_temporary_image_but_keeps_user_tags(
    tmp_path: Path, busybox_image: str, unique_tag: str
) -> None:
    import docker

    client = docker.from_env()

    def ours() -> set[str]:
        images = client.images.list(name="docker-hardening.local/scan")
        return {t for i in images for t in i.tags if t.startswith("docker-hardening.local/scan:")}

    before = ours()
    (tmp_path / "Dockerfile").write_text(
        f'FROM {busybox_image}\nUSER 10001\nCMD ["sleep", "3600"]\n'
    )
    result = run_cli(
        "scan",
        ".",
        "--no-probes",
        "--no-pin-lookup",
        "--sbom",
        "none",
        "-t",
        unique_tag,
        cwd=tmp_path,
    )
    assert result.code in (0, 1), result.output
    assert ours() <= before
    assert client.images.get(unique_tag).tags
