"""The rules that read facts other stages produce: what running the image showed (the runtime
rules, on probe results made by hand) and the resolved digest pins. No Docker, no registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from hardening.errors import HardeningError
from hardening.model import Kind, Location, Severity
from hardening.probes import ProbeOptions, ProbeResult, judge
from hardening.probes.capabilities import DOCKER_DEFAULTS
from hardening.rules import check_pins, check_runtime
from hardening.supply.pins import Pin
from hardening.targets.dockerfile import parse_dockerfile
from tests.rules.cases.runtime import ROOT, failed_trial, observed


def _ids(result: ProbeResult, options: ProbeOptions | None = None) -> set[str]:
    return {f.rule_id for f in check_runtime(result, options or ProbeOptions())}


def test_root_with_dockers_default_capabilities() -> None:
    caps = {"effective": sorted(DOCKER_DEFAULTS), "bounding": sorted(DOCKER_DEFAULTS)}
    findings = check_runtime(observed(user=ROOT, capabilities=caps), ProbeOptions())
    by_id = {f.rule_id: f for f in findings}
    assert set(by_id) == {"DH-R401", "DH-R404"}
    assert by_id["DH-R401"].severity is Severity.HIGH and by_id["DH-R401"].kind is Kind.RUNTIME
    assert "CAP_NET_RAW" in by_id["DH-R404"].message
    assert by_id["DH-R401"].location == Location() and by_id["DH-R401"].checklist == ("C03",)


def test_low_uid_extra_capabilities_and_no_seccomp_unless_allowed() -> None:
    caps = {"effective": [], "bounding": [*sorted(DOCKER_DEFAULTS), "CAP_SYS_ADMIN"]}
    result = observed(user={"uid": 33, "name": "www-data"}, capabilities=caps, seccomp=0)
    findings = {f.rule_id: f.message for f in check_runtime(result, ProbeOptions())}
    assert set(findings) == {"DH-R402", "DH-R405", "DH-R406"}
    assert "uid 33 (www-data), below the minimum 1000" in findings["DH-R402"]
    allowed = ProbeOptions(min_uid=10, allowed_capabilities=frozenset({"SYS_ADMIN"}))
    assert _ids(observed(user={"uid": 33}, capabilities=caps), allowed) == set()


def test_an_unread_pid_1_is_not_judged_as_seccomp_off() -> None:
    assert _ids(observed(capabilities={}, seccomp=0)) == set()


def test_a_missing_user_is_explained_and_nothing_else_is_judged() -> None:
    error = "unable to find user ghost: no matching entries in passwd file"
    result = observed(start_error=error, configured_user="ghost", user=ROOT, seccomp=0)
    (finding,) = check_runtime(result, ProbeOptions())
    assert finding.rule_id == "DH-R403"
    assert "ghost" in finding.message and "/etc/passwd" in finding.message


def test_an_image_that_does_not_start_or_stay_up() -> None:
    (start,) = check_runtime(observed(start_error="exec: /app: not found"), ProbeOptions())
    assert start.rule_id == "DH-R411" and "does not start: exec: /app" in start.message
    why = "the image does not stay up even with Docker's defaults (exit code 1)"
    (down,) = check_runtime(observed(trial={"not_applicable": why}), ProbeOptions())
    assert down.rule_id == "DH-R411" and down.message == why


def test_trial_failures_name_the_flag_and_what_broke() -> None:
    result = failed_trial(
        "--read-only, --cap-drop ALL", failing_paths=["/var/cache/app"], not_permitted=True
    )
    messages = {f.rule_id: f.message for f in check_runtime(result, ProbeOptions())}
    assert set(messages) == {"DH-R407", "DH-R408"}
    assert "/var/cache/app" in messages["DH-R407"]
    assert "not permitted" in messages["DH-R408"]
    tmpfs = failed_trial("--read-only", failing_paths=["/a/b"], passed_with_tmpfs=["/a"])
    (finding,) = check_runtime(tmpfs, ProbeOptions())
    assert finding.message.endswith("(it ran with a tmpfs for /a)")


def test_unhealthy_is_reported_only_when_no_flag_broke_the_trial() -> None:
    assert _ids(failed_trial("--read-only", healthy=False)) == {"DH-R407"}
    assert _ids(failed_trial("", healthy=False)) == {"DH-R410"}


def test_the_probe_command_keeps_its_judge_with_a_location() -> None:
    where = Location(path="Dockerfile", line=1)
    (finding,) = judge(observed(user=ROOT), ProbeOptions(), where)
    assert finding.rule_id == "DH-R401" and finding.location == where


def test_a_crashing_runtime_rule_fails_the_stage() -> None:
    malformed = observed(user=["not", "a", "mapping"])
    with pytest.raises(HardeningError, match="DH-R401 crashed"):
        check_runtime(malformed, ProbeOptions())


OLD, NEW = "sha256:" + "1" * 64, "sha256:" + "2" * 64


def test_a_stale_pin_gets_the_exact_new_line_and_the_age(tmp_path: Path) -> None:
    line = f"FROM --platform=linux/amd64 registry.test/app:1@{OLD} AS base"
    model = parse_dockerfile(f"{line}\nUSER 10001\n", "build/Dockerfile")
    pins = (
        Pin(1, line, digest=OLD, current=NEW, age_days=120),
        Pin(2, "FROM other", digest=OLD, current=""),  # the tag could not be resolved
    )
    (finding,) = check_pins(model, pins)
    replacement = line.replace(OLD, NEW)
    assert finding.rule_id == "DH-D123" and finding.checklist == ("C08", "C16")
    assert finding.location.path == "build/Dockerfile" and finding.location.line == 1
    assert finding.fix == f"Replace line 1 with: {replacement}"
    assert finding.property("replacement") == replacement and finding.property("digest") == NEW
    assert finding.property("key") == line
    assert "120 days old" in finding.message
