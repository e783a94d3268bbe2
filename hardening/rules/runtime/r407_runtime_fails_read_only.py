from collections.abc import Iterator

from hardening.model import Finding, Kind, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.runtime._probe import broken_by, trial

DOC = doc(
    "DH-R407",
    "runtime-fails-read-only",
    "The image does not run with a read-only root filesystem",
    Severity.MEDIUM,
    ("C04",),
    "With --read-only the container fails: it writes outside /tmp.",
    "Write only to /tmp or to declared volumes; mount a tmpfs for the paths it writes.",
    target="runtime",
    owasp="A01",
    kind=Kind.RUNTIME,
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    if "--read-only" not in broken_by(ctx):
        return
    record = trial(ctx)
    paths = record.get("failing_paths") or []
    where = f": it writes to {', '.join(paths[:5])}" if paths else ""
    tmpfs = record.get("passed_with_tmpfs")
    note = " (it ran with a tmpfs for " + ", ".join(tmpfs) + ")" if tmpfs else ""
    yield ctx.finding(DOC, f"the container fails with --read-only{where}{note}")
