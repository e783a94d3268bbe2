"""Runtime rules: probe results made by hand (what running the image would have shown)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hardening.probes import ProbeResult
from hardening.probes.capabilities import DOCKER_DEFAULTS
from tests.rules.cases import Case, Inputs


def observed(**changes: Any) -> ProbeResult:
    """A container that started and behaved: uid 10001, no effective capabilities, Docker's
    default bounding set and seccomp filter, the hardened trial passed and stayed healthy."""
    clean = ProbeResult(
        image="app:test",
        user={"uid": 10001, "gid": 10001, "name": "app", "groups": [10001]},
        capabilities={"effective": [], "bounding": sorted(DOCKER_DEFAULTS), "permitted": [],
                      "inheritable": [], "ambient": []},
        no_new_privs=False,
        seccomp=2,
        trial={"passed": True, "broken_by": None, "failing_paths": [], "healthy": True},
        configured_user="app",
        has_healthcheck=True,
    )  # fmt: skip
    return replace(clean, **changes)


def failed_trial(broken_by: str, **more: Any) -> ProbeResult:
    return observed(trial={"passed": False, "broken_by": broken_by, "failing_paths": [], **more})


def _case(bad: ProbeResult) -> Case:
    return Case(Inputs(runtime=bad), Inputs(runtime=observed()))


ROOT = {"uid": 0, "gid": 0, "name": "root", "groups": [0]}

CASES: dict[str, Case] = {
    "DH-R401": _case(observed(user=ROOT)),
    "DH-R402": _case(observed(user={"uid": 33, "gid": 33, "name": "www-data", "groups": [33]})),
    "DH-R403": _case(
        observed(
            start_error="unable to find user ghost: no matching entries in passwd file",
            configured_user="ghost",
            user={},
            capabilities={},
            trial={},
        )
    ),
    "DH-R404": _case(
        observed(
            capabilities={"effective": sorted(DOCKER_DEFAULTS), "bounding": sorted(DOCKER_DEFAULTS)}
        )
    ),
    "DH-R405": _case(
        observed(
            capabilities={"effective": [], "bounding": [*sorted(DOCKER_DEFAULTS), "CAP_SYS_ADMIN"]}
        )
    ),
    "DH-R406": _case(observed(seccomp=0)),
    "DH-R407": _case(failed_trial("--read-only", failing_paths=["/var/cache/app/state"])),
    "DH-R408": _case(failed_trial("--cap-drop ALL", not_permitted=True)),
    "DH-R409": _case(failed_trial("--security-opt no-new-privileges:true")),
    "DH-R410": _case(
        observed(trial={"passed": True, "broken_by": None, "failing_paths": [], "healthy": False})
    ),
    "DH-R411": _case(
        observed(
            start_error="exec: /app/server: no such file or directory",
            user={},
            capabilities={},
            trial={},
        )
    ),
}
