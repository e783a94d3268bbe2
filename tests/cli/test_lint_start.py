"""`hardening lint` starts with what linting needs: its command line is read without building
every command's parser (the same namespace as the full parser gives; help, usage errors and
anything unusual are left to the full parser, which says them as before), and linting a
Dockerfile loads no scanner, probe, pipeline, report or image code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hardening import cli

ROOT = Path(__file__).resolve().parents[2]

PARSED = [
    ["lint"],
    ["lint", "Dockerfile"],
    ["lint", "a/Dockerfile", "b/", "compose.yaml"],
    ["lint", "-"],
    ["lint", "Dockerfile", "--sarif", "x.sarif", "--summary", "s.md"],
    ["lint", "--fail-on", "medium", "--fail-on-kinds=misconfiguration,secret", "x"],
    ["lint", "--fail-on-k", "secret", "x"],  # an unambiguous abbreviation
    ["lint", "--output", "sarif=a.sarif", "--output", "markdown=b.md", "--config", "p.yml"],
    ["lint", "--compose-file", "c.yml", "--target", "final", "--workspace", "w", "."],
    ["lint", "--fail-on-scope", "new", "--", "-a-file-named-so"],
]

DECLINED = [
    [],
    ["scan", "."],
    ["rules"],
    ["--version"],
    ["lint", "-h"],
    ["lint", "--hel"],
    ["lint", "x", "--version"],  # the top-level parser's option: its error, its usage line
    ["lint", "--fail"],  # ambiguous
    ["lint", "--fail-on-scope", "some"],
    ["lint", "--no-such-option"],
    ["lint", "--sarif"],
]


@pytest.mark.parametrize("argv", PARSED, ids=" ".join)
def test_lint_is_read_as_the_full_parser_reads_it(argv: list[str]) -> None:
    alone = cli.lint_only(argv)
    assert alone is not None
    assert vars(alone) == vars(cli.build_parser().parse_args(argv))


@pytest.mark.parametrize("argv", DECLINED, ids=lambda argv: " ".join(argv) or "nothing")
def test_help_errors_and_other_commands_are_left_to_the_full_parser(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.lint_only(argv) is None
    assert capsys.readouterr() == ("", "")


def test_lint_help_is_the_full_parsers(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["lint", "--help"]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert shown.startswith("usage: hardening lint [-h]")
    assert "also write this format (repeatable): sarif, markdown, gitlab" in shown


DOCKERFILE = """\
# syntax=docker/dockerfile:1
ARG PYTHON=3.12
FROM python:${PYTHON}-slim AS build
RUN apt-get update && apt-get install -y gcc && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
RUN pip install -r requirements.txt && curl -fsSL https://example.com/x.sh | sh
FROM build AS final
COPY . /app
HEALTHCHECK --interval=30s CMD ["python", "-c", "print()"]
EXPOSE 22
CMD ["python", "/app/main.py"]
"""

# What linting a Dockerfile never needs.
NOT_LOADED = (
    "hardening.scanners.base", "hardening.scanners.trivy", "hardening.scanners.grype",
    "hardening.scanners.common", "hardening.probes", "hardening.enrich", "hardening.supply",
    "hardening.pipeline", "hardening.adapters", "hardening.report", "hardening.outputs",
    "hardening.model_run", "hardening.request", "hardening.recommend_command",
    "hardening.targets.image", "hardening.rules.image", "hardening.rules.runtime",
    "hardening.rules.compose", "hardening.policy.ignores", "hardening.policy.signatures",
    "hardening.policy.vex", "hardening.policy.baseline", "msgspec", "docker", "requests",
    "argparse", "hashlib", "subprocess", "tarfile", "json", "ruamel", "typing", "pkgutil",
)  # fmt: skip


def test_linting_a_dockerfile_loads_only_what_linting_reads(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    code = (
        "import contextlib, io, sys\n"
        "from hardening.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    code = main(['lint', 'Dockerfile'])\n"
        "print(repr(sorted(sys.modules)), code, out.getvalue().count('DH-D1'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    modules_text, exit_code, findings = result.stdout.rsplit(" ", 2)
    modules = json.loads(modules_text.replace("'", '"'))
    assert int(exit_code) == 1 and int(findings) >= 5  # it did lint: DH-D113 and more
    loaded = [m for m in modules if any(m == n or m.startswith(n + ".") for n in NOT_LOADED)]
    assert loaded == []
