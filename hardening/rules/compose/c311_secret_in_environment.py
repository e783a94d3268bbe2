from collections.abc import Iterator

from hardening.model import Finding, Kind, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.common import is_secret_name
from hardening.rules.compose._util import env_items
from hardening.scanners.common import redact
from hardening.targets.compose import Service

DOC = doc(
    "DH-C311",
    "secret-in-environment",
    "A secret is written into the compose file",
    Severity.HIGH,
    ("C10",),
    "Literal passwords and tokens in `environment:` live in the repository history and in "
    "`docker inspect` of every container.",
    "Use compose `secrets:` (files under /run/secrets) or interpolate from the environment "
    "(`${DB_PASSWORD}`) with the value kept out of the repository.",
    target="compose",
    owasp="A02",
    kind=Kind.SECRET,
    bad="environment:\n  DB_PASSWORD: hunter2",
    good="secrets: [db_password]\nenvironment:\n  DB_PASSWORD_FILE: /run/secrets/db_password",
    refs=("cis:4.10", "compose-lint:CL-0020"),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    assert ctx.compose is not None
    for service in ctx.compose:
        for index, name, value in env_items(service.get("environment")):
            if (
                not is_secret_name(name)
                or not value
                or value.startswith("$")
                or value.startswith("/run/secrets/")
            ):
                continue
            yield ctx.finding(
                DOC,
                f"service {service.name} sets {name} to a literal value ({redact(value)})",
                line=service.item_line("environment", index)
                if not hasattr(service.get("environment"), "items")
                else _map_line(service, name),
                path=ctx.compose.path,
                key=f"{service.name}:{name}",
            )


def _map_line(service: Service, name: str) -> int:
    try:
        return int(service.get("environment").lc.key(name)[0]) + 1
    except (AttributeError, KeyError, TypeError):
        return service.key_line("environment")
