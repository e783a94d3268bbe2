from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.common import said

REMOTE_ADMIN = {"22": "SSH", "23": "telnet", "3389": "RDP", "5900": "VNC", "2375": "the Docker API"}

DOC = doc(
    "DH-D121",
    "remote-admin-port-exposed",
    "A remote administration port is exposed",
    Severity.MEDIUM,
    ("C11",),
    "An image should expose only what the app serves. SSH, telnet, RDP, VNC or the Docker API in "
    "a container is an extra way in, usually with weaker controls than the app.",
    "Remove the EXPOSE and the daemon; use `docker exec` (or the orchestrator's equivalent) to get a shell.",
    target="dockerfile",
    bad="EXPOSE 22 8080",
    good="EXPOSE 8080",
    refs=("trivy:DS-0004", "checkov:CKV_DOCKER_1", "cis:5.7"),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    model = ctx.dockerfile
    assert model is not None
    exposed = []
    for instruction in model.instructions("EXPOSE", triggers=True):
        for spec in instruction.value:
            port = spec.split("/", 1)[0]
            if not instruction.onbuild:
                exposed.append(spec)
            if port in REMOTE_ADMIN:
                yield ctx.finding(
                    DOC,
                    said(instruction, f"EXPOSE {spec} opens {REMOTE_ADMIN[port]}"),
                    line=instruction.line,
                    key=port,
                )
    if exposed:
        ctx.evidence.setdefault("C11", f"exposes {', '.join(exposed)}")
