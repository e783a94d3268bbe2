"""Output formats are one module and one registry line: a format registered here (a test's own,
one line per finding) is offered by `lint`, `scan` and the action exactly like the built-in
ones, and the built-in ones render purely (no file, clock or network read)."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from hardening import cli
from hardening.action import request_from_inputs
from hardening.errors import UsageError
from hardening.model import Finding, Kind, Location, Report, Severity
from hardening.outputs import parse_output, write_outputs
from hardening.report import formats
from hardening.report.formats import OutputFormat, RenderInput


def _lines(given: RenderInput) -> bytes:
    return "".join(
        f"{f.severity.value}\t{f.rule_id}\t{f.location.path}:{f.location.line}\n"
        for f in given.report.findings
    ).encode()


LINES = OutputFormat("lines", "findings.txt", "one line per finding (a test's format)", _lines)


@pytest.fixture
def lines_format() -> Iterator[OutputFormat]:
    formats.register(LINES)
    yield LINES
    formats._EXTRA.pop("lines", None)


def test_builtin_formats_are_listed_in_order() -> None:
    assert list(formats.formats())[:3] == ["sarif", "markdown", "gitlab"]


def test_an_unknown_format_is_a_usage_error_naming_the_known(lines_format: OutputFormat) -> None:
    with pytest.raises(UsageError) as error:
        parse_output("junit=out.xml")
    assert "lines" in error.value.fix and "sarif" in error.value.fix
    assert parse_output("LINES=out.txt") == ("lines", Path("out.txt"))


def test_lint_offers_a_registered_format(
    lines_format: OutputFormat, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "Dockerfile").write_text("FROM debian:latest\nUSER root\n")
    monkeypatch.chdir(tmp_path)
    code = cli.main(
        ["lint", "Dockerfile", "--output", "lines=out/findings.txt", "--sarif", "x.sarif"]
    )
    assert code == 1
    text = (tmp_path / "out" / "findings.txt").read_text()
    assert "DH-D101\tDockerfile:2" in text
    assert json.loads((tmp_path / "x.sarif").read_text())["version"] == "2.1.0"


def test_scan_and_the_action_offer_a_registered_format(
    lines_format: OutputFormat, tmp_path: Path
) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    request = request_from_inputs(
        {"GITHUB_WORKSPACE": str(tmp_path), "INPUT_OUTPUTS": "lines=reports/f.txt\ngitlab=gl.json"}
    )
    assert request.outputs[2:] == (
        ("lines", (tmp_path / "reports" / "f.txt").resolve()),
        ("gitlab", (tmp_path / "gl.json").resolve()),
    )
    args = cli.build_parser().parse_args(
        ["scan", str(tmp_path), "--output", "lines=f.txt", "--gitlab-report", "gl.json"]
    )
    assert [name for name, _ in cli._outputs(args)] == ["lines", "gitlab"]


def test_the_action_keeps_output_paths_in_the_workspace(
    lines_format: OutputFormat, tmp_path: Path
) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    with pytest.raises(UsageError):
        request_from_inputs(
            {"GITHUB_WORKSPACE": str(tmp_path), "INPUT_OUTPUTS": "lines=../../elsewhere.txt"}
        )


def test_builtin_formats_render_purely_from_what_the_caller_gives(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    finding = Finding(
        "DH-D101", Kind.MISCONFIGURATION, Severity.HIGH, "root", "runs as root",
        location=Location("Dockerfile", 2, 2),
    )  # fmt: skip
    given = RenderInput(
        report=Report(findings=(finding,)),
        sources={"Dockerfile": "FROM x\nUSER root\n"},
        now=datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
    )

    def forbidden(*_: object, **__: object) -> None:
        raise AssertionError("a formatter read a file or the clock")

    monkeypatch.setattr(Path, "read_text", forbidden)
    monkeypatch.setattr(Path, "read_bytes", forbidden)
    outputs = {name: fmt.render(given) for name, fmt in formats.formats().items()}
    sarif = json.loads(outputs["sarif"])
    assert sarif["runs"][0]["invocations"][0]["endTimeUtc"] == "2026-01-02T03:04:05Z"
    assert "primaryLocationLineHash" in sarif["runs"][0]["results"][0]["partialFingerprints"]
    assert json.loads(outputs["gitlab"])["scan"]["end_time"] == "2026-01-02T03:04:05"
    assert b"DH-D101" in outputs["markdown"]


def test_write_outputs_renders_each_format_once(lines_format: OutputFormat, tmp_path: Path) -> None:
    report = Report(findings=())
    written = write_outputs(
        report, [("lines", tmp_path / "a.txt"), ("lines", tmp_path / "b.txt")], {}, tmp_path
    )
    assert written == {"lines": b""}
    assert (tmp_path / "a.txt").stat().st_mode & 0o044 == 0o044
