from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule

DOC = doc(
    "DH-C309",
    "no-resource-limits",
    "A service has no memory limit",
    Severity.LOW,
    ("C14",),
    "Without limits one container can take all the host's memory (or CPU, or pids with a fork "
    "bomb) and take its neighbours down.",
    "Set `mem_limit` (or `deploy.resources.limits.memory`), plus `cpus` and `pids_limit`.",
    target="compose",
    bad="services:\n  web:\n    image: web",
    good="services:\n  web:\n    image: web\n    mem_limit: 256m\n    cpus: 0.5\n    pids_limit: 100",
    refs=("cis:5.11", "cis:5.12", "compose-lint:CL-0026"),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    assert ctx.compose is not None
    for service in ctx.compose:
        if service.get("mem_limit") or service.nested("deploy", "resources", "limits"):
            continue
        yield ctx.finding(
            DOC,
            f"service {service.name} has no memory limit (mem_limit or deploy.resources.limits)",
            line=service.line,
            path=ctx.compose.path,
            key=service.name,
        )
