"""fail-on-kev, fail-on-epss and the two source URLs: flags, action inputs, the policy file and
environment variables, resolved once with where each came from; both gates off by default."""

from __future__ import annotations

from pathlib import Path

import pytest

from hardening import action
from hardening.cli import build_parser
from hardening.errors import UsageError
from hardening.policy.config import Config, load_config
from hardening.settings import EPSS_URL, KEV_URL, epss_threshold, given_from_flags, resolve


def _policy(tmp_path: Path, text: str) -> Config:
    path = tmp_path / ".hardening.yml"
    path.write_text(text)
    return load_config(path, required=True)


def test_off_by_default_and_shown_in_the_settings_in_force() -> None:
    settings = resolve({}, Config(), environ={})
    assert (settings.fail_on_kev, settings.fail_on_epss) == (False, None)
    assert (settings.kev_url, settings.epss_url) == (KEV_URL, EPSS_URL)
    shown = dict(settings.in_force())
    assert shown["fail-on-kev"] == "false (default)" and shown["fail-on-epss"] == "none (default)"
    assert "kev-url" not in shown  # the default sources are not repeated
    policy = settings.gate_policy()
    assert not policy.fail_on_kev and policy.fail_on_epss is None


def test_the_policy_file_sets_them(tmp_path: Path) -> None:
    config = _policy(
        tmp_path,
        "fail-on-kev: true\nfail-on-epss: 10%\nkev-url: http://127.0.0.1:8080/kev.json\n",
    )
    settings = resolve({}, config, environ={})
    assert settings.fail_on_kev and settings.fail_on_epss == pytest.approx(0.1)
    assert settings.kev_url == "http://127.0.0.1:8080/kev.json"
    shown = dict(settings.in_force())
    assert shown["fail-on-epss"] == f"0.1 ({tmp_path / '.hardening.yml'})"
    assert shown["kev-url"].startswith("http://127.0.0.1:8080/kev.json (")


def test_flags_beat_the_policy_file_and_the_environment_beats_it_for_urls(tmp_path: Path) -> None:
    config = _policy(tmp_path, "fail-on-epss: 0.5\nepss-url: https://mirror.example/epss.csv.gz\n")
    flags = build_parser().parse_args(["scan", "--fail-on-kev", "--fail-on-epss", "0.2"])
    environ = {"HARDENING_EPSS_URL": "http://127.0.0.1:9999/epss.csv.gz"}
    settings = resolve(given_from_flags(flags), config, environ=environ)
    assert settings.fail_on_kev and settings.fail_on_epss == 0.2
    assert settings.epss_url == "http://127.0.0.1:9999/epss.csv.gz"
    assert settings.source("epss-url") == "HARDENING_EPSS_URL"
    assert settings.source("fail-on-kev") == "input"
    off = build_parser().parse_args(["scan", "--fail-on-epss", "none"])
    assert resolve(given_from_flags(off), config, environ={}).fail_on_epss is None


def test_action_inputs(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    env = {
        "GITHUB_WORKSPACE": str(tmp_path),
        "INPUT_FAIL-ON-KEV": "true",
        "INPUT_FAIL-ON-EPSS": "0.05",
    }
    settings = action.request_from_inputs(env).settings
    assert settings.fail_on_kev and settings.fail_on_epss == 0.05
    defaults = action.request_from_inputs({"GITHUB_WORKSPACE": str(tmp_path)}).settings
    assert not defaults.fail_on_kev and defaults.fail_on_epss is None


@pytest.mark.parametrize("value", ["2", "0", "-0.1", "high", "150%"])
def test_a_threshold_is_a_probability(value: str) -> None:
    with pytest.raises(UsageError, match="fail-on-epss must be an EPSS score"):
        epss_threshold(value)


def test_bad_policy_values_name_the_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"\.hardening\.yml:2: fail-on-epss"):
        _policy(tmp_path, "fail-on: high\nfail-on-epss: lots\n")
    with pytest.raises(UsageError, match=r"\.hardening\.yml:1: fail-on-kev"):
        _policy(tmp_path, "fail-on-kev: sometimes\n")
    with pytest.raises(UsageError, match="kev-url: expected a URL"):
        _policy(tmp_path, "kev-url: [a, b]\n")
    app = tmp_path / "app"
    app.mkdir()
    (app / "Dockerfile").write_text("FROM scratch\n")
    with pytest.raises(UsageError, match="input fail-on-kev must be true or false"):
        action.request_from_inputs({"GITHUB_WORKSPACE": str(app), "INPUT_FAIL-ON-KEV": "maybe"})
