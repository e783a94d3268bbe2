"""Decoding capability masks and judging probe facts: pure, no Docker."""

from __future__ import annotations

from hardening.model import Kind, Severity
from hardening.probes import ProbeOptions, ProbeResult, judge
from hardening.probes.capabilities import CAPABILITIES, DOCKER_DEFAULTS, decode, encode


def test_all_41_capabilities_by_bit() -> None:
    assert len(CAPABILITIES) == 41
    assert CAPABILITIES[0] == "CAP_CHOWN" and CAPABILITIES[13] == "CAP_NET_RAW"
    assert CAPABILITIES[21] == "CAP_SYS_ADMIN" and CAPABILITIES[40] == "CAP_CHECKPOINT_RESTORE"


def test_docker_default_mask_decodes_to_the_14_defaults() -> None:
    # CapBnd of a default Docker container, as /proc/1/status prints it.
    assert set(decode("00000000a80425fb")) == DOCKER_DEFAULTS
    assert decode("0000000000000000") == []
    assert decode(encode(["CAP_NET_BIND_SERVICE"])) == ["CAP_NET_BIND_SERVICE"]
    assert decode("000001ffffffffff") == list(CAPABILITIES)


def _result(**kwargs: object) -> ProbeResult:
    result = ProbeResult(image="x")
    for key, value in kwargs.items():
        setattr(result, key, value)
    return result


def test_judge_root_and_risky_capabilities() -> None:
    caps = {
        "effective": sorted(DOCKER_DEFAULTS),
        "bounding": sorted(DOCKER_DEFAULTS),
        "permitted": [],
        "inheritable": [],
        "ambient": [],
    }
    findings = judge(
        _result(user={"uid": 0, "gid": 0}, capabilities=caps, seccomp=2), ProbeOptions()
    )
    ids = {f.rule_id: f for f in findings}
    assert set(ids) == {"DH-R401", "DH-R404"}
    assert ids["DH-R401"].severity is Severity.HIGH and ids["DH-R401"].kind is Kind.RUNTIME
    assert "CAP_NET_RAW" in ids["DH-R404"].message


def test_judge_non_root_with_empty_effective_set_is_clean() -> None:
    caps = {
        "effective": [],
        "bounding": sorted(DOCKER_DEFAULTS),
        "permitted": [],
        "inheritable": [],
        "ambient": [],
    }
    result = _result(user={"uid": 10001, "gid": 10001}, capabilities=caps, seccomp=2,
                     trial={"passed": True, "broken_by": None})  # fmt: skip
    assert judge(result, ProbeOptions()) == []


def test_judge_low_uid_beyond_defaults_and_no_seccomp() -> None:
    caps = {
        "effective": [],
        "bounding": [*sorted(DOCKER_DEFAULTS), "CAP_SYS_ADMIN"],
        "permitted": [],
        "inheritable": [],
        "ambient": [],
    }
    findings = judge(
        _result(user={"uid": 33, "name": "www-data"}, capabilities=caps, seccomp=0), ProbeOptions()
    )
    assert {f.rule_id for f in findings} == {"DH-R402", "DH-R405", "DH-R406"}
    allowed = judge(
        _result(user={"uid": 33}, capabilities=caps, seccomp=2),
        ProbeOptions(min_uid=10, allowed_capabilities=frozenset({"SYS_ADMIN"})),
    )
    assert allowed == []


def test_judge_missing_user_is_explained() -> None:
    error = "unable to find user ghost: no matching entries in passwd file"
    findings = judge(_result(start_error=error, configured_user="ghost"), ProbeOptions())
    assert [f.rule_id for f in findings] == ["DH-R403"]
    assert "ghost" in findings[0].message and "/etc/passwd" in findings[0].message


def test_judge_trial_failures() -> None:
    trial = {
        "passed": False,
        "broken_by": "--read-only, --cap-drop ALL",
        "failing_paths": ["/var/cache/app"],
        "not_permitted": True,
    }
    findings = judge(_result(user={"uid": 10001}, trial=trial), ProbeOptions())
    messages = {f.rule_id: f.message for f in findings}
    assert set(messages) == {"DH-R407", "DH-R408"}
    assert "/var/cache/app" in messages["DH-R407"]
