"""Run the image for real and observe it. The only module of the probes that talks to Docker.

Every container it starts has no network, memory/CPU/pids limits, a run-unique label, is never
privileged, and is removed on every path (success, failure, timeout, Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import socket
import tarfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from hardening.probes.capabilities import decode, parse_status

RUN_LABEL = "docker-hardening.run"
LIMITS: dict[str, Any] = {"mem_limit": "256m", "nano_cpus": 1_000_000_000, "pids_limit": 256}
READ_ONLY_LINE = re.compile(r"(?:Read-only file system|EROFS)", re.IGNORECASE)
PATH_IN_LINE = re.compile(r"(/[A-Za-z0-9._@+-]+(?:/[A-Za-z0-9._@+-]+)*)")
NOT_PERMITTED = re.compile(r"Operation not permitted|EPERM|Permission denied", re.IGNORECASE)


@dataclass
class Observation:
    """What one container did."""

    flags: list[str]
    started: bool = False
    start_error: str = ""
    running_at_end: bool = False
    exit_code: int | None = None
    health: str = ""  # healthy, unhealthy, starting, or "" when the image has no healthcheck
    logs: str = ""
    status: dict[str, str] = field(default_factory=dict)  # /proc/1/status fields

    @property
    def up(self) -> bool:
        """Stayed up for the grace period, or finished with exit code 0 (a one-shot image)."""
        return self.started and (self.running_at_end or self.exit_code == 0)

    @property
    def ok(self) -> bool:
        return self.up and (not self.health or self.health == "healthy")


class Session:
    """Containers of one probe run, found again by their label for cleanup."""

    def __init__(self, client: Any, timeout_s: float) -> None:
        self.client = client
        self.timeout_s = timeout_s
        self.run_id = uuid.uuid4().hex[:16]
        self._lock = threading.Lock()
        self._ids: list[str] = []

    def __enter__(self) -> Session:
        self._previous = None
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.getsignal(signal.SIGTERM)
            signal.signal(signal.SIGTERM, self._on_sigterm)
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)

    def _on_sigterm(self, signum: int, frame: object) -> None:
        self.cleanup()
        raise KeyboardInterrupt("terminated")

    def cleanup(self) -> None:
        from docker.errors import DockerException

        with contextlib.suppress(DockerException):
            for container in self.client.containers.list(
                all=True, filters={"label": f"{RUN_LABEL}={self.run_id}"}
            ):
                with contextlib.suppress(DockerException):
                    container.remove(force=True)

    def create(self, image: str, **kwargs: Any) -> Any:
        labels = {RUN_LABEL: self.run_id}
        options: dict[str, Any] = {"network_mode": "none", "labels": labels, **LIMITS}
        options.update(kwargs)
        options["privileged"] = False
        container = self.client.containers.create(image, **options)
        with self._lock:
            self._ids.append(container.id)
        return container

    def remove(self, container: Any) -> None:
        from docker.errors import DockerException

        with contextlib.suppress(DockerException):
            container.remove(force=True)

    def run_to_end(self, image: str, command: list[str], **kwargs: Any) -> tuple[int, str]:
        """Run a short command to completion; (exit code, output)."""
        container = self.create(image, command=command, **kwargs)
        try:
            container.start()
            result = container.wait(timeout=self.timeout_s)
            output = container.logs(stdout=True, stderr=True).decode(errors="replace")
            return int(result.get("StatusCode", 1)), output
        finally:
            self.remove(container)


def hardened_options(cap_add: list[str], tmpfs: list[str], read_only: bool = True,
                     drop_caps: bool = True, no_new_privileges: bool = True) -> dict[str, Any]:  # fmt: skip
    options: dict[str, Any] = {}
    if read_only:
        options["read_only"] = True
        options["tmpfs"] = {path: "rw,noexec,nosuid,size=64m" for path in ["/tmp", *tmpfs]}
    if drop_caps:
        options["cap_drop"] = ["ALL"]
        if cap_add:
            options["cap_add"] = cap_add
    if no_new_privileges:
        options["security_opt"] = ["no-new-privileges:true"]
    return options


def flags_of(options: dict[str, Any]) -> list[str]:
    flags = ["--network none"]
    if options.get("read_only"):
        flags.append("--read-only")
        flags += [f"--tmpfs {p}" for p in options.get("tmpfs", {})]
    if options.get("cap_drop"):
        flags.append("--cap-drop ALL")
        flags += [f"--cap-add {c}" for c in options.get("cap_add", [])]
    flags += [f"--security-opt {o}" for o in options.get("security_opt", [])]
    return flags


def read_passwd(session: Session, image: str) -> dict[int, str]:
    """uid -> name from the image's /etc/passwd, read without running anything in it."""
    from docker.errors import DockerException

    container = None
    try:
        container = session.create(image, command=["true"], entrypoint=[])
        stream, _ = container.get_archive("/etc/passwd")
        data = b"".join(stream)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            member = tar.getmembers()[0]
            handle = tar.extractfile(member)
            text = handle.read().decode(errors="replace") if handle else ""
    except (DockerException, IndexError, tarfile.TarError):
        return {}
    finally:
        if container is not None:
            session.remove(container)
    users: dict[int, str] = {}
    for line in text.splitlines():
        parts = line.split(":")
        if len(parts) >= 3 and parts[2].isdigit():
            users.setdefault(int(parts[2]), parts[0])
    return users


def has_file(session: Session, image: str, path: str) -> bool:
    from docker.errors import DockerException, NotFound

    container = None
    try:
        container = session.create(image, command=["true"], entrypoint=[])
        container.get_archive(path)
        return True
    except (NotFound, DockerException):
        return False
    finally:
        if container is not None:
            session.remove(container)


def self_image(client: Any) -> str:
    """The image of the container this process runs in (the action's own image on GitHub)."""
    from docker.errors import DockerException

    with contextlib.suppress(DockerException, OSError):
        return str(client.containers.get(socket.gethostname()).image.id)
    return ""


def read_pid1_status(session: Session, helper: str, target_id: str) -> dict[str, str]:
    code, output = session.run_to_end(
        helper,
        ["cat", "/proc/1/status"],
        entrypoint=[],
        pid_mode=f"container:{target_id}",
        user="0",
    )
    return parse_status(output) if code == 0 else {}


def start(session: Session, image: str, options: dict[str, Any], observe_with: str,
          grace_s: float, health_budget_s: float) -> Observation:  # fmt: skip
    """Start the image as configured (plus ``options``), observe PID 1, wait the grace period."""
    from docker.errors import APIError, DockerException

    observation = Observation(flags=flags_of(options))
    container = session.create(image, detach=True, **options)
    try:
        try:
            container.start()
            observation.started = True
        except APIError as exc:
            observation.start_error = str(exc.explanation or exc)
            return observation
        deadline = time.monotonic() + grace_s
        observed = False
        while True:
            container.reload()
            state = container.attrs.get("State", {})
            if not observed and state.get("Running") and observe_with:
                with contextlib.suppress(DockerException):
                    observation.status = read_pid1_status(session, observe_with, container.id)
                observed = True
            health = (state.get("Health") or {}).get("Status", "")
            if not state.get("Running"):
                observation.exit_code = int(state.get("ExitCode", 1))
                break
            if time.monotonic() >= deadline:
                if health in ("starting",) and time.monotonic() < deadline + health_budget_s:
                    time.sleep(0.25)
                    continue
                observation.running_at_end = True
                break
            time.sleep(0.2)
        container.reload()
        state = container.attrs.get("State", {})
        observation.health = (state.get("Health") or {}).get("Status", "")
        observation.logs = container.logs(stdout=True, stderr=True, tail=200).decode(
            errors="replace"
        )
        return observation
    finally:
        session.remove(container)


def diagnose(logs: str) -> tuple[list[str], bool]:
    """Paths a read-only root filesystem refused, and whether something was not permitted."""
    paths: list[str] = []
    for line in logs.splitlines():
        if READ_ONLY_LINE.search(line):
            for path in PATH_IN_LINE.findall(line):
                if path not in paths and not path.startswith("/proc"):
                    paths.append(path)
    return paths, bool(NOT_PERMITTED.search(logs))


@contextlib.contextmanager
def session(client: Any, timeout_s: float) -> Iterator[Session]:
    with Session(client, timeout_s) as s:
        yield s


def summarize_status(status: dict[str, str]) -> dict[str, Any]:
    if not status:
        return {}
    uid = status.get("Uid", "").split()
    gid = status.get("Gid", "").split()
    return {
        "uid": int(uid[1]) if len(uid) > 1 else None,
        "gid": int(gid[1]) if len(gid) > 1 else None,
        "groups": [int(g) for g in status.get("Groups", "").split() if g.isdigit()],
        "capabilities": {
            "effective": decode(status.get("CapEff", "0")),
            "permitted": decode(status.get("CapPrm", "0")),
            "bounding": decode(status.get("CapBnd", "0")),
            "inheritable": decode(status.get("CapInh", "0")),
            "ambient": decode(status.get("CapAmb", "0")),
        },
        "no_new_privs": status.get("NoNewPrivs", "0") == "1",
        "seccomp": int(status.get("Seccomp", "0") or 0),
    }


def environ_helper() -> str:
    return os.environ.get("HARDENING_HELPER_IMAGE", "")
