from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.common import said
from hardening.rules.shell import commands, program, strip_sudo

DOC = doc(
    "DH-D116",
    "npm-install-instead-of-ci",
    "npm install is used instead of npm ci",
    Severity.LOW,
    ("C09",),
    "`npm install` may update package-lock.json and install versions other than the locked ones; "
    "`npm ci` installs exactly the lockfile and fails when it does not match package.json. "
    "`yarn install` and `pnpm install` without a frozen lockfile do the same. Installing named "
    "global tools (`npm install -g pnpm`) or a local tarball is not the project's dependencies "
    "and is not flagged.",
    "Use `npm ci --omit=dev` (and `pnpm install --frozen-lockfile` / `yarn install --immutable`).",
    target="dockerfile",
    owasp="A08",
    bad="RUN npm install",
    good="RUN npm ci --omit=dev",
    refs=("hadolint:DL3016",),
)


_NPM_INSTALL = frozenset("install i in ins inst insta instal isnt isnta isntal isntall add".split())
# options of npm, yarn and pnpm that take a separate value
_VALUED = frozenset(
    "--prefix --cache --registry --loglevel --omit --include --only --workspace -w --userconfig "
    "--globalconfig --tag --install-strategy --location -C --dir --filter --modules-folder "
    "--cwd --network-timeout --mutex --cache-folder --global-folder --store-dir".split()
)
_GLOBAL = frozenset({"-g", "--global", "--location=global"})
_ADVICE = {
    "npm": "npm install does not enforce the lockfile; use npm ci",
    "yarn": "yarn install does not enforce the lockfile; use yarn install --frozen-lockfile "
    "(--immutable on Yarn 2 or later)",
    "pnpm": "pnpm install does not enforce the lockfile; use pnpm install --frozen-lockfile",
}


def _split(args: list[str]) -> tuple[list[str], list[str]]:
    """(options, positional words) of a package manager's command line."""
    options: list[str] = []
    positional: list[str] = []
    index = 0
    while index < len(args):
        word = args[index]
        if word in _VALUED:
            options += args[index : index + 2]
            index += 2
            continue
        (options if word.startswith("-") else positional).append(word)
        index += 1
    return options, positional


def _project_install(words: list[str]) -> str | None:
    """The tool ("npm", "yarn", "pnpm") when ``words`` install the project's own dependencies
    without enforcing its lockfile; named packages, local tarballs and folders, and global
    tools are not the project's dependencies."""
    words = strip_sudo(words)
    tool = program(words)
    if tool not in _ADVICE:
        return None
    options, positional = _split(words[1:])
    command, packages = (positional[0], positional[1:]) if positional else ("install", [])
    if _GLOBAL & set(options) or ("--location" in options and "global" in options):
        return None
    if any(p not in (".", "./") for p in packages):
        return None  # named packages, tarballs or folders
    if tool == "npm":
        return tool if command in _NPM_INSTALL - {"add"} else None
    frozen = {"--frozen-lockfile", "--immutable"} & set(options)
    return tool if command in ("install", "i") and not frozen else None


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    model = ctx.dockerfile
    assert model is not None
    for instruction in model.instructions("RUN", triggers=True):
        tools = [_project_install(words) for words in commands(instruction.script)]
        for tool in dict.fromkeys(t for t in tools if t):
            yield ctx.finding(
                DOC, said(instruction, _ADVICE[tool]), line=instruction.line, key=tool
            )
