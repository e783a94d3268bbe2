from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule

KEYS = {
    "network_mode": "network",
    "pid": "process",
    "ipc": "IPC",
    "userns_mode": "user",
    "uts": "UTS",
}

DOC = doc(
    "DH-C303",
    "host-namespace-shared",
    "A service shares a host namespace",
    Severity.HIGH,
    ("C11", "C05"),
    "network_mode: host, pid: host and friends remove the container's isolation from the host: "
    "it sees every host port or process and can reach services bound to localhost.",
    "Remove the setting; publish the ports the service needs instead of sharing the host network.",
    target="compose",
    owasp="A01",
    bad="network_mode: host",
    good='ports:\n  - "127.0.0.1:8080:8080"',
    refs=("cis:5.10", "cis:5.16", "cis:5.17", "compose-lint:CL-0008", "compose-lint:CL-0010"),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    assert ctx.compose is not None
    for service in ctx.compose:
        for key, what in KEYS.items():
            if str(service.get(key, "")).lower() == "host":
                yield ctx.finding(
                    DOC,
                    f"service {service.name} shares the host's {what} namespace ({key}: host)",
                    line=service.key_line(key),
                    path=ctx.compose.path,
                    key=f"{service.name}:{key}",
                )
