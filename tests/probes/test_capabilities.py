"""Decoding capability masks: pure, no Docker. (The runtime rules that judge the probe
result are tested in tests/rules.)"""

from __future__ import annotations

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
