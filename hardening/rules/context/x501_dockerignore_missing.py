from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule

DOC = doc(
    "DH-X501",
    "dockerignore-missing",
    "The build context has no .dockerignore",
    Severity.LOW,
    ("C12",),
    "Without a .dockerignore the whole folder (the .git history, .env files, local keys, "
    "node_modules) is sent to the builder, where any COPY can pick it up, and builds are slower.",
    "Add a .dockerignore next to the Dockerfile excluding at least .git, .env, *.pem, *.key and "
    "dependency folders.",
    target="context",
    owasp="A02",
    bad="(no .dockerignore)",
    good=".git\n.env\n*.pem\n*.key\nnode_modules",
)


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    model = ctx.dockerfile
    ignore = ctx.dockerignore
    if model is None or ignore is None or ignore.exists:
        return
    copies = [
        i for i in model.instructions()
        if i.cmd in ("COPY", "ADD") and i.flag("from") is None
        and not any(v.startswith(("http://", "https://")) for v in i.value[:-1])
    ]  # fmt: skip
    # Copies of the whole context are reported line by line by DH-D111.
    if copies and not any(s in (".", "./") for i in copies for s in i.value[:-1]):
        yield ctx.finding(
            DOC,
            "the build context has no .dockerignore; COPY can pick up local secrets and clutter",
            line=copies[0].line,
        )
