"""Hostile or broken input files fail closed: YAML alias bombs in every YAML file the product
reads, impossible config values, files that are not UTF-8, and a baseline that is not there.

A bomb must be refused fast and small (under 2 s, under 50 MB at the peak), never expanded.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hardening.errors import UsageError
from hardening.policy import load_config
from hardening.policy.ignores import repository_rules
from hardening.request import load_policy
from hardening.rules import LintInputs, lint
from hardening.targets.compose import parse_compose
from hardening.yamlsafe import MAX_BYTES, YamlRefused, load_yaml
from tests.support.cli import run_cli

SECONDS = 2.0
PEAK_BYTES = 50 * 1024 * 1024


def bomb(levels: int = 9, width: int = 9) -> str:
    """Anchors ``l0``..``l{levels-1}``, each a list of ``width`` aliases of the one before:
    a few hundred bytes that stand for width**levels values."""
    lines = ['l0: &l0 ["lol"]']
    for level in range(1, levels):
        aliases = ", ".join([f"*l{level - 1}"] * width)
        lines.append(f"l{level}: &l{level} [{aliases}]")
    return "\n".join(lines) + "\n"


LAST = "*l8"  # the alias of the widest anchor of the default bomb


def bounded(call: Callable[[], Any]) -> Any:
    """Run ``call`` and check it was quick and small, whether it returned or raised."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        return call()
    finally:
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert elapsed < SECONDS, f"took {elapsed:.1f} s"
        assert peak < PEAK_BYTES, f"peaked at {peak / 1e6:.0f} MB"


# --- alias bombs, one per kind of YAML file -------------------------------------------------


def test_a_compose_bomb_is_refused_with_the_reason_and_the_checks_finish(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        bomb() + f"services:\n  app:\n    image: debian:12\n    environment:\n      X: {LAST}\n"
    )
    model = bounded(lambda: parse_compose(compose.read_text(), "compose.yaml"))
    assert model.services == ()
    assert model.error is not None
    line, message = model.error
    assert 1 <= line <= 9 and "aliases expanded" in message
    # The whole set of checks, DH-C311 included, reads the file and is done at once.
    outcome = bounded(lambda: lint(LintInputs(workspace=tmp_path, compose_file=compose)))
    assert not [f for f in outcome.findings if f.rule_id.startswith("DH-C3")]


def test_a_policy_file_bomb_is_a_usage_error_naming_file_and_line(tmp_path: Path) -> None:
    config = tmp_path / ".hardening.yml"
    config.write_text(bomb() + f"ignores:\n  - id: CVE-2024-0001\n    reason: {LAST}\n")
    with pytest.raises(UsageError) as error:
        bounded(lambda: load_config(config, required=True))
    assert f"{config}:" in error.value.message and "aliases expanded" in error.value.message


@pytest.mark.parametrize(
    ("name", "tail"),
    [
        (".trivyignore.yaml", f"vulnerabilities:\n  - id: CVE-2024-0001\n    statement: {LAST}\n"),
        (".grype.yaml", f"ignore:\n  - vulnerability: CVE-2024-0001\n    reason: {LAST}\n"),
    ],
)
def test_an_ignore_file_bomb_is_a_usage_error_before_the_run(
    tmp_path: Path, name: str, tail: str
) -> None:
    (tmp_path / name).write_text(bomb() + tail)
    with pytest.raises(UsageError) as error:
        bounded(lambda: load_policy(None, tmp_path, explicit=False))
    assert error.value.message.startswith(f"{name}:") and "aliases expanded" in error.value.message
    with pytest.raises(UsageError):
        bounded(lambda: repository_rules(tmp_path))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('big: &big "' + "x" * 100_000 + '"\nmany: [' + ", ".join(["*big"] * 60) + "]\n", "MiB"),
        ("loop: &loop [1, *loop]\n", "its own anchor"),
        ("deep: " + "[" * 150 + "]" * 150 + "\n", "levels deep"),
        ("big: " + "x" * (MAX_BYTES + 1) + "\n", "larger than"),
    ],
)
def test_other_shapes_of_hostile_yaml_are_refused(text: str, reason: str) -> None:
    with pytest.raises(YamlRefused) as error:
        bounded(lambda: load_yaml(text))
    assert reason in error.value.reason


def test_ordinary_anchors_and_merge_keys_still_load() -> None:
    document = load_yaml(
        "x-base: &base {restart: always, read_only: true}\n"
        "services:\n  a:\n    <<: *base\n    image: a\n  b:\n    <<: *base\n    image: b\n"
    )
    assert document["services"]["b"]["read_only"] is True
    assert document["services"]["a"].lc.key("image") == (4, 4)


# --- config values ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("probes:\n  grace-period: .inf\n", ".hardening.yml:2: grace-period"),
        ("probes:\n  grace-period: .nan\n", ".hardening.yml:2: grace-period"),
        ("probes:\n  min-uid: .inf\n", ".hardening.yml:2: min-uid"),
        ("probes:\n  min-uid: 1e999\n", ".hardening.yml:2: min-uid"),
        ("probes:\n  min-uid: " + "9" * 400 + "\n", ".hardening.yml:2: min-uid"),
        ("probes:\n  grace-period: true\n", ".hardening.yml:2: grace-period"),
        (
            "ignores:\n  - id: CVE-2024-0001\n    reason: r\n    expires: 2027-02-30\n",
            ".hardening.yml:4: '2027-02-30' is not a real date",
        ),
        ("fail-on: high\nfail-on: low\n", ".hardening.yml:2: not valid YAML"),
        ("baseline: {sarif: [a, b]}\n", ".hardening.yml:1: sarif"),
    ],
)
def test_impossible_values_are_usage_errors_with_file_and_line(
    tmp_path: Path, text: str, expected: str
) -> None:
    (tmp_path / ".hardening.yml").write_text(text)
    with pytest.raises(UsageError) as error:
        load_config(tmp_path / ".hardening.yml", required=True)
    assert expected in error.value.message


def test_a_config_file_that_is_not_utf8_is_a_usage_error_with_the_line(tmp_path: Path) -> None:
    (tmp_path / ".hardening.yml").write_bytes(b"fail-on: high\nrules:\n  disable: [caf\xe9]\n")
    with pytest.raises(UsageError) as error:
        load_config(tmp_path / ".hardening.yml", required=True)
    assert ".hardening.yml:3: not UTF-8" in error.value.message
    assert "UTF-8" in error.value.fix


def test_a_baseline_named_in_the_config_must_exist_before_anything_runs(tmp_path: Path) -> None:
    (tmp_path / ".hardening.yml").write_text("baseline: {sarif: base.sarif, new-only: true}\n")
    with pytest.raises(UsageError) as error:
        load_policy(None, tmp_path, explicit=False)
    assert ".hardening.yml: baseline:" in error.value.message
    assert "base.sarif does not exist" in error.value.message
    (tmp_path / "base.sarif").write_text("[]")
    with pytest.raises(UsageError, match="not SARIF"):
        load_policy(None, tmp_path, explicit=False)


def test_an_expiry_that_is_not_a_date_never_means_forever(tmp_path: Path) -> None:
    (tmp_path / ".trivyignore").write_text("CVE-2024-0001 exp:2027-02-30\n")
    with pytest.raises(UsageError, match=r"\.trivyignore:1: expiry '2027-02-30' is not a date"):
        repository_rules(tmp_path)
    (tmp_path / ".trivyignore").unlink()
    (tmp_path / ".trivyignore.yaml").write_text(
        "vulnerabilities:\n  - id: CVE-1\n  - id: CVE-2\n    expired_at: '2027-02-30'\n"
    )
    with pytest.raises(UsageError, match=r"\.trivyignore\.yaml:3: expiry"):
        repository_rules(tmp_path)


# --- the command: exit code 2 and nothing written ---------------------------------------------


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"policy.yml": "probes:\n  grace-period: .inf\n"}, "policy.yml:2: grace-period"),
        ({"policy.yml": "probes:\n  min-uid: .nan\n"}, "policy.yml:2: min-uid"),
        (
            {"policy.yml": "ignores:\n  - id: X\n    reason: r\n    expires: 2027-02-30\n"},
            "policy.yml:4: '2027-02-30' is not a real date",
        ),
        ({"policy.yml": b"fail-on: high\n# \xff\n"}, "policy.yml:2: not UTF-8"),
        (
            {"policy.yml": bomb() + f"ignores:\n  - id: X\n    reason: {LAST}\n"},
            "aliases expanded",
        ),
        ({"policy.yml": "baseline: {sarif: missing.sarif}\n"}, "missing.sarif does not exist"),
        ({"policy.yml": "vex: [vex/*.json]\n"}, "VEX: vex/*.json matches no file"),
        (
            {"policy.yml": "fail-on: high\n", ".grype.yaml": bomb() + f"ignore: {LAST}\n"},
            ".grype.yaml:",
        ),
    ],
)
def test_the_scan_command_stops_with_exit_2_and_writes_nothing(
    tmp_path: Path, files: dict[str, str | bytes], expected: str
) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    for name, content in files.items():
        if isinstance(content, bytes):
            (tmp_path / name).write_bytes(content)
        else:
            (tmp_path / name).write_text(content)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = run_cli("scan", ".", "--config", "policy.yml", cwd=tmp_path, timeout=60)
    assert result.code == 2, result.output
    assert expected in result.stderr
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before
