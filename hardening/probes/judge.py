"""Pure judgement of what the probes saw. Tested on facts; only the probes need Docker."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hardening.model import Finding, Kind, Location, RuleDoc, Severity
from hardening.probes.capabilities import DOCKER_DEFAULTS, RISKY_DEFAULTS

if TYPE_CHECKING:
    from hardening.probes import ProbeResult


def _doc(
    id: str,
    name: str,
    title: str,
    severity: Severity,
    checklist: tuple[str, ...],
    why: str,
    fix: str,
) -> RuleDoc:
    return RuleDoc(
        id, name, title, severity, Kind.RUNTIME, checklist, why, fix, owasp="A01", target="runtime"
    )


R401 = _doc(
    "DH-R401",
    "runtime-user-is-root",
    "The container really runs as root",
    Severity.HIGH,
    ("C03",),
    "Running the image showed PID 1 with uid 0.",
    "Add `USER <uid>` (10000 or more) to the final stage.",
)
R402 = _doc(
    "DH-R402",
    "runtime-uid-below-minimum",
    "The container runs with a low uid",
    Severity.LOW,
    ("C03",),
    "PID 1 runs with a uid below the configured minimum, which can collide with host system accounts.",
    "Use a dedicated uid of 10000 or more.",
)
R403 = _doc(
    "DH-R403",
    "runtime-user-missing",
    "The configured USER does not exist in the image",
    Severity.HIGH,
    ("C03",),
    "The container fails to start because USER names a user with no /etc/passwd entry.",
    "Create the user in the final stage (`useradd`/`adduser`), or use a numeric uid:gid.",
)
R404 = _doc(
    "DH-R404",
    "runtime-effective-capabilities",
    "PID 1 holds risky capabilities under Docker's defaults",
    Severity.MEDIUM,
    ("C05",),
    "Under Docker's default flags PID 1 has capabilities such as NET_RAW (packet spoofing) or "
    "SYS_PTRACE in its effective set.",
    "Run as non-root and with `--cap-drop ALL` (adding back only what is needed).",
)
R405 = _doc(
    "DH-R405",
    "runtime-capabilities-beyond-default",
    "PID 1 has capabilities beyond Docker's default set",
    Severity.HIGH,
    ("C05",),
    "The engine grants more than its 14 default capabilities.",
    "Check the daemon and the run flags; drop ALL and add back only what is needed.",
)
R406 = _doc(
    "DH-R406",
    "runtime-seccomp-disabled",
    "The container runs without seccomp",
    Severity.HIGH,
    ("C07",),
    "PID 1 runs with seccomp mode 0: no system call filtering.",
    "Do not run with `seccomp=unconfined`; keep Docker's default profile or a custom one.",
)
R407 = _doc(
    "DH-R407",
    "runtime-fails-read-only",
    "The image does not run with a read-only root filesystem",
    Severity.MEDIUM,
    ("C04",),
    "With --read-only the container fails: it writes outside /tmp.",
    "Write only to /tmp or to declared volumes; mount a tmpfs for the paths it writes.",
)
R408 = _doc(
    "DH-R408",
    "runtime-needs-capabilities",
    "The image does not run with all capabilities dropped",
    Severity.MEDIUM,
    ("C05",),
    "With --cap-drop ALL the container fails.",
    "Find the capability it needs (the log says 'Operation not permitted') and add back only that one.",
)
R409 = _doc(
    "DH-R409",
    "runtime-fails-no-new-privileges",
    "The image does not run with no-new-privileges",
    Severity.MEDIUM,
    ("C06",),
    "With no-new-privileges the container fails: it relies on setuid binaries or file capabilities.",
    "Remove the need for setuid/setcap binaries (run as the right user from the start).",
)
R410 = _doc(
    "DH-R410",
    "runtime-not-healthy",
    "The healthcheck never turned healthy in the hardened trial",
    Severity.MEDIUM,
    ("C13",),
    "The image defines a HEALTHCHECK, but it did not pass under the hardened flags.",
    "Make the healthcheck work without a shell and without writes, or fix what the hardened flags break.",
)
R411 = _doc(
    "DH-R411",
    "runtime-does-not-stay-up",
    "The image does not stay up even with Docker's defaults",
    Severity.LOW,
    (),
    "The container exits with an error as configured, so its runtime could not be trialled.",
    "Check its entrypoint and command; one-shot images should exit 0.",
)

PROBE_DOCS: tuple[RuleDoc, ...] = (R401, R402, R403, R404, R405, R406, R407, R408, R409, R410, R411)


def _finding(doc: RuleDoc, message: str, location: Location | None, key: str = "") -> Finding:
    return Finding(
        rule_id=doc.id, kind=Kind.RUNTIME, severity=doc.severity, title=doc.title, message=message,
        location=location or Location(), tools=("docker-hardening",), checklist=doc.checklist,
        fix=doc.fix, properties=(("key", key),) if key else (),
    )  # fmt: skip


def judge_result(result: ProbeResult, min_uid: int, allowed: frozenset[str],
                 location: Location | None) -> list[Finding]:  # fmt: skip
    out: list[Finding] = []
    if result.start_error:
        if (
            "unable to find user" in result.start_error
            or "no matching entries in passwd" in result.start_error
        ):
            out.append(
                _finding(
                    R403,
                    f"the container does not start: {result.start_error.strip()[:300]} "
                    f"(USER {result.configured_user!r} has no entry in /etc/passwd)",
                    location,
                )
            )
        else:
            out.append(
                _finding(
                    R411,
                    f"the container does not start: {result.start_error.strip()[:300]}",
                    location,
                )
            )
        return out
    uid = result.user.get("uid")
    if uid == 0:
        out.append(_finding(R401, "running the image shows PID 1 as uid 0 (root)", location))
    elif isinstance(uid, int) and uid < min_uid:
        name = f" ({result.user.get('name')})" if result.user.get("name") else ""
        out.append(
            _finding(R402, f"PID 1 runs as uid {uid}{name}, below the minimum {min_uid}", location)
        )
    effective = set(result.capabilities.get("effective", []))
    bounding = set(result.capabilities.get("bounding", []))
    allowed_names = {c if c.startswith("CAP_") else f"CAP_{c}" for c in allowed}
    risky = sorted((effective & RISKY_DEFAULTS) - allowed_names)
    if risky:
        out.append(
            _finding(
                R404,
                f"PID 1's effective capabilities under Docker's defaults include {', '.join(risky)}",
                location,
            )
        )
    extra = sorted(bounding - DOCKER_DEFAULTS - allowed_names)
    if extra:
        out.append(
            _finding(
                R405, f"the bounding set has {', '.join(extra)} beyond Docker's defaults", location
            )
        )
    if result.seccomp == 0 and result.capabilities:
        out.append(_finding(R406, "PID 1 runs with seccomp mode 0 (no filtering)", location))
    trial = result.trial
    if trial and not trial.get("not_applicable"):
        broken = trial.get("broken_by") or ""
        if not trial.get("passed"):
            if "--read-only" in broken:
                paths = trial.get("failing_paths") or []
                where = f": it writes to {', '.join(paths[:5])}" if paths else ""
                extra_note = (
                    " (it ran with a tmpfs for " + ", ".join(trial["passed_with_tmpfs"]) + ")"
                    if trial.get("passed_with_tmpfs")
                    else ""
                )
                out.append(
                    _finding(
                        R407, f"the container fails with --read-only{where}{extra_note}", location
                    )
                )
            if "--cap-drop ALL" in broken:
                hint = (
                    " (its log says an operation was not permitted)"
                    if trial.get("not_permitted")
                    else ""
                )
                out.append(
                    _finding(R408, f"the container fails with --cap-drop ALL{hint}", location)
                )
            if "no-new-privileges" in broken:
                out.append(
                    _finding(
                        R409,
                        "the container fails with --security-opt no-new-privileges:true",
                        location,
                    )
                )
        if trial.get("healthy") is False and not broken:
            out.append(
                _finding(
                    R410,
                    "the healthcheck did not report healthy under the hardened flags",
                    location,
                )
            )
    elif trial and trial.get("not_applicable") and "does not stay up" in trial["not_applicable"]:
        out.append(_finding(R411, trial["not_applicable"], location))
    return out
