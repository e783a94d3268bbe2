from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.common import said
from hardening.rules.shell import commands, is_apt_install

DOC = doc(
    "DH-D117",
    "apt-install-recommends",
    "apt-get install pulls in recommended packages",
    Severity.LOW,
    ("C01",),
    "Without --no-install-recommends apt installs every recommended package too: more size, more "
    "CVEs, more tools for an attacker.",
    "Add `--no-install-recommends` to every `apt-get install`.",
    target="dockerfile",
    owasp="A06",
    bad="RUN apt-get update && apt-get install -y curl",
    good="RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*",
    refs=("hadolint:DL3015", "trivy:DS-0029"),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    model = ctx.dockerfile
    assert model is not None
    for instruction in model.instructions("RUN", triggers=True):
        script = instruction.script
        if "--no-install-recommends" in script or "APT::Install-Recommends" in script:
            continue
        if any(is_apt_install(words) for words in commands(script)):
            yield ctx.finding(
                DOC,
                said(instruction, "apt-get install without --no-install-recommends"),
                line=instruction.line,
            )
