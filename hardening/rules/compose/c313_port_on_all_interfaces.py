from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule

DOC = doc(
    "DH-C313",
    "port-published-on-all-interfaces",
    "A port is published on every host interface",
    Severity.LOW,
    ("C11",),
    "`8080:8080` binds on all host interfaces, and Docker's iptables rules bypass host firewalls "
    "such as ufw: the port is reachable from outside even when it was meant for localhost.",
    "Bind deliberately: `127.0.0.1:8080:8080` for local access, or a specific interface address.",
    target="compose",
    bad='ports:\n  - "8080:8080"',
    good='ports:\n  - "127.0.0.1:8080:8080"',
    refs=("cis:5.14", "compose-lint:CL-0005"),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    assert ctx.compose is not None
    for service in ctx.compose:
        for index, port in enumerate(service.get("ports") or []):
            if hasattr(port, "get"):
                published = port.get("published")
                host_ip = str(port.get("host_ip", ""))
                if published is None or host_ip:
                    continue
                spec = f"{published}:{port.get('target')}"
            else:
                spec = str(port)
                parts = spec.split(":")
                if len(parts) < 2 or len(parts) >= 3:
                    continue  # a container port only, or HOST_IP:HOST:CONTAINER
            yield ctx.finding(
                DOC,
                f"service {service.name} publishes {spec} on all interfaces",
                line=service.item_line("ports", index),
                path=ctx.compose.path,
                key=f"{service.name}:{spec}",
            )
