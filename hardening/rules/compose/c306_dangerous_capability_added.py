from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.compose._util import as_list

DANGEROUS = {
    "ALL", "SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "SYS_MODULE", "DAC_READ_SEARCH", "SYS_RAWIO",
    "SYS_BOOT", "SYS_TIME", "BPF", "PERFMON", "MAC_ADMIN", "MAC_OVERRIDE", "SYSLOG",
}  # fmt: skip

DOC = doc(
    "DH-C306",
    "dangerous-capability-added",
    "A service adds a dangerous capability",
    Severity.HIGH,
    ("C05",),
    "Capabilities such as SYS_ADMIN, NET_ADMIN or SYS_PTRACE are each close to full root on the host.",
    "Remove the cap_add entry; find the narrow capability or the configuration change the app needs.",
    target="compose",
    owasp="A01",
    bad="cap_add: [SYS_ADMIN]",
    good="cap_drop: [ALL]",
    refs=("cis:5.4", "compose-lint:CL-0024", "compose-lint:CL-0011", "compose-lint:CL-0027"),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    assert ctx.compose is not None
    for service in ctx.compose:
        for index, cap in enumerate(as_list(service.get("cap_add"))):
            name = str(cap).upper().removeprefix("CAP_")
            if name in DANGEROUS:
                yield ctx.finding(
                    DOC,
                    f"service {service.name} adds {name}",
                    line=service.item_line("cap_add", index),
                    path=ctx.compose.path,
                    key=f"{service.name}:{name}",
                )
