"""Run the image for real and observe it. The only module of the probes that talks to Docker.

Every container it starts has no network, memory/CPU/pids limits, a run-unique label, is never
privileged, and is removed on every path (success, failure, timeout, Ctrl-C or SIGTERM); so is
the helper image it may make from this machine's static busybox. Nothing is ever pulled.
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
from pathlib import Path
from typing import Any

from hardening import processes
from hardening.probes import hostproc
from hardening.probes.capabilities import decode, parse_status

RUN_LABEL = "docker-hardening.run"
HELPER_REPOSITORY = "docker-hardening.helper/proc-reader"
STATUS_PATH = "/proc/1/status"
LOCAL_HELPER_CANDIDATES = 8  # images already in the engine checked for cat, smallest first
HOST_PREFIX = "read from the host's "
HOST_READ_TRIES = 40  # 50 ms apart, while the runtime's init has not yet become the program
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
    observed_by: str = ""  # how ``status`` was read (see Observer)

    @property
    def up(self) -> bool:
        """Stayed up for the grace period, or finished with exit code 0 (a one-shot image)."""
        return self.started and (self.running_at_end or self.exit_code == 0)

    @property
    def ok(self) -> bool:
        return self.up and (not self.health or self.health == "healthy")


class Session:
    """Containers of one probe run, found again by their label for cleanup."""

    def __init__(self, client: Any, timeout_s: float, run_id: str = "") -> None:
        self.client = client
        self.timeout_s = timeout_s
        self.run_id = run_id or uuid.uuid4().hex[:16]
        self._lock = threading.Lock()
        self._ids: list[str] = []
        self.images: list[str] = []  # images made for this run, removed with its containers

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
        for image in self.images:
            with contextlib.suppress(DockerException):
                self.client.images.remove(image, force=True)

    def create(self, image: str, **kwargs: Any) -> Any:
        processes.check_not_cancelled()  # a cancelled run starts no new container
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


def read_pid1_status(session: Session, helper: str, target_id: str,
                     command: tuple[str, ...] = ("cat", STATUS_PATH)) -> dict[str, str]:  # fmt: skip
    code, output = session.run_to_end(
        helper,
        list(command),
        entrypoint=[],
        pid_mode=f"container:{target_id}",
        user="0",
    )
    return parse_status(output) if code == 0 else {}


def start(session: Session, image: str, options: dict[str, Any], observer: Observer | None,
          grace_s: float, health_budget_s: float) -> Observation:  # fmt: skip
    """Start the image as configured (plus ``options``), observe PID 1, wait the grace period.

    Read from the host, PID 1 is read again at the end of the grace period, once settled (an
    entrypoint that drops to another user with gosu or su-exec has done so by then)."""
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
            if not observed and state.get("Running") and observer is not None:
                with contextlib.suppress(DockerException):
                    observation.status, observation.observed_by = observer.read(container)
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
                if observer is not None and observation.observed_by.startswith(HOST_PREFIX):
                    settled, how = observer.from_host(container)
                    if settled:
                        observation.status, observation.observed_by = settled, how
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
def session(client: Any, timeout_s: float, run_id: str = "") -> Iterator[Session]:
    with Session(client, timeout_s, run_id) as s:
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


def engine_elsewhere(client: Any) -> str:
    """Why this machine's /proc cannot show the engine's containers as they see themselves, or
    "" when it may (a local socket; the process found must still prove it is the container's)."""
    from docker.errors import DockerException

    host = os.environ.get("DOCKER_HOST", "")
    base = str(getattr(getattr(client, "api", None), "base_url", ""))
    if not os.path.isdir("/proc/self/ns"):
        return "this machine has no Linux /proc"
    if host and not host.startswith("unix://"):
        return f"the engine is at {host}"
    if base and base != "http+docker://localhost":
        return f"the engine is reached through {base}"
    try:
        security = " ".join(client.info().get("SecurityOptions") or [])
    except DockerException as exc:
        return f"the engine's security options could not be read ({exc})"
    if "name=userns" in security or "name=rootless" in security:
        return "the engine remaps users (userns-remap or rootless), so uids read otherwise here"
    return ""


def import_reader(session: Session, name: str, binary: Path) -> str:
    """This machine's static ``binary`` as a one-file image named ``/<name>``, imported (never
    pulled) and removed with the session."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar, binary.open("rb") as handle:
        info = tarfile.TarInfo(name)
        info.size, info.mode = binary.stat().st_size, 0o755
        tar.addfile(info, handle)
    version = f"{session.run_id}-{uuid.uuid4().hex[:8]}"  # this session's own, whatever its run
    tag = f"{HELPER_REPOSITORY}:{version}"
    session.images.append(tag)
    session.client.api.import_image_from_data(
        data.getvalue(),
        repository=HELPER_REPOSITORY,
        tag=version,
        changes=[f"LABEL {RUN_LABEL}={session.run_id}"],
    )
    return tag


def local_images_with_cat(session: Session, exclude: str, arch: str) -> Iterator[str]:
    """Tagged images the engine already holds, for ``arch``, that have /bin/cat: smallest first,
    a few at most."""
    from docker.errors import DockerException

    try:
        images = session.client.images.list()
    except DockerException:
        return
    tried = 0
    for image in sorted(images, key=lambda i: int(i.attrs.get("Size") or 0)):
        tags = [t for t in image.tags if not t.startswith(HELPER_REPOSITORY)]
        if not tags or exclude in (image.id, *image.tags):
            continue
        if arch and image.attrs.get("Architecture") != arch:
            continue
        if tried == LOCAL_HELPER_CANDIDATES:
            return
        tried += 1
        if has_file(session, tags[0], "/bin/cat"):
            yield tags[0]


@dataclass(frozen=True, slots=True)
class Helper:
    image: str
    command: tuple[str, ...]
    how: str


class Observer:
    """Reads PID 1's /proc status of a running container, and says how it did.

    The helper given (HARDENING_HELPER_IMAGE) comes first. Then this machine's /proc, when the
    engine runs here. Else a helper container that joins the container's PID namespace, the
    first that works of: the image's own cat, this machine's static busybox or toybox imported
    as an image, an image the engine already holds with cat. Nothing is pulled.
    """

    def __init__(self, session: Session, image: str, given: str = "", given_how: str = "") -> None:
        self.session = session
        self.image = image
        self.given = (
            Helper(given, ("cat", STATUS_PATH), f"helper container {given} ({given_how})")
            if given
            else None
        )
        self.reasons: list[str] = []  # why each way that was tried did not work
        self._lock = threading.Lock()
        self._elsewhere: str | None = None
        self._helper: Helper | None = None
        self._searched = False

    def read(self, container: Any) -> tuple[dict[str, str], str]:
        if self.given is not None:
            status = self._through(self.given, container)
            if status:
                return status, self.given.how
        status, how = self.from_host(container)
        if status:
            return status, how
        return self._fallback(container)

    def why_not(self) -> str:
        return "; ".join(self.reasons)

    def from_host(self, container: Any) -> tuple[dict[str, str], str]:
        with self._lock:
            if self._elsewhere is None:
                self._elsewhere = engine_elsewhere(self.session.client)
        if self._elsewhere:
            self._why(f"not read from this machine's /proc: {self._elsewhere}")
            return {}, ""
        pid = int((container.attrs.get("State") or {}).get("Pid") or 0)
        for _ in range(HOST_READ_TRIES):
            status, where = hostproc.read_status(pid, container.id)
            if status or not where.endswith(hostproc.NOT_YET):
                break
            time.sleep(0.05)
        if not status:
            self._why(f"not read from this machine's /proc: {where}")
            return {}, ""
        return status, HOST_PREFIX + where

    def _fallback(self, container: Any) -> tuple[dict[str, str], str]:
        with self._lock:  # one search for all the containers of the run
            if self._helper is not None:
                status = self._through(self._helper, container)
                return (status, self._helper.how) if status else ({}, "")
            if self._searched:
                return {}, ""
            self._searched = True
            for helper in self._candidates():
                status = self._through(helper, container)
                if status:
                    self._helper = helper
                    return status, helper.how
            return {}, ""

    def _candidates(self) -> Iterator[Helper]:
        from docker.errors import DockerException

        if has_file(self.session, self.image, "/bin/cat"):
            own = f"helper container {self.image} (its own cat)"
            yield Helper(self.image, ("cat", STATUS_PATH), own)
        else:
            self._why("the image has no /bin/cat")
        arch = ""
        with contextlib.suppress(DockerException):
            arch = str(self.session.client.version().get("Arch") or "")
        reader = hostproc.static_reader(arch) if arch else None
        if reader is None:
            self._why(f"this machine has no static busybox or toybox for {arch or 'the engine'}")
        else:
            name, binary = reader
            try:
                tag = import_reader(self.session, name, binary)
            except DockerException as exc:
                self._why(f"{binary} could not be imported as an image ({exc})")
            else:
                how = f"helper container {tag} (this machine's {binary}, imported)"
                yield Helper(tag, (f"/{name}", "cat", STATUS_PATH), how)
        for ref in local_images_with_cat(self.session, self.image, arch):
            yield Helper(
                ref, ("cat", STATUS_PATH), f"helper container {ref} (already in the engine)"
            )
        self._why("no image already in the engine served as a helper with /bin/cat")

    def _through(self, helper: Helper, container: Any) -> dict[str, str]:
        from docker.errors import DockerException

        try:
            status = read_pid1_status(self.session, helper.image, container.id, helper.command)
        except DockerException as exc:
            self._why(f"{helper.how} failed: {str(exc).splitlines()[0][:200]}")
            return {}
        if not status:
            self._why(f"{helper.how} could not read {STATUS_PATH}")
        return status

    def _why(self, reason: str) -> None:
        if reason not in self.reasons:
            self.reasons.append(reason)
