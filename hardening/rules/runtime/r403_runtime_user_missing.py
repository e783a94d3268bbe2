from collections.abc import Iterator

from hardening.model import Finding, Kind, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.runtime._probe import result, user_is_missing

DOC = doc(
    "DH-R403",
    "runtime-user-missing",
    "The configured USER does not exist in the image",
    Severity.HIGH,
    ("C03",),
    "The container fails to start because USER names a user with no /etc/passwd entry.",
    "Create the user in the final stage (`useradd`/`adduser`), or use a numeric uid:gid.",
    target="runtime",
    owasp="A01",
    kind=Kind.RUNTIME,
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    probe = result(ctx)
    if probe.start_error and user_is_missing(probe.start_error):
        yield ctx.finding(
            DOC,
            f"the container does not start: {probe.start_error.strip()[:300]} "
            f"(USER {probe.configured_user!r} has no entry in /etc/passwd)",
        )
