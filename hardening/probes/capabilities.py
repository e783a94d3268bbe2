"""Linux capabilities by bit number (linux/capability.h), and /proc/<pid>/status decoding."""

from __future__ import annotations

from collections.abc import Iterable

CAPABILITIES: tuple[str, ...] = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)  # fmt: skip

# Docker's default set (moby oci/caps/defaults.go): 14 capabilities.
DOCKER_DEFAULTS: frozenset[str] = frozenset(
    "CAP_CHOWN CAP_DAC_OVERRIDE CAP_FSETID CAP_FOWNER CAP_MKNOD CAP_NET_RAW CAP_SETGID "
    "CAP_SETUID CAP_SETFCAP CAP_SETPCAP CAP_NET_BIND_SERVICE CAP_SYS_CHROOT CAP_KILL "
    "CAP_AUDIT_WRITE".split()
)
# In the default set but rarely needed, and useful to an attacker.
RISKY_DEFAULTS: frozenset[str] = frozenset(
    {"CAP_NET_RAW", "CAP_SYS_PTRACE", "CAP_MKNOD", "CAP_SETFCAP"}
)


def decode(mask: str | int) -> list[str]:
    """Names of the capabilities set in a hex mask such as ``00000000a80425fb``."""
    value = int(mask, 16) if isinstance(mask, str) else mask
    names = [name for bit, name in enumerate(CAPABILITIES) if value >> bit & 1]
    names += [f"CAP_{bit}" for bit in range(len(CAPABILITIES), 64) if value >> bit & 1]
    return names


def encode(names: Iterable[str]) -> int:
    return sum(1 << CAPABILITIES.index(name) for name in names)


def parse_status(text: str) -> dict[str, str]:
    """The fields of /proc/<pid>/status."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields
