from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.compose._util import volume_source

SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")

DOC = doc(
    "DH-C302",
    "docker-socket-mounted",
    "The Docker socket is mounted into a service",
    Severity.CRITICAL,
    ("C05",),
    "Whoever can talk to the Docker socket can start a privileged container and own the host. "
    "Mounting it read-only does not help: `:ro` only stops deleting the socket file, not using it.",
    "Do not mount it; if a tool needs the API, put a filtering proxy in front of it that allows "
    "only the calls it needs.",
    target="compose",
    owasp="A01",
    bad="volumes:\n  - /var/run/docker.sock:/var/run/docker.sock:ro",
    good="# a socket proxy that allows only GET /containers\nenvironment:\n  DOCKER_HOST: tcp://socket-proxy:2375",
    refs=("cis:5.32", "compose-lint:CL-0001"),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    assert ctx.compose is not None
    for service in ctx.compose:
        for index, volume in enumerate(service.get("volumes") or []):
            source, read_only = volume_source(volume)
            if source.rstrip("/") in SOCKETS:
                note = " (read-only does not limit the API)" if read_only else ""
                yield ctx.finding(
                    DOC,
                    f"service {service.name} mounts the Docker socket{note}: full control of the host",
                    line=service.item_line("volumes", index),
                    path=ctx.compose.path,
                    key=service.name,
                )
