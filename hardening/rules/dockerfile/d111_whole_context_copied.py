from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.common import sources

SENSITIVE = (".git", ".env", "id_rsa", ".npmrc", ".aws/credentials")

DOC = doc(
    "DH-D111",
    "whole-context-copied",
    "The whole build context is copied without a .dockerignore",
    Severity.MEDIUM,
    ("C12",),
    "`COPY . .` copies everything in the build context: the .git folder, .env files, local "
    "credentials and keys. Without a .dockerignore that excludes them, they end up in a layer.",
    "Add a .dockerignore excluding .git, .env, keys and other local files, or copy only what the "
    "build needs (`COPY package.json package-lock.json ./`).",
    target="dockerfile",
    owasp="A02",
    bad="COPY . /app",
    good="# .dockerignore: .git  .env  *.pem  node_modules\nCOPY . /app",
    refs=("cis:4.10",),
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    model = ctx.dockerfile
    assert model is not None
    whole = [
        instruction
        for instruction in model.instructions(triggers=True)
        if instruction.cmd in ("COPY", "ADD")
        and instruction.flag("from") is None
        and any(s in (".", "./") for s in sources(model, instruction))
    ]
    for instruction in (i for i in whole if i.onbuild):  # the child's context, not this one
        yield ctx.finding(
            DOC,
            f"ONBUILD: in child images, {instruction.cmd} copies the child's whole build "
            "context: its .dockerignore must exclude .git, .env and keys",
            line=instruction.line,
        )
    ignore = ctx.dockerignore
    missing: list[str] = list(SENSITIVE)
    if ignore is not None and ignore.exists:
        missing = [name for name in SENSITIVE[:2] if not ignore.excludes(name)]
        if not missing:
            ctx.evidence["C12"] = f"{ignore.path} excludes .git and .env"
            return
    reason = (
        "there is no .dockerignore"
        if ignore is None or not ignore.exists
        else f"{ignore.path} does not exclude {', '.join(missing)}"
    )
    for instruction in (i for i in whole if not i.onbuild):
        yield ctx.finding(
            DOC,
            f"{instruction.cmd} copies the whole build context and {reason}",
            line=instruction.line,
        )
