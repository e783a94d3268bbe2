"""Child processes of a run (docker build, the scanners, the SBOM tool).

Each child runs in its own process group, so a timeout or a cancellation stops it and all of
its own children; each is registered while it runs, so a cancelled run can stop every one of
them at once; and each carries the run's id in its environment (``DOCKER_HARDENING_RUN``), so
whatever a run leaves behind can be found again.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

RUN_ENV = "DOCKER_HARDENING_RUN"

_lock = threading.Lock()
_children: dict[int, subprocess.Popen[str]] = {}
_run_id = ""
_cancelled = threading.Event()


class RunCancelled(OSError):
    """Raised instead of starting anything (a child, a container) once the run is cancelled."""


def set_run(run_id: str) -> None:
    global _run_id
    _run_id = run_id
    _cancelled.clear()


def cancel() -> int:
    """The run is cancelled: nothing new starts, and every running child is stopped."""
    _cancelled.set()
    return kill_all()


def check_not_cancelled() -> None:
    if _cancelled.is_set():
        raise RunCancelled("the run was cancelled")


def run(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float,
    cwd: Path | None = None,
    stdout: bool = False,
) -> tuple[int, str, str]:
    """(exit code, stdout or "", stderr); raises subprocess.TimeoutExpired after killing it.

    A negative exit code is the signal that ended the child.
    """
    check_not_cancelled()
    child_env = dict(os.environ if env is None else env)
    if _run_id:
        child_env[RUN_ENV] = _run_id
    proc = subprocess.Popen(
        list(cmd),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if stdout else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        env=child_env,
        cwd=cwd,
        start_new_session=True,
    )
    with _lock:
        _children[proc.pid] = proc
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:
        _kill(proc)
        proc.communicate()
        raise
    finally:
        with _lock:
            _children.pop(proc.pid, None)
    return proc.returncode, out or "", err or ""


def _kill(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def kill_all() -> int:
    """Stop every running child and its process group; how many there were."""
    with _lock:
        children = list(_children.values())
    for proc in children:
        _kill(proc)
    return len(children)


def describe_exit(code: int) -> str:
    """ "exited with code 2" or "was killed by signal SIGKILL"."""
    if code < 0:
        try:
            return f"was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"
