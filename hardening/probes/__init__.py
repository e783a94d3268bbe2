"""Runtime probes: who the container really runs as, what it can really do, and whether it
survives a hardened runtime. Probes observe (``engine``) and produce a :class:`ProbeResult`;
the runtime rules (``hardening/rules/runtime/``, run by ``hardening.rules.check_runtime``)
judge it.

The image is started as configured, and at the same time with the hardened flags
(``--read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges:true``, plus
NET_BIND_SERVICE only when it exposes a port below 1024), so the grace period is waited once.
PID 1 is read from the outside, so images with no shell are observed too: from this machine's
/proc when the engine runs here, else from a helper container that joins the target's PID
namespace (see ``engine.Observer``); ``observed_by`` says which. The user's entrypoint is
overridden only when there is no other way, and the result says so.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from hardening.errors import ToolError
from hardening.model import Finding, Location

__all__ = ["ProbeOptions", "ProbeResult", "format_result", "judge", "probe_image"]


@dataclass(frozen=True, slots=True)
class ProbeOptions:
    min_uid: int = 1000
    grace_s: float = 5.0
    helper_image: str = ""  # "" = HARDENING_HELPER_IMAGE, "self" = this process's own image
    timeout_s: float = 60.0
    allowed_capabilities: frozenset[str] = frozenset()
    run_trial: bool = True
    health_budget_s: float = 20.0
    run_id: str = ""  # the scan's run id, so its containers carry its label; "" = a new one


@dataclass
class ProbeResult:
    image: str
    run_id: str = ""  # the label value on every container of this probe run
    user: dict[str, Any] = field(default_factory=dict)
    capabilities: dict[str, list[str]] = field(default_factory=dict)
    no_new_privs: bool | None = None
    seccomp: int | None = None
    observed_by: str = ""  # how PID 1 was read: the host's /proc, a helper container, a shell run
    hardened: dict[str, Any] = field(default_factory=dict)
    trial: dict[str, Any] = field(default_factory=dict)
    start_error: str = ""
    configured_user: str = ""
    exposed_ports: list[str] = field(default_factory=list)
    has_healthcheck: bool = False
    overrides: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    durations: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "run_id": self.run_id,
            "user": self.user or {"uid": None, "gid": None, "name": None, "groups": []},
            "configured_user": self.configured_user,
            "capabilities": self.capabilities,
            "no_new_privs": self.no_new_privs,
            "seccomp": self.seccomp,
            "observed_by": self.observed_by,
            "hardened": self.hardened,
            "trial": self.trial,
            "start_error": self.start_error,
            "exposed_ports": self.exposed_ports,
            "overrides": self.overrides,
            "notes": self.notes,
            "errors": self.errors,
            "durations": {k: round(v, 3) for k, v in self.durations.items()},
        }


def judge(
    result: ProbeResult, options: ProbeOptions, location: Location | None = None
) -> list[Finding]:
    """The runtime rules' findings on ``result`` (``hardening.rules.check_runtime``), at
    ``location`` when one is given."""
    from hardening.rules import check_runtime

    findings = check_runtime(result, options)
    return [replace(f, location=location) for f in findings] if location else findings


def _privileged_ports(ports: list[str]) -> list[int]:
    out = []
    for spec in ports:
        number = spec.split("/", 1)[0]
        if number.isdigit() and int(number) < 1024:
            out.append(int(number))
    return out


def probe_image(client: Any, image: str, options: ProbeOptions) -> ProbeResult:
    """Observe the image on the engine. Raises only when the image cannot be found."""
    from docker.errors import DockerException, ImageNotFound

    from hardening.probes import engine

    result = ProbeResult(image=image)
    try:
        attrs = client.images.get(image).attrs
    except ImageNotFound:
        raise ToolError(
            f"image {image} is not in the local engine", "build or pull it first"
        ) from None
    config = attrs.get("Config") or {}
    result.configured_user = str(config.get("User") or "")
    result.exposed_ports = sorted((config.get("ExposedPorts") or {}).keys())
    result.has_healthcheck = bool((config.get("Healthcheck") or {}).get("Test")) and (
        (config.get("Healthcheck") or {}).get("Test", [""])[0] != "NONE"
    )
    cap_add = ["NET_BIND_SERVICE"] if _privileged_ports(result.exposed_ports) else []
    health_options = _health_options(result, config)
    with engine.session(client, options.timeout_s, options.run_id) as session:
        result.run_id = session.run_id
        started = time.monotonic()
        has_shell = engine.has_file(session, image, "/bin/sh")
        passwd = engine.read_passwd(session, image)
        observer = _observer(client, session, image, options)
        result.durations["inspect"] = time.monotonic() - started

        hardened = engine.hardened_options(cap_add, [])
        started = time.monotonic()
        runs: list[tuple[str, dict[str, Any]]] = [("defaults", dict(health_options))]
        if options.run_trial:
            runs.append(("hardened", {**hardened, **health_options}))
        try:
            with ThreadPoolExecutor(max_workers=len(runs)) as pool:
                futures = {
                    name: pool.submit(
                        engine.start,
                        session,
                        image,
                        opts,
                        observer,
                        options.grace_s,
                        options.health_budget_s if result.has_healthcheck else 0.0,
                    )  # fmt: skip
                    for name, opts in runs
                }
                observed = {name: future.result() for name, future in futures.items()}
        except DockerException as exc:
            result.errors.append(f"running the image failed: {exc}")
            return result
        result.durations["run"] = time.monotonic() - started
        base = observed["defaults"]
        result.start_error = base.start_error
        _record_status(result, session, image, base, has_shell, passwd, observer)
        if options.run_trial:
            _trial(result, session, image, observed, hardened, cap_add, options, health_options)
    return result


def _health_options(result: ProbeResult, config: dict[str, Any]) -> dict[str, Any]:
    if not result.has_healthcheck:
        return {}
    # The image's own test, checked every second so the trial need not wait its interval.
    check = config.get("Healthcheck") or {}
    result.overrides.append(
        "the healthcheck's interval was set to 1s for the trial (its test is the image's own)"
    )
    return {
        "healthcheck": {
            "test": check.get("Test"),
            "interval": 1_000_000_000,
            "timeout": min(int(check.get("Timeout") or 5_000_000_000), 5_000_000_000),
            "retries": int(check.get("Retries") or 3),
            "start_period": int(check.get("StartPeriod") or 0),
        }
    }


def _observer(client: Any, session: Any, image: str, options: ProbeOptions) -> Any:
    """How PID 1 will be read: the helper image given, if any, comes first."""
    from hardening.probes import engine

    given, how = options.helper_image, "the helper image given"
    if not given:
        given, how = engine.environ_helper(), "HARDENING_HELPER_IMAGE"
    if given == "self":
        given, how = engine.self_image(client), "this process's own image"
    return engine.Observer(session, image, given, how)


def _record_status(result: ProbeResult, session: Any, image: str, base: Any, has_shell: bool,
                   passwd: dict[int, str], observer: Any) -> None:  # fmt: skip
    from hardening.probes import engine

    status = engine.summarize_status(base.status)
    result.observed_by = base.observed_by if status else ""
    if not status and has_shell and base.started and not base.running_at_end:
        # It exited before it could be observed: read the same facts from a shell run
        # under the same user and the same defaults (this overrides its entrypoint).
        code, output = session.run_to_end(
            image,
            ["-c", 'while IFS= read -r l; do echo "$l"; done < /proc/self/status'],
            entrypoint=["/bin/sh"],
        )
        if code == 0:
            from hardening.probes.capabilities import parse_status

            status = engine.summarize_status(parse_status(output))
            result.observed_by = "a /bin/sh run of the image (entrypoint overridden)"
            result.overrides.append(
                "the image exits at once, so PID 1 was read by running /bin/sh in it "
                "(entrypoint overridden) under the same user and defaults"
            )
    if status:
        uid = status["uid"]
        result.user = {
            "uid": uid, "gid": status["gid"], "name": passwd.get(uid) if uid is not None else None,
            "groups": status["groups"],
        }  # fmt: skip
        result.capabilities = status["capabilities"]
        result.no_new_privs = status["no_new_privs"]
        result.seccomp = status["seccomp"]
        if observer.reasons:
            result.notes.append(f"PID 1 was {result.observed_by} since {observer.why_not()}")
    elif base.started and base.running_at_end:
        result.errors.append(
            f"PID 1 could not be observed ({observer.why_not() or 'no way to read it'}); "
            "set HARDENING_HELPER_IMAGE to an image with cat"
        )
    elif base.started:
        result.errors.append("PID 1 could not be observed (it exited at once and has no shell)")


def _trial(result: ProbeResult, session: Any, image: str, observed: dict[str, Any],
           hardened: dict[str, Any], cap_add: list[str], options: ProbeOptions,
           health: dict[str, Any]) -> None:  # fmt: skip
    from hardening.probes import engine

    base, trial = observed["defaults"], observed["hardened"]
    started = time.monotonic()
    record: dict[str, Any] = {
        "passed": False,
        "flags": trial.flags,
        "tried": [{"flags": base.flags, "ok": base.ok, "exit_code": base.exit_code}],
        "broken_by": None,
        "failing_paths": [],
        "healthy": trial.health == "healthy" if result.has_healthcheck else None,
        "recommended_flags": [],
        "compose_snippet": "",
    }
    record["tried"].append({"flags": trial.flags, "ok": trial.ok, "exit_code": trial.exit_code})
    if trial.status:
        result.hardened = {
            **engine.summarize_status(trial.status),
            "observed_by": trial.observed_by,
        }
    if not base.up:
        record["not_applicable"] = (
            f"the image does not stay up even with Docker's defaults (exit code {base.exit_code})"
            if base.started
            else f"it does not start: {base.start_error}"
        )
        result.trial = record
        return
    final_options = hardened
    health_broken_anyway = result.has_healthcheck and trial.up and base.health != "healthy"
    if health_broken_anyway:
        # Unhealthy with Docker's defaults too: the healthcheck itself fails, not the flags.
        record["passed"] = False
        record["recommended_flags"] = _flags(final_options, result)
        record["compose_snippet"] = _compose(final_options, result)
        result.trial = record
        return
    if not trial.ok:
        final_options = _diagnose(
            result, session, image, trial, hardened, cap_add, options, health, record
        )
    record["passed"] = trial.ok
    record["recommended_flags"] = _flags(final_options, result)
    record["compose_snippet"] = _compose(final_options, result)
    result.trial = record
    result.durations["diagnose"] = time.monotonic() - started


def _diagnose(result: ProbeResult, session: Any, image: str, trial: Any,
              hardened: dict[str, Any], cap_add: list[str], options: ProbeOptions,
              health: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """Which flags broke the hardened trial, one at a time, and what it writes to; the flags it
    was seen to run with."""
    from hardening.probes import engine

    final_options = hardened
    broken: list[str] = []
    singles = {
        "--read-only": engine.hardened_options([], [], True, False, False),
        "--cap-drop ALL": engine.hardened_options(cap_add, [], False, True, False),
        "--security-opt no-new-privileges:true": engine.hardened_options(
            [], [], False, False, True
        ),
    }
    logs = trial.logs
    budget = options.health_budget_s if result.has_healthcheck else 0.0
    for flag, opts in singles.items():
        single = engine.start(session, image, {**opts, **health}, None, options.grace_s, budget)
        record["tried"].append(
            {"flags": single.flags, "ok": single.ok, "exit_code": single.exit_code}
        )
        if not single.ok:
            broken.append(flag)
            logs += "\n" + single.logs
    paths, not_permitted = engine.diagnose(logs)
    record["broken_by"] = ", ".join(broken) or "the combination of the flags"
    record["failing_paths"] = paths
    record["not_permitted"] = not_permitted
    if broken == ["--read-only"] and paths:
        # Give the paths it writes to a tmpfs, and see whether that is all it needs.
        folders = sorted({p if p.count("/") <= 1 else p.rsplit("/", 1)[0] for p in paths})
        adjusted = engine.hardened_options(cap_add, [f for f in folders if f != "/tmp"])
        retry = engine.start(session, image, {**adjusted, **health}, None, options.grace_s, budget)
        record["tried"].append({"flags": retry.flags, "ok": retry.ok, "exit_code": retry.exit_code})
        if retry.ok:
            final_options = adjusted
            record["passed_with_tmpfs"] = folders
    if final_options is hardened:
        final_options = engine.hardened_options(
            cap_add,
            [],
            "--read-only" not in broken,
            "--cap-drop ALL" not in broken,
            "--security-opt no-new-privileges:true" not in broken,
        )
    return final_options


def _user_flag(result: ProbeResult) -> str:
    uid, gid = result.user.get("uid"), result.user.get("gid")
    if uid:
        return f"{uid}:{gid}" if gid is not None else str(uid)
    return ""


def _flags(options: dict[str, Any], result: ProbeResult) -> list[str]:
    from hardening.probes.engine import flags_of

    flags = [f for f in flags_of(options) if f != "--network none"]
    user = _user_flag(result)
    if user:
        flags.append(f"--user {user}")
    return flags


def _compose(options: dict[str, Any], result: ProbeResult) -> str:
    lines = ["services:", "  app:", "    image: IMAGE"]
    user = _user_flag(result)
    if user:
        lines.append(f'    user: "{user}"')
    if options.get("read_only"):
        lines.append("    read_only: true")
        lines.append("    tmpfs:")
        lines += [f"      - {path}" for path in options.get("tmpfs", {})]
    if options.get("cap_drop"):
        lines += ["    cap_drop:", "      - ALL"]
        if options.get("cap_add"):
            lines += ["    cap_add:"] + [f"      - {c}" for c in options["cap_add"]]
    if options.get("security_opt"):
        lines += ["    security_opt:"] + [f'      - "{o}"' for o in options["security_opt"]]
    return "\n".join(lines) + "\n"


def format_result(result: ProbeResult) -> str:
    user = result.user
    lines = [f"image: {result.image}"]
    if user:
        name = f" ({user.get('name')})" if user.get("name") else ""
        lines.append(
            f"runs as: uid {user.get('uid')}{name}, gid {user.get('gid')}, groups {user.get('groups')}"
        )
    if result.start_error:
        lines.append(f"does not start: {result.start_error}")
    if result.capabilities:
        lines.append(
            "effective capabilities: " + (", ".join(result.capabilities["effective"]) or "none")
        )
        lines.append("bounding set: " + (", ".join(result.capabilities["bounding"]) or "none"))
        lines.append(f"no_new_privs: {result.no_new_privs}   seccomp: {result.seccomp}")
    if result.observed_by:
        lines.append(f"observed: {result.observed_by}")
    trial = result.trial
    if trial:
        if trial.get("not_applicable"):
            lines.append(f"hardened trial: not applicable ({trial['not_applicable']})")
        else:
            verdict = (
                "passed" if trial.get("passed") else f"failed (broken by {trial.get('broken_by')})"
            )
            lines.append(f"hardened trial: {verdict}")
            lines.append(
                "recommended: docker run " + " ".join(trial.get("recommended_flags", [])) + " IMAGE"
            )
    for note in result.overrides + result.notes:
        lines.append(f"note: {note}")
    for error in result.errors:
        lines.append(f"error: {error}")
    return "\n".join(lines)
