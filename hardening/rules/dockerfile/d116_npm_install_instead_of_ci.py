from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.shell import commands, program, strip_sudo

DOC = doc(
    "DH-D116",
    "npm-install-instead-of-ci",
    "npm install is used instead of npm ci",
    Severity.LOW,
    ("C09",),
    "`npm install` may update package-lock.json and install versions other than the locked ones; "
    "`npm ci` installs exactly the lockfile and fails when it does not match package.json.",
    "Use `npm ci --omit=dev` (and `pnpm install --frozen-lockfile` / `yarn install --immutable`).",
    target="dockerfile",
    owasp="A08",
    bad="RUN npm install",
    good="RUN npm ci --omit=dev",
    refs=("hadolint:DL3016",),
)


def _installs_project(words: list[str]) -> bool:
    words = strip_sudo(words)
    if program(words) != "npm" or len(words) < 2 or words[1] not in ("install", "i", "add"):
        return False
    args = words[2:]
    if any(a in ("-g", "--global") or a.startswith("--location=global") for a in args):
        return False  # a global tool install, not the project's dependencies
    return True


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    model = ctx.dockerfile
    assert model is not None
    for instruction in model.instructions("RUN"):
        if any(_installs_project(words) for words in commands(instruction.script)):
            yield ctx.finding(
                DOC, "npm install does not enforce the lockfile; use npm ci", line=instruction.line
            )
