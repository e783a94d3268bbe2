"""What this machine can see of the engine's containers without running anything in them.

- PID 1's ``/proc/<pid>/status`` read straight from this machine's /proc, when the process with
  the engine's pid is the container's own (its cgroup names the container, it is PID 1 of its own
  PID namespace, and it reads uids as this process does).
- A statically linked busybox or toybox of this machine, to make a helper image of without
  pulling anything.
"""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

from hardening.probes.capabilities import parse_status

PT_INTERP = 3
# ELF e_machine -> the engine's architecture name (GOARCH).
ELF_MACHINES: dict[int, str] = {
    3: "386", 40: "arm", 62: "amd64", 183: "arm64", 21: "ppc64le", 22: "s390x", 243: "riscv64",
}  # fmt: skip
# (the name it must be run as, where to look): on PATH, or Ubuntu's static initramfs busybox.
STATIC_READERS: tuple[tuple[str, str], ...] = (
    ("busybox", "busybox"),
    ("toybox", "toybox"),
    ("busybox", "/usr/lib/initramfs-tools/bin/busybox"),
)
# The name the runtime's own init has before it executes the image's program: it may still be
# so for a moment after the engine says the container runs (the engine's pid is the init's).
RUNTIME_INIT_NAMES = ("runc:[", "youki:[")
NOT_YET = "is still the runtime's init, not yet the image's program"


def read_status(pid: int, container_id: str) -> tuple[dict[str, str], str]:
    """PID 1's fields from this machine's /proc/<pid>/status and the path read, or ({}, why not).

    Every file is opened through one descriptor of /proc/<pid>: if that process ends and its pid
    is reused meanwhile, the reads fail instead of answering for another process.
    """
    where = f"/proc/{pid}"
    if pid <= 0:
        return {}, "the engine gave no pid for the container"
    try:
        fd = os.open(where, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return {}, f"{where} does not exist on this machine"
    try:
        if container_id not in _read_at(fd, "cgroup"):
            return (
                {},
                f"{where} on this machine is another process (its cgroup does not name the container)",
            )
        status = parse_status(_read_at(fd, "status"))
        why_not = _not_pid1(status) or _other_user_namespace(fd)
    except OSError as exc:
        return {}, f"{where} could not be read ({exc.strerror or exc})"
    finally:
        os.close(fd)
    if why_not:
        return {}, f"{where} on this machine {why_not}"
    return status, f"{where}/status"


def _read_at(fd: int, name: str) -> str:
    def opener(path: str, flags: int) -> int:
        return os.open(path, flags, dir_fd=fd)

    with open(name, encoding="utf-8", errors="replace", opener=opener) as handle:
        return handle.read()


def _not_pid1(status: dict[str, str]) -> str:
    pids = status.get("NSpid", "").split()
    if len(pids) == 1:
        return "is not in a PID namespace of its own"
    if pids and pids[-1] != "1":
        return "is not PID 1 of its PID namespace"
    if status.get("Name", "").startswith(RUNTIME_INIT_NAMES):
        return NOT_YET
    return ""


def _other_user_namespace(fd: int) -> str:
    """Uids in /proc read as the reader's user namespace sees them: they must be the same."""
    try:
        theirs = os.readlink("ns/user", dir_fd=fd)
        ours = os.readlink("/proc/self/ns/user")
    except OSError:
        return ""  # another user's process: not ours to see; the engine's options were checked
    return "" if theirs == ours else "is in another user namespace, so its uids read otherwise"


def static_reader(arch: str) -> tuple[str, Path] | None:
    """A statically linked busybox or toybox on this machine built for ``arch`` (the engine's
    GOARCH): the name to run it as and its path."""
    for name, where in STATIC_READERS:
        found = where if "/" in where else shutil.which(where)
        if found and Path(found).is_file() and static_elf_arch(Path(found)) == arch:
            return name, Path(found)
    return None


def static_elf_arch(path: Path) -> str:
    """The GOARCH of a statically linked ELF executable (one with no PT_INTERP), else ""."""
    try:
        with path.open("rb") as handle:
            head = handle.read(64)
            if len(head) < 52 or head[:4] != b"\x7fELF":
                return ""
            order = "<" if head[5] == 1 else ">"
            machine = struct.unpack_from(order + "H", head, 18)[0]
            if head[4] == 2:  # 64-bit
                phoff = struct.unpack_from(order + "Q", head, 32)[0]
                entsize, count = struct.unpack_from(order + "HH", head, 54)
            else:
                phoff = struct.unpack_from(order + "I", head, 28)[0]
                entsize, count = struct.unpack_from(order + "HH", head, 42)
            handle.seek(phoff)
            table = handle.read(entsize * count)
    except (OSError, struct.error):
        return ""
    if entsize < 4 or len(table) < entsize * count:
        return ""
    kinds = [struct.unpack_from(order + "I", table, i * entsize)[0] for i in range(count)]
    return "" if PT_INTERP in kinds else ELF_MACHINES.get(machine, "")
