from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule

DOC = doc(
    "DH-C310",
    "compose-no-healthcheck",
    "A service defines no healthcheck",
    Severity.LOW,
    ("C13",),
    "Without a healthcheck compose cannot tell a hung service from a working one, and "
    "`depends_on: condition: service_healthy` cannot be used.",
    "Add a `healthcheck:` with a test that exercises the service (unless its image defines one).",
    target="compose",
    bad="services:\n  web:\n    image: web",
    good='    healthcheck:\n      test: ["CMD", "/app", "healthcheck"]\n      interval: 30s',
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    assert ctx.compose is not None
    for service in ctx.compose:
        health = service.get("healthcheck")
        if health is None or (hasattr(health, "get") and health.get("disable") is True):
            yield ctx.finding(
                DOC,
                f"service {service.name} has no healthcheck",
                line=service.line,
                path=ctx.compose.path,
                key=service.name,
            )
