from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.common import said
from hardening.rules.shell import commands, is_apt

DOC = doc(
    "DH-D118",
    "apt-lists-not-removed",
    "apt package lists are left in the layer",
    Severity.LOW,
    ("C01",),
    "apt-get update downloads tens of megabytes of package lists; unless the same RUN removes "
    "them they stay in that layer forever.",
    "End the same RUN with `rm -rf /var/lib/apt/lists/*`, or use a cache mount "
    "(`RUN --mount=type=cache,target=/var/lib/apt/lists ...`).",
    target="dockerfile",
    owasp="A06",
    bad="RUN apt-get update && apt-get install -y --no-install-recommends curl",
    good="RUN apt-get update && apt-get install -y --no-install-recommends curl \\\n && rm -rf /var/lib/apt/lists/*",
    refs=("hadolint:DL3009", "dockle:DKL-DI-0005", "cis:4.7"),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    model = ctx.dockerfile
    assert model is not None
    for instruction in model.instructions("RUN", triggers=True):
        script = instruction.script
        if "/var/lib/apt/lists" in script:
            continue
        if any(is_apt(words) for words in commands(script)):
            yield ctx.finding(
                DOC,
                said(
                    instruction,
                    "apt-get runs but /var/lib/apt/lists is not removed in the same RUN",
                ),
                line=instruction.line,
            )
